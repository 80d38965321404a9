/**
 * The drive's upstream download connections: every ranged GET takes a slot of its file (a per-file
 * cap, so one file's probes and parallel streams cannot take the whole account) and then a slot of
 * the account's ConnectionBudget, and gives both back when its connection closes.
 *
 * Idle connections are parked under pressure. ffprobe opens `bytes=0-`, reads a little and keeps
 * that connection open, unread, while it asks for other offsets; a library scan does this to
 * hundreds of files at once. Each such head holds an upstream connection that sends nothing. When
 * a caller of this process waits for a slot, a connection whose reader has not wanted a byte for
 * `parkAfterMs` is closed (its reader reopens it from the byte reached when it wants more, through
 * the same budget, see resumable-read.ts). Without this, the budget's connections would all be
 * held by stalled heads and every other request would wait for them forever.
 */
import type { ConnectionBudget, ConnectionPriority } from './connection-budget.js';
import { LocalConnectionBudget } from './connection-budget.js';

export const DEFAULT_CONNECTIONS_PER_FILE = 6;
/** How long a connection must have been idle before it is parked for a waiter. */
export const DEFAULT_PARK_AFTER_MS = 300;

/** Where a reader registers its upstream connection while it does not read (see resumable-read.ts). */
export interface ConnectionParking {
  /** The connection of `file` went idle; `park` closes it. Returns the function to call when it is busy again. */
  idle(file: string, park: () => void): () => void;
}

interface IdleConnection {
  file: string;
  since: number;
  park: () => void;
}

export interface UpstreamConnectionsOptions {
  budget: ConnectionBudget;
  perFile: number;
  /** The account budget's size as this process knows it (for hasRoom); Infinity when unknown. */
  accountLimit: number;
  parkAfterMs?: number;
  now?: () => number;
}

export class UpstreamConnections implements ConnectionParking {
  private readonly files = new Map<string, LocalConnectionBudget>();
  private readonly idleSet = new Set<IdleConnection>();
  /** Callers of this process waiting for the account budget, and for each file's cap. */
  private accountWaiters = 0;
  private readonly fileWaiters = new Map<string, number>();
  private open = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly parkAfterMs: number;
  private readonly now: () => number;
  /** Connections parked so far (for tests and metrics). */
  parked = 0;

  constructor(private readonly options: UpstreamConnectionsOptions) {
    if (!Number.isSafeInteger(options.perFile) || options.perFile < 1) {
      throw new RangeError(`the per-file connection cap must be an integer >= 1, got ${options.perFile}`);
    }
    this.parkAfterMs = options.parkAfterMs ?? DEFAULT_PARK_AFTER_MS;
    this.now = options.now ?? Date.now;
  }

  /** Connections this process has open now. */
  get active(): number {
    return this.open;
  }

  /**
   * Waits for a slot of `file` and of the account. Resolves with the function that gives both
   * back (call it once, when the connection closes); rejects with the signal's reason if aborted.
   */
  async acquire(file: string, priority: ConnectionPriority, signal?: AbortSignal): Promise<() => void> {
    const releaseFile = await this.waitFor(file, () => this.fileBudget(file).acquire(priority, signal));
    let releaseAccount: () => void;
    try {
      releaseAccount = await this.waitFor(undefined, () => this.options.budget.acquire(priority, signal));
    } catch (error) {
      releaseFile();
      this.dropFileBudget(file);
      throw error;
    }
    this.open += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open -= 1;
      releaseAccount();
      releaseFile();
      this.dropFileBudget(file);
    };
  }

  /**
   * Whether one more connection for `file` could open now without waiting and without leaving
   * the file or the account short (one slot is kept free for a seek): parallel read-ahead asks.
   * `opening`: connections of this file the caller started that do not hold their slots yet.
   */
  hasRoom(file: string, opening = 0): boolean {
    if (this.accountWaiters > 0 || (this.fileWaiters.get(file) ?? 0) > 0) return false;
    const fileOpen = (this.files.get(file)?.active ?? 0) + opening;
    return fileOpen + 1 < this.options.perFile && this.open + opening + 1 < this.options.accountLimit;
  }

  idle(file: string, park: () => void): () => void {
    const entry: IdleConnection = { file, since: this.now(), park };
    this.idleSet.add(entry);
    this.schedule();
    return () => this.idleSet.delete(entry);
  }

  private async waitFor(file: string | undefined, take: () => Promise<() => void>): Promise<() => void> {
    // An immediate grant never counts as waiting; only a pending one puts idle connections at risk.
    const pending = take();
    let settled = false;
    void pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    await Promise.resolve();
    if (settled) return pending;
    this.countWaiter(file, +1);
    this.parkForWaiters();
    try {
      return await pending;
    } finally {
      this.countWaiter(file, -1);
    }
  }

  private countWaiter(file: string | undefined, delta: number): void {
    if (file === undefined) {
      this.accountWaiters += delta;
      return;
    }
    const count = (this.fileWaiters.get(file) ?? 0) + delta;
    if (count > 0) this.fileWaiters.set(file, count);
    else this.fileWaiters.delete(file);
  }

  private fileBudget(file: string): LocalConnectionBudget {
    let budget = this.files.get(file);
    if (!budget) this.files.set(file, (budget = new LocalConnectionBudget(this.options.perFile)));
    return budget;
  }

  private dropFileBudget(file: string): void {
    const budget = this.files.get(file);
    if (budget && budget.active === 0 && budget.waiting === 0) this.files.delete(file);
  }

  private schedule(): void {
    if (this.timer || (this.accountWaiters === 0 && this.fileWaiters.size === 0)) return;
    let earliest = Infinity;
    for (const entry of this.idleSet) earliest = Math.min(earliest, entry.since);
    if (earliest === Infinity) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.parkForWaiters();
    }, Math.max(0, earliest + this.parkAfterMs - this.now()));
    this.timer.unref();
  }

  /** Parks the longest-idle connections that free a slot someone waits for (one per waiter). */
  private parkForWaiters(): void {
    const due = this.now() - this.parkAfterMs;
    let forAccount = this.accountWaiters;
    const forFile = new Map(this.fileWaiters);
    const oldestFirst = [...this.idleSet].sort((a, b) => a.since - b.since);
    for (const entry of oldestFirst) {
      if (entry.since > due) break;
      const fileNeed = forFile.get(entry.file) ?? 0;
      if (forAccount <= 0 && fileNeed <= 0) continue;
      if (fileNeed > 0) forFile.set(entry.file, fileNeed - 1);
      else forAccount -= 1;
      this.idleSet.delete(entry);
      this.parked += 1;
      entry.park();
    }
    this.schedule();
  }
}
