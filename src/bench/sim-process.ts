/**
 * Parent side of sim-child.ts: starts the simulator in a child process and calls it over IPC.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LogEntry, SimStatsSnapshot, StartOptions } from '../simulator/index.js';
import type { SimAddresses, SimRequest, SyntheticFileSpec } from './sim-child.js';

export type SimStats = SimStatsSnapshot;

interface Waiter {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class SimProcess {
  private nextId = 1;
  private readonly pending = new Map<number, Waiter>();
  private started: SimAddresses | undefined;

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: string }) => {
      const waiter = this.pending.get(m.id);
      if (!waiter) return;
      this.pending.delete(m.id);
      if (m.ok) waiter.resolve(m.value);
      else waiter.reject(new Error(`simulator: ${m.error}`));
    });
    child.on('exit', () => {
      for (const waiter of this.pending.values()) waiter.reject(new Error('simulator process exited'));
      this.pending.clear();
    });
  }

  static async start(options: StartOptions): Promise<SimProcess> {
    const script = fileURLToPath(new URL('./sim-child.js', import.meta.url));
    const proc = new SimProcess(fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    proc.started = (await proc.call({ op: 'start', options })) as SimAddresses;
    return proc;
  }

  get addresses(): SimAddresses {
    if (!this.started) throw new Error('simulator not started');
    return this.started;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  private call(request: SimRequest): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, request });
    });
  }

  addFolder(parentId: number, name: string): Promise<number> {
    return this.call({ op: 'addFolder', parentId, name }) as Promise<number>;
  }

  async addFiles(folderId: number, files: SyntheticFileSpec[]): Promise<string[]> {
    const urls: string[] = [];
    for (let i = 0; i < files.length; i += 500) {
      urls.push(...((await this.call({ op: 'addFiles', folderId, files: files.slice(i, i + 500) })) as string[]));
    }
    return urls;
  }

  stats(): Promise<SimStats> {
    return this.call({ op: 'stats' }) as Promise<SimStats>;
  }

  /** The simulator's request log (each call's endpoint, arrival, outcome and connection). */
  log(): Promise<LogEntry[]> {
    return this.call({ op: 'log' }) as Promise<LogEntry[]>;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await Promise.race([this.call({ op: 'close' }).catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await exited;
  }
}
