/**
 * Runs once before the suite: compiles src/ into .tmp/test-cli for the tests that spawn the CLI.
 * Type errors do not stop tsc from emitting; a missing main.js does stop the suite.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CLI_MAIN, ROOT, TEST_BUILD_DIR } from './support/built-cli.js';

export default function setup(): () => void {
  rmSync(TEST_BUILD_DIR, { recursive: true, force: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(
    process.execPath,
    [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', TEST_BUILD_DIR, '--declaration', 'false', '--sourceMap', 'false'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (!existsSync(CLI_MAIN)) throw new Error(`building the CLI for the tests failed:\n${result.stdout}\n${result.stderr}`);
  return () => rmSync(TEST_BUILD_DIR, { recursive: true, force: true });
}
