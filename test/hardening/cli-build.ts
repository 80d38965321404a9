/**
 * Builds the CLI once for the tests that spawn it (a private output directory, so a concurrent
 * `npm run build` elsewhere is not disturbed). Other work in progress may carry type errors;
 * tsc still emits, and the tests only need the emitted JavaScript.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..');
export const BUILD_DIR = join(root, 'node_modules', '.cache', 'fichier-dav-hardening', `build-${process.pid}`);
export const CLI = join(BUILD_DIR, 'cli', 'main.js');

export function buildCli(): string {
  if (existsSync(CLI)) return CLI;
  const result = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', BUILD_DIR], {
    cwd: root,
    encoding: 'utf8',
  });
  if (!existsSync(CLI)) throw new Error(`building the CLI failed:\n${result.stdout}\n${result.stderr}`);
  return CLI;
}
