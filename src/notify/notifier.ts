/**
 * Change notifications, debounced and batched per folder, delivered to each target with retries.
 *
 * `notify()` only records the change and returns: nothing here ever waits on a WebDAV request or
 * makes one wait. A folder's batch goes out `debounceMs` after its last change (so a copy of 40
 * files is one notification, not 40), and at the latest `maxWaitMs` after its first. Each target
 * gets each batch once; a failure (network, non-2xx) is retried with exponential back-off
 * (`retry.firstDelayMs` doubling up to `retry.maxDelayMs`, `retry.attempts` tries in all), then
 * dropped with a warning. Outcomes are counted (`fichier_dav_notify_*` metrics) and logged.
 */
import { parentPath, type ChangeEvent } from './events.js';
import type { Batch, NotifyTarget } from './targets.js';

export type NotifyOutcome = 'sent' | 'failed' | 'retried' | 'dropped';

export interface NotifierLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface NotifierOptions {
  targets: NotifyTarget[];
  /** Quiet time after a folder's last change before its batch is sent (ms). Default 2 000. */
  debounceMs?: number;
  /** A folder that keeps changing is still sent this long after its first change (ms). Default 4 × debounce. */
  maxWaitMs?: number;
  retry?: { attempts?: number; firstDelayMs?: number; maxDelayMs?: number };
  /** Real ms one request may take. Default 15 000. */
  requestTimeoutMs?: number;
  logger?: NotifierLogger;
  /** Counts each attempt's outcome per target (metrics). */
  onOutcome?: (target: string, outcome: NotifyOutcome) => void;
  /** Also told of every batch (the .strm sync follows changes this way). */
  onBatch?: (batch: Batch) => void;
}

interface Pending {
  events: ChangeEvent[];
  first: number;
  timer: NodeJS.Timeout;
}

export class ChangeNotifier {
  private readonly batches = new Map<string, Pending>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly stop = new AbortController();
  private readonly debounceMs: number;
  private readonly maxWaitMs: number;
  private readonly attempts: number;
  private readonly firstDelayMs: number;
  private readonly maxDelayMs: number;
  private closed = false;
  private deliveries = 0;

  constructor(private readonly options: NotifierOptions) {
    this.debounceMs = options.debounceMs ?? 2_000;
    this.maxWaitMs = options.maxWaitMs ?? this.debounceMs * 4;
    this.attempts = Math.max(1, options.retry?.attempts ?? 8);
    this.firstDelayMs = options.retry?.firstDelayMs ?? 1_000;
    this.maxDelayMs = options.retry?.maxDelayMs ?? 5 * 60_000;
  }

  /** Records changes; they go out with their folder's batch. Never blocks, never throws. */
  notify(events: ChangeEvent[]): void {
    if (this.closed) return;
    const now = Date.now();
    for (const change of events) {
      const folder = parentPath(change.path);
      const pending = this.batches.get(folder);
      if (pending) {
        clearTimeout(pending.timer);
        const same = pending.events.findIndex((other) => other.path === change.path && other.event === change.event && other.oldPath === change.oldPath);
        if (same >= 0) pending.events.splice(same, 1);
        pending.events.push(change);
        const wait = Math.max(0, Math.min(this.debounceMs, pending.first + this.maxWaitMs - now));
        pending.timer = this.timer(() => this.flushFolder(folder), wait);
      } else {
        this.batches.set(folder, { events: [change], first: now, timer: this.timer(() => this.flushFolder(folder), this.debounceMs) });
      }
    }
  }

  /** Batches waiting for their quiet time plus deliveries not yet done (sent, retrying). */
  pending(): number {
    return this.batches.size + this.deliveries;
  }

  /** Sends every waiting batch now and waits for the deliveries in progress (retries included). */
  async flush(): Promise<void> {
    for (const folder of [...this.batches.keys()]) this.flushFolder(folder);
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** On shutdown: sends what is waiting (one try each, no retry), then stops. */
  async close(): Promise<void> {
    this.closed = true;
    this.stop.abort();
    for (const folder of [...this.batches.keys()]) this.flushFolder(folder, 1);
    await Promise.allSettled([...this.inFlight]);
  }

  private timer(run: () => void, ms: number): NodeJS.Timeout {
    const timer = setTimeout(run, ms);
    timer.unref();
    return timer;
  }

  private flushFolder(folder: string, attempts = this.attempts): void {
    const pending = this.batches.get(folder);
    if (!pending) return;
    clearTimeout(pending.timer);
    this.batches.delete(folder);
    const batch: Batch = { folder, events: pending.events };
    try {
      this.options.onBatch?.(batch);
    } catch (error) {
      this.options.logger?.warn('notify: a batch listener failed', { error: String(error) });
    }
    for (const target of this.options.targets) this.track(this.deliver(target, batch, attempts));
  }

  private track(delivery: Promise<void>): void {
    this.deliveries += 1;
    const tracked = delivery.finally(() => {
      this.deliveries -= 1;
      this.inFlight.delete(tracked);
    });
    this.inFlight.add(tracked);
  }

  private async deliver(target: NotifyTarget, batch: Batch, attempts: number): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await target.send(batch, AbortSignal.timeout(this.options.requestTimeoutMs ?? 15_000));
        this.options.onOutcome?.(target.name, 'sent');
        this.options.logger?.info('notify: sent', { target: target.name, to: target.describe, folder: batch.folder, changes: batch.events.length, attempt });
        return;
      } catch (error) {
        this.options.onOutcome?.(target.name, 'failed');
        const last = attempt >= attempts || this.closed;
        const delay = Math.min(this.maxDelayMs, this.firstDelayMs * 2 ** (attempt - 1));
        this.options.logger?.warn(last ? 'notify: giving up on a notification' : 'notify: failed; will retry', {
          target: target.name,
          to: target.describe,
          folder: batch.folder,
          attempt,
          error: error instanceof Error ? error.message : String(error),
          ...(last ? {} : { retryInSeconds: Math.round(delay / 100) / 10 }),
        });
        if (last) {
          this.options.onOutcome?.(target.name, 'dropped');
          return;
        }
        this.options.onOutcome?.(target.name, 'retried');
        const waited = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => {
            this.stop.signal.removeEventListener('abort', onStop);
            resolve(true);
          }, delay);
          timer.unref();
          // close() ends a waiting retry at once instead of leaving it behind.
          const onStop = () => (clearTimeout(timer), resolve(false));
          this.stop.signal.addEventListener('abort', onStop, { once: true });
        });
        if (!waited) return;
      }
    }
  }
}
