#!/usr/bin/env node
// Rewrites the command reference in README.md from the CLI's own definitions (run after `npm run build`).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { buildProgram } = await import(join(root, 'dist/cli/program.js'));
const { cliReferenceMarkdown, withReference } = await import(join(root, 'dist/cli/reference.js'));
const path = join(root, 'README.md');
writeFileSync(path, withReference(readFileSync(path, 'utf8'), cliReferenceMarkdown(buildProgram())));
console.log('README.md: command reference updated');
