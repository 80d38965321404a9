#!/usr/bin/env node
// Rewrites the generated parts of docs/configuration.md (the settings table and the command
// reference) from the CLI's own definitions. Run after `npm run build` (npm run docs:reference).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { buildProgram } = await import(join(root, 'dist/cli/program.js'));
const { cliReferenceMarkdown, withReference, withSettingsTable } = await import(join(root, 'dist/cli/reference.js'));
const { settingsReferenceMarkdown } = await import(join(root, 'dist/cli/config.js'));
const path = join(root, 'docs', 'configuration.md');
const text = withSettingsTable(withReference(readFileSync(path, 'utf8'), cliReferenceMarkdown(buildProgram())), settingsReferenceMarkdown());
writeFileSync(path, text);
console.log('docs/configuration.md: settings table and command reference updated');
