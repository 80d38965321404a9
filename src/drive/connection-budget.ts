/**
 * How many upstream download connections may be open at once. 1fichier allows 30 concurrent
 * downloads per premium account and answers the 31st with a 403 page; media servers start
 * hundreds of probes at once, so every ranged GET of the drive (client reads, read-ahead, cache
 * warming) first takes one unit of this budget and gives it back when its connection closes.
 *
 * A playing stream's next bytes ('interactive') go before cache warming and parallel read-ahead
 * ('background'). The in-process budget is below; many bridges of one account share one budget
 * through the same interface (a Redis implementation).
 */

export type ConnectionPriority = 'interactive' | 'background';

export interface ConnectionBudget {
  /** Resolves when one more upstream download connection may open; call the returned function exactly
   *  once when it closes. Interactive waiters go before background ones. Rejects with the signal's
   *  reason when aborted while waiting. */
  acquire(priority: ConnectionPriority, signal?: AbortSignal): Promise<() => void>;
}

/** 1fichier's concurrent downloads per premium account (the 31st gets a 403 page). */
export const ACCOUNT_DOWNLOAD_CONNECTIONS = 30;

/** Default budget: well under 1fichier's 30 connections, leaving room for other tools of the account. */
export const DEFAULT_DOWNLOAD_CONNECTIONS = 16;

interface Waiter {
  grant: (release: () => void) => void;
  reject: (reason: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** A connection budget of one process: a counter and two FIFO queues (interactive first). */
export class LocalConnectionBudget implements ConnectionBudget {
  private open = 0;
  private readonly queues: Record<ConnectionPriority, Waiter[]> = { interactive: [], background: [] };

  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`the connection budget must be an integer >= 1, got ${limit}`);
  }

  /** Connections open now. */
  get active(): number {
    return this.open;
  }

  /** Callers waiting for a connection now. */
  get waiting(): number {
    return this.queues.interactive.length + this.queues.background.length;
  }

  acquire(priority: ConnectionPriority, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.open < this.limit && this.waiting === 0) {
      this.open += 1;
      return Promise.resolve(this.releaser());
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { grant: resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const queue = this.queues[priority];
          const at = queue.indexOf(waiter);
          if (at >= 0) queue.splice(at, 1);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queues[priority].push(waiter);
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open -= 1;
      this.grantNext();
    };
  }

  private grantNext(): void {
    while (this.open < this.limit) {
      const waiter = this.queues.interactive.shift() ?? this.queues.background.shift();
      if (!waiter) return;
      if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
      this.open += 1;
      waiter.grant(this.releaser());
    }
  }
}
