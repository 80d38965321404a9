/**
 * Per-client back-off after repeated authentication failures, so passwords cannot be guessed at
 * line rate. After `threshold` failures from one address within `windowMs`, that address is
 * answered 429 for `blockMs`; each further block doubles, up to `maxBlockMs`. Memory is bounded:
 * at most `maxClients` addresses are tracked (least recently seen forgotten first).
 */
import { LRUCache } from 'lru-cache';

export interface BackoffOptions {
  /** Failures within the window that trigger a block. Default 5. */
  threshold?: number;
  /** Default 60 000 ms. */
  windowMs?: number;
  /** First block. Default 30 000 ms. */
  blockMs?: number;
  /** Longest block. Default 15 minutes. */
  maxBlockMs?: number;
  /** Addresses tracked at once. Default 10 000. */
  maxClients?: number;
  now?: () => number;
}

interface ClientRecord {
  failures: number[];
  blockedUntil: number;
  /** Length of the next block. */
  nextBlockMs: number;
}

export class FailureBackoff {
  private readonly threshold: number;
  private readonly windowMs: number;
  private readonly blockMs: number;
  private readonly maxBlockMs: number;
  private readonly now: () => number;
  private readonly clients: LRUCache<string, ClientRecord>;

  constructor(options: BackoffOptions = {}) {
    this.threshold = options.threshold ?? 5;
    this.windowMs = options.windowMs ?? 60_000;
    this.blockMs = options.blockMs ?? 30_000;
    this.maxBlockMs = options.maxBlockMs ?? 15 * 60_000;
    this.now = options.now ?? Date.now;
    this.clients = new LRUCache({ max: options.maxClients ?? 10_000 });
  }

  /** Milliseconds this client must still wait; 0 when it may try. */
  blockedFor(client: string): number {
    const record = this.clients.get(client);
    if (!record) return 0;
    return Math.max(0, record.blockedUntil - this.now());
  }

  /** Records a failed attempt; returns the block it triggered (ms), 0 when none. */
  fail(client: string): number {
    const now = this.now();
    const record = this.clients.get(client) ?? { failures: [], blockedUntil: 0, nextBlockMs: this.blockMs };
    // A client that behaved for a long while starts again from the first block length.
    if (record.blockedUntil > 0 && now - record.blockedUntil > this.maxBlockMs) record.nextBlockMs = this.blockMs;
    record.failures = record.failures.filter((at) => now - at < this.windowMs);
    record.failures.push(now);
    let block = 0;
    if (record.failures.length >= this.threshold) {
      block = record.nextBlockMs;
      record.blockedUntil = now + block;
      record.nextBlockMs = Math.min(record.nextBlockMs * 2, this.maxBlockMs);
      record.failures = [];
    }
    this.clients.set(client, record);
    return block;
  }

  /** A successful login clears the failure count (the growing block length is kept for a while). */
  succeed(client: string): void {
    const record = this.clients.get(client);
    if (record) record.failures = [];
  }

  get trackedClients(): number {
    return this.clients.size;
  }
}
