/**
 * The consumer wait of cache-served media reads. A read served from the cache that comes to a
 * missing block, before its client has shown that it reads on, opens the upstream GET only once
 * the client has taken every byte the read pushed and then stayed CONSUMER_GRACE_MS without
 * leaving, reading elsewhere in the file, or the block turning up. The cache pushes at disk speed
 * into socket buffers that hold megabytes (their size varies with load), so without this a
 * repeated probe ran past what the first one stored while its client was about to close: an
 * upstream GET for bytes no one consumed. See docs/media-reads.md ("A repeated probe costs 0
 * upstream requests").
 *
 * The wait sleeps until something it depends on happens: the consumer takes bytes or the pipe to
 * the response resumes (the response drained into the client's socket), another read of the file
 * begins, a block of the file is claimed, the read is destroyed, or the grace timer runs out.
 */
import type { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';

/** Quiet time (ms) after the client took everything sent, before the GET opens. */
export const CONSUMER_GRACE_MS = 500;
/**
 * When the grace runs out, the read still lets the event loop run this long (ms) before it
 * decides: a loop stalled for seconds (load, GC) fires the grace timer before it has handled the
 * I/O that came meanwhile, such as the client's close; this second timer, set after the stall,
 * comes after a poll for that I/O.
 */
export const CONSUMER_SETTLE_MS = 25;

/**
 * Reads begun and in progress per file, and the reads waiting to hear that another one began or
 * ended or that a block of the file was claimed by a transfer (keyed by the cache's file key).
 */
export class FileActivity {
  private readonly reads = new LRUCache<string, number>({ max: 4096 });
  private readonly watchers = new Map<string, Set<() => void>>();
  /** Reads in progress per file, by the number readStarted gave them (start-ramp.ts asks about later ones). */
  private readonly running = new Map<string, Set<number>>();
  /** Of those, the ones whose first byte's source is known (they are no longer waiting for a link or a slot). */
  private readonly flowing = new Map<string, Set<number>>();

  /** A read of `key` begins; returns its number (reads of a file are numbered in the order they begin). */
  readStarted(key: string): number {
    const number = (this.reads.get(key) ?? 0) + 1;
    this.reads.set(key, number);
    let running = this.running.get(key);
    if (!running) this.running.set(key, (running = new Set()));
    running.add(number);
    this.changed(key);
    return number;
  }

  /** Read `number` of `key` (what readStarted returned) ended. */
  readEnded(key: string, number: number): void {
    const running = this.running.get(key);
    if (!running?.delete(number)) return;
    if (running.size === 0) this.running.delete(key);
    const flowing = this.flowing.get(key);
    if (flowing?.delete(number) && flowing.size === 0) this.flowing.delete(key);
    this.changed(key);
  }

  /**
   * Read `number` of `key` has its first byte's source (its upstream answered, or its bytes are on
   * disk or in flight): it no longer waits for a download link or a connection slot.
   */
  readFlowing(key: string, number: number): void {
    if (!this.running.get(key)?.has(number)) return;
    let flowing = this.flowing.get(key);
    if (!flowing) this.flowing.set(key, (flowing = new Set()));
    if (flowing.has(number)) return;
    flowing.add(number);
    this.changed(key);
  }

  /** Whether a read of `key` that began after read `number` is in progress. */
  laterReadInProgress(key: string, number: number): boolean {
    for (const other of this.running.get(key) ?? []) if (other > number) return true;
    return false;
  }

  /** Whether a read of `key` that began after read `number` is in progress and past its first byte's wait. */
  laterReadFlowing(key: string, number: number): boolean {
    for (const other of this.flowing.get(key) ?? []) if (other > number) return true;
    return false;
  }

  /** Reads of `key` begun so far in this process (it moves when a client reads elsewhere in the file). */
  readsStarted(key: string): number {
    return this.reads.get(key) ?? 0;
  }

  /** Something happened in `key` (a read began, a block was claimed): wakes its watchers. */
  changed(key: string): void {
    const watchers = this.watchers.get(key);
    if (!watchers) return;
    for (const watcher of [...watchers]) watcher();
  }

  /** Calls `listener` on each change of `key` until the returned function is called. */
  watch(key: string, listener: () => void): () => void {
    let watchers = this.watchers.get(key);
    if (!watchers) this.watchers.set(key, (watchers = new Set()));
    watchers.add(listener);
    return () => {
      watchers.delete(listener);
      if (watchers.size === 0 && this.watchers.get(key) === watchers) this.watchers.delete(key);
    };
  }
}

export interface ConsumerWaitContext {
  /** Whether the block the read waits at is now claimed by a transfer or on disk. */
  blockPresent(): boolean;
  /** Reads of the file begun so far in this process. */
  readsStarted(): number;
  /** Calls `listener` when another read of the file begins or a block of it is claimed; returns the unsubscribe. */
  watchFile(listener: () => void): () => void;
  /** Calls `listener` when the consumer takes bytes from the stream (each `read()`); returns the unsubscribe. */
  watchTaken(listener: () => void): () => void;
  /** Aborts when the read is destroyed (its client left). */
  signal: AbortSignal;
}

/**
 * Whether the consumer of `stream` has taken every byte pushed: nothing left in the stream's
 * buffer, and no pipe paused by its destination (then the last piece waits in the response's
 * buffer because the client's socket is full).
 */
export function tookEverything(stream: Readable): boolean {
  return stream.readableLength === 0 && !(stream.readableFlowing === false && stream.listenerCount('data') > 0);
}

/**
 * Waits until `stream`'s consumer has taken every byte pushed (a client that stopped reading never
 * gets a GET for bytes it does not take), then CONSUMER_GRACE_MS more (and CONSUMER_SETTLE_MS),
 * restarted whenever another read of the file begins (ffmpeg reads elsewhere while it holds this
 * connection, and closes it afterwards). Resolves when the grace ran out, or early when the block
 * turns up; rejects with "read aborted" when the read is destroyed first.
 */
export function waitForConsumer(stream: Readable, context: ConsumerWaitContext): Promise<void> {
  const { signal } = context;
  return new Promise<void>((resolve, reject) => {
    let reads = context.readsStarted();
    let timer: NodeJS.Timeout | undefined;
    let over = false;
    const unwatchFile = context.watchFile(() => check(false));
    const unwatchTaken = context.watchTaken(() => check(false));
    // The pipe to the response pauses when the client's socket is full and resumes on its drain.
    const onFlow = () => check(false);
    stream.on('resume', onFlow);
    stream.on('pause', onFlow);
    const onAbort = () => check(false);
    signal.addEventListener('abort', onAbort);

    function finish(error?: Error): void {
      over = true;
      clearTimeout(timer);
      unwatchFile();
      unwatchTaken();
      stream.off('resume', onFlow);
      stream.off('pause', onFlow);
      signal.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve();
    }

    function startGrace(): void {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timer = setTimeout(() => check(true), CONSUMER_SETTLE_MS);
      }, CONSUMER_GRACE_MS);
    }

    /** `graceOver`: the grace and the settle after it ran out with nothing happening. */
    function check(graceOver: boolean): void {
      if (over) return;
      if (signal.aborted || stream.destroyed) return finish(new Error('read aborted'));
      if (context.blockPresent()) return finish();
      if (!tookEverything(stream)) {
        // The client is not taking what it has: no grace runs until it has.
        clearTimeout(timer);
        timer = undefined;
        return;
      }
      const started = context.readsStarted();
      if (timer === undefined || started !== reads) {
        reads = started;
        return startGrace();
      }
      if (graceOver) finish();
    }

    check(false);
  });
}
