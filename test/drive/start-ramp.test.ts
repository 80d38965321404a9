/**
 * The start-up ramp of open-ended media reads (src/drive/block-cache/start-ramp.ts): how far a
 * read's upstream transfers may go grows with time from its first byte, and not while a read of
 * the same file that began after it is in progress. The clock is Vitest's fake one.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FileActivity } from '../../src/drive/block-cache/consumer-wait.js';
import { RAMP_DOUBLING_MS, RAMP_END_BYTES, RAMP_FIRST_BYTES, RAMP_FREEZE_MAX_MS, RAMP_WAIT_MAX_MS, StartRamp } from '../../src/drive/block-cache/start-ramp.js';

const KEY = 'file-1';
const BLOCK = 1024 * 1024;

function rampOf(activity: FileActivity, start = 0): { ramp: StartRamp; number: number } {
  const number = activity.readStarted(KEY);
  const ramp = new StartRamp(start, BLOCK, {
    laterReadInProgress: () => activity.laterReadInProgress(KEY, number),
    laterReadFlowing: () => activity.laterReadFlowing(KEY, number),
    watchFile: (listener) => activity.watch(KEY, listener),
  });
  return { ramp, number };
}

async function flush(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await Promise.resolve();
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('FileActivity: reads in progress', () => {
  it('tells a read whether one that began after it is still in progress', () => {
    const activity = new FileActivity();
    const first = activity.readStarted(KEY);
    const second = activity.readStarted(KEY);
    activity.readStarted('other-file');
    expect(activity.laterReadInProgress(KEY, first)).toBe(true);
    expect(activity.laterReadInProgress(KEY, second)).toBe(false);
    activity.readEnded(KEY, second);
    expect(activity.laterReadInProgress(KEY, first)).toBe(false);
  });
});

describe('StartRamp', () => {
  it('allows the first block at once and doubles its allowance every RAMP_DOUBLING_MS after the first byte', () => {
    const { ramp } = rampOf(new FileActivity());
    expect(ramp.allowance()).toBe(RAMP_FIRST_BYTES);
    expect(ramp.limit()).toBe(BLOCK);
    // A GET may ask twice the allowance: the first one, one block.
    expect(ramp.requestLimit()).toBe(BLOCK);
    // Before the first byte the clock does not run (the upstream's time to first byte is not growth).
    vi.advanceTimersByTime(1_000);
    expect(ramp.allowance()).toBe(RAMP_FIRST_BYTES);
    ramp.begin();
    vi.advanceTimersByTime(RAMP_DOUBLING_MS);
    expect(ramp.allowance()).toBeCloseTo(2 * RAMP_FIRST_BYTES);
    expect(ramp.requestLimit()).toBe(2 * BLOCK);
    vi.advanceTimersByTime(RAMP_DOUBLING_MS);
    expect(ramp.limit()).toBe(2 * BLOCK);
    vi.advanceTimersByTime(RAMP_DOUBLING_MS * Math.log2(RAMP_END_BYTES / RAMP_FIRST_BYTES));
    expect(ramp.limit()).toBe(Number.POSITIVE_INFINITY);
    expect(ramp.isOver).toBe(true);
  });

  it('rounds a read that starts inside a block up to that block end', () => {
    const { ramp } = rampOf(new FileActivity(), 5 * BLOCK + 900_000);
    expect(ramp.limit()).toBe(7 * BLOCK);
  });

  it('does not grow while a later read of the file is in progress, and grows again once it ended', () => {
    const activity = new FileActivity();
    const { ramp } = rampOf(activity);
    ramp.begin();
    vi.advanceTimersByTime(RAMP_DOUBLING_MS / 2);
    const later = activity.readStarted(KEY);
    const frozen = ramp.allowance();
    vi.advanceTimersByTime(RAMP_FREEZE_MAX_MS - 10);
    expect(ramp.allowance()).toBe(frozen);
    expect(ramp.limit()).toBe(BLOCK);
    // A read of another file changes nothing; an earlier read of this one does not freeze a later one.
    activity.readStarted('other-file');
    activity.readEnded(KEY, later);
    vi.advanceTimersByTime(RAMP_DOUBLING_MS / 2);
    expect(ramp.allowance()).toBeCloseTo(2 * RAMP_FIRST_BYTES);
  });

  it('stands still for later reads RAMP_FREEZE_MAX_MS in all at most, then grows on time alone (a second client streaming the file never stops a player)', async () => {
    const activity = new FileActivity();
    const { ramp } = rampOf(activity);
    ramp.begin();
    const controller = new AbortController();
    let reached = false;
    void ramp.reach(BLOCK, controller.signal).then(() => (reached = true));
    // Two freezes by reads that stream, 60% and 40% of the most: the second one is spent, and the
    // ramp grows from there.
    const first = activity.readStarted(KEY);
    activity.readFlowing(KEY, first);
    vi.advanceTimersByTime(RAMP_FREEZE_MAX_MS * 0.6);
    activity.readEnded(KEY, first);
    activity.readFlowing(KEY, activity.readStarted(KEY));
    vi.advanceTimersByTime(RAMP_FREEZE_MAX_MS * 0.4 + RAMP_DOUBLING_MS / 2);
    expect(ramp.allowance()).toBeCloseTo(Math.SQRT2 * RAMP_FIRST_BYTES);
    await flush();
    expect(reached).toBe(false);
    vi.advanceTimersByTime(RAMP_DOUBLING_MS / 2 + 1);
    await flush();
    expect(reached).toBe(true);
    // No further freeze: the later read is still in progress, the ramp grows anyway.
    vi.advanceTimersByTime(RAMP_DOUBLING_MS);
    expect(ramp.allowance()).toBeGreaterThan(3.9 * RAMP_FIRST_BYTES);
  });

  it('a later read still waiting for its first byte (its link, a slot) holds the ramp without spending RAMP_FREEZE_MAX_MS, up to RAMP_WAIT_MAX_MS', () => {
    const activity = new FileActivity();
    const { ramp } = rampOf(activity);
    ramp.begin();
    // ffprobe's tail, asked while its head is held, waits seconds for a download link (API pacing
    // during a library scan): the head must not go on meanwhile.
    const tail = activity.readStarted(KEY);
    vi.advanceTimersByTime(5 * RAMP_FREEZE_MAX_MS);
    expect(ramp.allowance()).toBe(RAMP_FIRST_BYTES);
    expect(ramp.limit()).toBe(BLOCK);
    // The tail gets its link and streams: from now on the freeze is spent, RAMP_FREEZE_MAX_MS at most.
    activity.readFlowing(KEY, tail);
    vi.advanceTimersByTime(RAMP_FREEZE_MAX_MS - 1);
    expect(ramp.allowance()).toBe(RAMP_FIRST_BYTES);
    vi.advanceTimersByTime(1 + RAMP_DOUBLING_MS);
    expect(ramp.allowance()).toBeCloseTo(2 * RAMP_FIRST_BYTES);
  });

  it('a later read that never gets its first byte holds the ramp RAMP_WAIT_MAX_MS at most', () => {
    const activity = new FileActivity();
    const { ramp } = rampOf(activity);
    ramp.begin();
    activity.readStarted(KEY);
    vi.advanceTimersByTime(RAMP_WAIT_MAX_MS - 1);
    expect(ramp.allowance()).toBe(RAMP_FIRST_BYTES);
    vi.advanceTimersByTime(1 + RAMP_DOUBLING_MS);
    expect(ramp.allowance()).toBeCloseTo(2 * RAMP_FIRST_BYTES);
  });

  it('never holds back the newest read: two open-ended reads of a file cannot wait for each other', () => {
    const activity = new FileActivity();
    const first = rampOf(activity);
    const second = rampOf(activity);
    first.ramp.begin();
    second.ramp.begin();
    vi.advanceTimersByTime(RAMP_DOUBLING_MS);
    expect(first.ramp.allowance()).toBe(RAMP_FIRST_BYTES);
    expect(second.ramp.allowance()).toBeCloseTo(2 * RAMP_FIRST_BYTES);
  });

  it('reach() sleeps until the allowance gets past the block, wakes when a later read ends, rejects on abort', async () => {
    const activity = new FileActivity();
    const { ramp } = rampOf(activity);
    ramp.begin();
    const controller = new AbortController();
    let reached = false;
    void ramp.reach(2 * BLOCK, controller.signal).then(() => (reached = true));
    // Past block 2's start means an allowance over 2 MiB: two doublings.
    vi.advanceTimersByTime(2 * RAMP_DOUBLING_MS - 5);
    await flush();
    expect(reached).toBe(false);
    const later = activity.readStarted(KEY);
    vi.advanceTimersByTime(RAMP_FREEZE_MAX_MS - 10);
    await flush();
    expect(reached).toBe(false);
    activity.readEnded(KEY, later);
    vi.advanceTimersByTime(10);
    await flush();
    expect(reached).toBe(true);

    let error: Error | undefined;
    void ramp.reach(6 * BLOCK, controller.signal).catch((caught: Error) => (error = caught));
    controller.abort();
    await flush();
    expect(error?.message).toBe('read aborted');
    expect(vi.getTimerCount()).toBe(0);
  });
});
