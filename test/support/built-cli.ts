/**
 * The CLI as users run it, compiled once per test run by test/global-setup.ts into a private
 * directory of that run (so neither a concurrent `npm run build` into dist/ nor a second test run
 * in the same checkout is disturbed). Tests that spawn `fichier-dav` use this path.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
/** Set by test/global-setup.ts for the workers it starts. */
export const BUILD_DIR_ENV = 'FICHIER_DAV_TEST_BUILD_DIR';
export const TEST_BUILD_DIR = process.env[BUILD_DIR_ENV] ?? join(ROOT, '.tmp', 'test-cli');
export const CLI_MAIN = join(TEST_BUILD_DIR, 'cli', 'main.js');

export interface StartedSimulator {
  child: ChildProcess;
  /** The JSON line `fichier-dav simulate` prints once it listens (apiUrl, apiOrigin, hosts, apiKey). */
  line: Record<string, unknown>;
  /** Resolves with the exit code once the process ends. */
  exit: Promise<number | null>;
}

/**
 * Spawns `fichier-dav simulate <args>` from the test build and resolves once it printed its JSON
 * line; rejects when it exits first (with its stderr) or prints something that is not JSON.
 */
export function spawnSimulatorCli(args: string[]): Promise<StartedSimulator> {
  const child = spawn(process.execPath, [CLI_MAIN, 'simulate', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const nl = out.indexOf('\n');
      if (nl < 0) return;
      try {
        resolve({ child, line: JSON.parse(out.slice(0, nl)) as Record<string, unknown>, exit });
      } catch (error) {
        reject(error);
      }
    });
    child.on('exit', (code) => reject(new Error(`fichier-dav simulate exited ${code} before printing: ${err}`)));
  });
}
