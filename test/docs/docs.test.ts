/**
 * The documentation is checked against the code and against itself: docs/configuration.md carries
 * exactly the settings table and command reference the code generates (`npm run docs:reference`),
 * every environment variable the program reads is named, every relative link of README.md and
 * docs/*.md resolves (files and #anchors), every `fichier-dav <command>` and `npm run <script>` it
 * shows exists, the README stays a five-minute read, and nothing refers to files outside the repo.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTINGS, settingsReferenceMarkdown } from '../../src/cli/config.js';
import { buildProgram } from '../../src/cli/program.js';
import { cliReferenceMarkdown, withReference, withSettingsTable } from '../../src/cli/reference.js';
import { ROOT } from '../support/built-cli.js';

const DOCS = join(ROOT, 'docs');
const markdownFiles = [join(ROOT, 'README.md'), ...readdirSync(DOCS).filter((name) => name.endsWith('.md')).map((name) => join(DOCS, name))];
const text = (path: string): string => readFileSync(path, 'utf8');
const configuration = text(join(DOCS, 'configuration.md'));

/**
 * Docs written by parallel work (issues 13-16, 18) that the README and docs/README.md already link
 * to. The lead empties this list once they are merged; until then a missing one is tolerated.
 */
const PENDING_DOCS = new Set<string>();

/** Code that starts like a command but is not one: the simulator's stand-in checksum text. */
const NOT_COMMANDS = new Set(['synthetic']);

/** Markdown without its fenced code blocks (links and headings inside code are not links). */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const match of prose(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = match[1]
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

function linksOf(markdown: string): string[] {
  return [...prose(markdown).replace(/`[^`\n]*`/g, '').matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => match[1]);
}

describe('docs/configuration.md', () => {
  it('carries the command reference and the settings table generated from the code (run `npm run docs:reference` after changing either)', () => {
    expect(withSettingsTable(withReference(configuration, cliReferenceMarkdown(buildProgram())), settingsReferenceMarkdown())).toBe(configuration);
  });

  it('documents every command and flag (the generator itself misses none)', () => {
    const program = buildProgram();
    const reference = cliReferenceMarkdown(program);
    for (const command of program.commands) {
      expect(reference).toContain(`fichier-dav ${command.name()}`);
      for (const option of command.options) if (option.long) expect(reference).toContain(option.long);
    }
  });

  it('names every environment variable the program reads', () => {
    const names = new Set(Object.values(SETTINGS).flatMap((setting) => [...setting.env]));
    for (const extra of ['FICHIER_API_KEY', 'FICHIER_DAV_CONFIG', 'XDG_CACHE_HOME', 'XDG_CONFIG_HOME', 'APPDATA', 'NO_COLOR']) names.add(extra);
    const docs = markdownFiles.map(text).join('\n');
    expect([...names].filter((name) => !configuration.includes(name) && !docs.includes(name))).toEqual([]);
    for (const setting of Object.values(SETTINGS)) for (const name of setting.env) expect(configuration, name).toContain(name);
  });
});

describe('README.md and docs/', () => {
  it('the README is a five-minute read: under 20 KB, quick start first', () => {
    const readme = text(join(ROOT, 'README.md'));
    expect(Buffer.byteLength(readme)).toBeLessThan(20 * 1024);
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(readme)![1].split('\n');
    expect(firstBlock[0]).toMatch(/^npm ci && npm start\b/);
    expect(firstBlock[1]).toMatch(/^npm test\b/);
  });

  it('every relative link resolves, to a file and to a heading', () => {
    const broken: string[] = [];
    for (const file of markdownFiles) {
      for (const link of linksOf(text(file))) {
        if (/^[a-z]+:/i.test(link)) continue; // https:, mailto:
        const [target, anchor] = link.split('#');
        const path = target ? join(dirname(file), decodeURIComponent(target)) : file;
        const where = `${relative(ROOT, file)} -> ${link}`;
        if (!existsSync(path)) {
          if (!PENDING_DOCS.has(relative(ROOT, path))) broken.push(`${where} (no such file)`);
          continue;
        }
        if (anchor && path.endsWith('.md') && !anchorsOf(text(path)).has(anchor)) broken.push(`${where} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('every `fichier-dav COMMAND` and `npm run SCRIPT` shown exists', () => {
    const program = buildProgram();
    const commands = new Set(program.commands.map((command) => command.name()));
    const scripts = new Set(Object.keys((JSON.parse(text(join(ROOT, 'package.json'))) as { scripts: Record<string, string> }).scripts));
    const missing: string[] = [];
    for (const file of markdownFiles) {
      const markdown = text(file);
      // Commands are shown in code: fenced blocks and inline `code`.
      const code = [...markdown.matchAll(/^```[\s\S]*?^```|`[^`\n]+`/gm)].map((match) => match[0]).join('\n');
      for (const match of code.matchAll(/(?:^|[\s`(])(?:npx )?fichier-dav ([a-z][a-z-]*)/gm)) {
        if (!commands.has(match[1]) && !NOT_COMMANDS.has(match[1])) missing.push(`${relative(ROOT, file)}: fichier-dav ${match[1]}`);
      }
      for (const match of code.matchAll(/npm run ([a-z][a-z:-]*)/g)) {
        if (!scripts.has(match[1])) missing.push(`${relative(ROOT, file)}: npm run ${match[1]}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('refers to no file outside the repository', () => {
    for (const file of markdownFiles) {
      expect(text(file), relative(ROOT, file)).not.toMatch(/fichier-api\.md|brief\/|`design\.md`|design\.md's/);
    }
  });
});
