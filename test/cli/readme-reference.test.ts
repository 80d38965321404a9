/**
 * The README's configuration reference is checked against the code: the command reference must be
 * exactly what the CLI's own definitions generate (`npm run docs:reference` rewrites it), the
 * settings table what config.ts generates, and every environment variable read must be named.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS, settingsReferenceMarkdown } from '../../src/cli/config.js';
import { buildProgram } from '../../src/cli/program.js';
import { cliReferenceMarkdown, REFERENCE_END, REFERENCE_START, withReference } from '../../src/cli/reference.js';
import { ROOT } from '../support/built-cli.js';

const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

describe('README reference', () => {
  it('carries the command reference generated from the CLI (run `npm run docs:reference` after changing a flag)', () => {
    expect(readme).toContain(REFERENCE_START);
    expect(readme).toContain(REFERENCE_END);
    expect(withReference(readme, cliReferenceMarkdown(buildProgram()))).toBe(readme);
  });

  it('documents every command and flag (the generator itself misses none)', () => {
    const program = buildProgram();
    const reference = cliReferenceMarkdown(program);
    for (const command of program.commands) {
      expect(reference).toContain(`fichier-dav ${command.name()}`);
      for (const option of command.options) if (option.long) expect(reference).toContain(option.long);
    }
  });

  it('carries the settings table generated from config.ts', () => {
    expect(readme).toContain(settingsReferenceMarkdown());
  });

  it('names every environment variable the program reads', () => {
    const names = new Set(Object.values(SETTINGS).flatMap((setting) => [...setting.env]));
    for (const extra of ['FICHIER_API_KEY', 'FICHIER_DAV_USER', 'FICHIER_DAV_PASS', 'FICHIER_DAV_CONFIG', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME']) {
      names.add(extra);
    }
    expect([...names].filter((name) => !readme.includes(name))).toEqual([]);
  });
});
