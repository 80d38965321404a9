/**
 * The bridge as a child process (`fichier-dav serve`), so its memory is its own and can be read
 * from /proc. The API key travels in the environment, never on the command line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRss, type Rss } from './rss.js';

export interface BridgeStart {
  apiUrl: string;
  apiKey: string;
  timeScale: number;
  /** Extra `serve` flags (e.g. cache options). */
  flags?: string[];
  /**
   * How long it may take to serve, ms. Default 20 000. Bridges started together on one account
   * check the key one after the other (user/info once per 60 s x time scale), so rows starting
   * several give more.
   */
  startTimeoutMs?: number;
  /** Told the process id as soon as the process exists (before it serves). */
  onSpawn?: (pid: number) => void;
}

export class BridgeProcess {
  private stderrTail = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly stateDir: string,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-4000);
    });
  }

  static async start(options: BridgeStart): Promise<BridgeProcess> {
    const stateDir = await mkdtemp(join(tmpdir(), 'fichier-dav-bench-bridge-'));
    const cli = fileURLToPath(new URL('../cli/main.js', import.meta.url));
    const args = [
      cli, 'serve',
      '--api-url', options.apiUrl,
      '--port', '0',
      '--time-scale', String(options.timeScale),
      '--state-dir', stateDir,
      '--log-level', 'error',
      ...(options.flags ?? []),
    ];
    // The bridge runs with its defaults plus our flags only: no FICHIER_* variable and no user
    // config file (~/.config/fichier-dav/config.json) may change what is measured.
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('FICHIER_')) env[key] = value;
    env.XDG_CONFIG_HOME = stateDir;
    env.FICHIER_API_KEY = options.apiKey;
    const child = spawn(process.execPath, args, {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) options.onSpawn?.(child.pid);
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-4000)));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const limitMs = options.startTimeoutMs ?? 20_000;
      const timer = setTimeout(() => reject(new Error(`bridge did not start in ${Math.round(limitMs / 1000)} s: ${stderr}`)), limitMs);
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString('utf8');
        const m = /fichier-dav: serving \S+ at (http\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!.replace(/\/$/, ''));
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`bridge exited with code ${code} before serving: ${stderr}`));
      });
    });
    child.stdout.resume();
    return new BridgeProcess(child, url, stateDir);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  rss(): Rss {
    return readRss(this.pid);
  }

  /** The last lines the bridge wrote on stderr (errors), for the report when something fails. */
  errors(): string {
    return this.stderrTail;
  }

  async close(): Promise<void> {
    if (this.alive) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(this.stateDir, { recursive: true, force: true });
  }
}
