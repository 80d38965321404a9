/** Finding and running the litmus binary (shared by the compliance tests). */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function findExecutable(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

export interface LitmusRun {
  code: number | null;
  output: string;
}

/** Runs one litmus suite against `url`; killed after `killAfterMs`. debug.log / child.log go into `cwd`. */
export function runLitmus(binary: string, url: string, suite: string, cwd: string, killAfterMs = 110_000): Promise<LitmusRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, ['-k', url], { cwd, env: { ...process.env, TESTS: suite }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
