/**
 * Runs once before the suite: compiles src/ into a directory of this run's own,
 * `.tmp/test-cli-<pid>`, for the tests that spawn the CLI. The directory reaches the test workers
 * through FICHIER_DAV_TEST_BUILD_DIR (they are forked after this runs), so two runs in one checkout
 * (a watch run beside a full run) never delete or overwrite each other's build.
 * Type errors do not stop tsc from emitting; a missing main.js does stop the suite.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD_DIR_ENV, ROOT } from './support/built-cli.js';

const PARENT = join(ROOT, '.tmp');
const PREFIX = 'test-cli-';

/** Whether a process with this pid still runs (signal 0 only checks). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Builds of runs that were killed before their teardown. */
function removeOrphans(): void {
  if (!existsSync(PARENT)) return;
  for (const name of readdirSync(PARENT)) {
    if (!name.startsWith(PREFIX)) continue;
    const pid = Number(name.slice(PREFIX.length));
    if (Number.isInteger(pid) && pid > 0 && !alive(pid)) rmSync(join(PARENT, name), { recursive: true, force: true });
  }
}

export default function setup(): () => void {
  removeOrphans();
  const dir = join(PARENT, `${PREFIX}${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const result = spawnSync(
    process.execPath,
    [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', dir, '--declaration', 'false', '--sourceMap', 'false'],
    { cwd: ROOT, encoding: 'utf8' },
  );
  if (!existsSync(join(dir, 'cli', 'main.js'))) throw new Error(`building the CLI for the tests failed:\n${result.stdout}\n${result.stderr}`);
  process.env[BUILD_DIR_ENV] = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
