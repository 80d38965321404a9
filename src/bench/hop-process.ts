/**
 * Parent side of hop-child.ts: starts the reference hop for one download URL and stops it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export class HopProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
  ) {}

  /** Starts a hop (hop-child.ts: `pipe` or `socket`) forwarding every GET to `target`; rejects if it does not listen within 10 s. */
  static async start(target: string, mode: 'pipe' | 'socket' = 'pipe'): Promise<HopProcess> {
    const script = fileURLToPath(new URL('./hop-child.js', import.meta.url));
    const child = spawn(process.execPath, [script, target, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('the reference hop did not start in 10 s')), 10_000);
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        const match = /port (\d+)/.exec(out);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the reference hop exited with code ${code}`));
      });
    });
    child.stdout.resume();
    return new HopProcess(child, `http://127.0.0.1:${port}/`);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
