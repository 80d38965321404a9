/**
 * The consumer wait of cache-served media reads. A read served from the cache that comes to a
 * missing block, before its client has shown that it reads on, opens the upstream GET only once
 * the client has taken every byte the read pushed and then stayed CONSUMER_GRACE_MS without
 * leaving, reading elsewhere in the file, or the block turning up. The cache pushes at disk speed
 * into socket buffers that hold megabytes (their size varies with load), so without this a
 * repeated probe ran past what the first one stored while its client was about to close: an
 * upstream GET for bytes no one consumed. See docs/media-reads.md ("A repeated probe costs 0
 * upstream requests").
 */
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

/** Quiet time (ms) after the client took everything sent, before the GET opens. */
export const CONSUMER_GRACE_MS = 500;
/** How often a read waiting for its consumer looks again. */
const CONSUMER_POLL_MS = 25;

export interface ConsumerWaitContext {
  /** Whether the block the read waits at is now claimed by a transfer or on disk. */
  blockPresent(): boolean;
  /** Reads of the file begun so far in this process (it moves when the client reads elsewhere in it). */
  readsStarted(): number;
  /** Aborts when the read is destroyed (its client left). */
  signal: AbortSignal;
}

/**
 * Waits until `stream`'s consumer has taken every byte pushed (a client that stopped reading never
 * gets a GET for bytes it does not take), then CONSUMER_GRACE_MS more, restarted whenever another
 * read of the file begins (ffmpeg reads elsewhere while it holds this connection, and closes it
 * afterwards). Resolves when the grace ran out or early when the block turns up; rejects with
 * "read aborted" when the read is destroyed first.
 */
export async function waitForConsumer(stream: Readable, context: ConsumerWaitContext): Promise<void> {
  const { signal } = context;
  let reads = context.readsStarted();
  // Counted in looks rather than by the clock: each look comes after the event loop has handled
  // pending I/O (a client's close), so a loop stalled for seconds (load, GC) does not end the
  // grace in one step before it sees that the client left.
  const looks = Math.ceil(CONSUMER_GRACE_MS / CONSUMER_POLL_MS);
  let idle = -1;
  while (!signal.aborted && !stream.destroyed) {
    if (context.blockPresent()) return;
    const started = context.readsStarted();
    // Bytes still in this stream, or a pipe paused by its destination (the last piece waits in
    // the response's buffer): the client is not taking what it has.
    if (stream.readableLength > 0 || (stream.readableFlowing === false && stream.listenerCount('data') > 0)) idle = -1;
    else if (idle < 0 || started !== reads) {
      idle = 0;
      reads = started;
    } else if (++idle >= looks) return;
    await sleep(CONSUMER_POLL_MS, undefined, { signal }).catch(() => {});
  }
  throw new Error('read aborted');
}
