/**
 * The consumer wait of cache-served media reads (src/drive/block-cache/consumer-wait.ts): a read
 * that came from the cache to a missing block opens its GET only once its client took every byte
 * sent and then stayed quiet for the grace. The wait sleeps on events (bytes taken, the pipe
 * resumed, another read of the file, a block claimed, the read destroyed, its own timer), never
 * on a polling timer. The clock is Vitest's fake one: nothing here depends on real time.
 */
import { Readable, Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CONSUMER_GRACE_MS, CONSUMER_SETTLE_MS, FileActivity, waitForConsumer } from '../../src/drive/block-cache/consumer-wait.js';

const KEY = 'file-1';

/** A read as the cache makes it: pushes on demand, and tells a waiter of each take. */
class Pushed extends Readable {
  onTaken: (() => void) | undefined;
  override read(size?: number): any {
    const chunk: unknown = super.read(size);
    this.onTaken?.();
    return chunk;
  }
  override _read(): void {}
}

function setUp(options: { present?: () => boolean } = {}) {
  const activity = new FileActivity();
  const stream = new Pushed({ highWaterMark: 1024 });
  const controller = new AbortController();
  let settled: 'resolved' | Error | undefined;
  let watching = 0;
  const start = () => {
    const wait = waitForConsumer(stream, {
      blockPresent: options.present ?? (() => false),
      readsStarted: () => activity.readsStarted(KEY),
      watchFile: (listener) => {
        const unwatch = activity.watch(KEY, listener);
        watching += 1;
        return () => {
          watching -= 1;
          unwatch();
        };
      },
      watchTaken: (listener) => {
        stream.onTaken = listener;
        return () => (stream.onTaken = undefined);
      },
      signal: controller.signal,
    });
    wait.then(
      () => (settled = 'resolved'),
      (error: Error) => (settled = error),
    );
  };
  return { activity, stream, controller, start, settled: () => settled, watching: () => watching };
}

/** Lets promise callbacks and nextTick callbacks run (they are not faked). */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await new Promise<void>((resolve) => process.nextTick(resolve));
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('a read waiting for its consumer', () => {
  it('sets no timer while its client has not taken what was sent, and starts the grace when it takes it', async () => {
    const { stream, start, settled } = setUp();
    stream.push(Buffer.alloc(600));
    start();
    await flush();
    // Nothing polls: no timer at all while the bytes sit unread.
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(settled()).toBeUndefined();
    // The client takes the bytes: the grace starts now, and ends after it and the settle.
    expect(stream.read()).toHaveLength(600);
    await flush();
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(CONSUMER_GRACE_MS);
    expect(settled()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(CONSUMER_SETTLE_MS);
    expect(settled()).toBe('resolved');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('waits while the pipe to the response is paused by a full destination, and starts the grace on its drain', async () => {
    const { stream, start, settled } = setUp();
    const taken: Buffer[] = [];
    let release: (() => void) | undefined;
    // A destination that takes one chunk and then holds back (a client's full socket).
    const destination = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _encoding, callback) {
        taken.push(chunk);
        release = callback;
      },
    });
    stream.pipe(destination);
    stream.push(Buffer.alloc(600));
    await flush();
    expect(taken).toHaveLength(1);
    expect(stream.readableFlowing).toBe(false);
    start();
    await flush();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(settled()).toBeUndefined();
    // The client's socket drains: the pipe resumes, everything sent has been taken.
    release!();
    await flush();
    expect(stream.readableFlowing).toBe(true);
    await vi.advanceTimersByTimeAsync(CONSUMER_GRACE_MS + CONSUMER_SETTLE_MS);
    expect(settled()).toBe('resolved');
  });

  it('restarts the grace when another read of the same file begins (ffmpeg reads the tail while it holds the head)', async () => {
    const { activity, start, settled } = setUp();
    start();
    await vi.advanceTimersByTimeAsync(CONSUMER_GRACE_MS - 100);
    activity.readStarted(KEY);
    // A read of another file changes nothing.
    activity.readStarted('other-file');
    await vi.advanceTimersByTimeAsync(CONSUMER_GRACE_MS - 100);
    expect(settled()).toBeUndefined();
    activity.readStarted(KEY);
    await vi.advanceTimersByTimeAsync(CONSUMER_GRACE_MS + CONSUMER_SETTLE_MS - 1);
    expect(settled()).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(settled()).toBe('resolved');
  });

  it('ends at once, without time passing, when a transfer claims a block of the file and the block is there', async () => {
    let present = false;
    const { activity, start, settled } = setUp({ present: () => present });
    start();
    await flush();
    present = true;
    activity.changed(KEY);
    await flush();
    expect(settled()).toBe('resolved');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('fails with "read aborted" when its client leaves, and leaves no timer or listener behind', async () => {
    const { stream, controller, start, settled, watching } = setUp();
    start();
    await vi.advanceTimersByTimeAsync(100);
    expect(watching()).toBe(1);
    controller.abort();
    await flush();
    expect((settled() as Error).message).toBe('read aborted');
    expect(vi.getTimerCount()).toBe(0);
    expect(stream.onTaken).toBeUndefined();
    expect(stream.listenerCount('resume') + stream.listenerCount('pause')).toBe(0);
    expect(watching()).toBe(0);
  });
});
