import { describe, expect, it } from 'vitest';
import { FakeClock, flushMicrotasks } from '../../src/fichier/clock.js';
import { TokenBucket } from '../../src/fichier/token-bucket.js';
import { Scheduler, type Job } from '../../src/fichier/scheduler.js';
import { FloodError, NotFoundError, TransientError } from '../../src/fichier/errors.js';

describe('TokenBucket', () => {
  it('spaces takes at 1/rate once the burst is spent', () => {
    const b = new TokenBucket(2 / 1000, 1, 0);
    expect(b.take(0)).toBe(0);
    expect(b.take(0)).toBe(500);
    expect(b.take(499)).toBe(1);
    expect(b.take(500)).toBe(0);
  });

  it('stores at most `burst` tokens', () => {
    const b = new TokenBucket(2 / 1000, 3, 0);
    expect(b.take(0)).toBe(0);
    // idle for a long time: only 3 tokens
    expect([b.take(100_000), b.take(100_000), b.take(100_000)]).toEqual([0, 0, 0]);
    expect(b.take(100_000)).toBe(500);
  });

  it('rejects a zero rate or a burst below one', () => {
    expect(() => new TokenBucket(0, 1, 0)).toThrow(RangeError);
    expect(() => new TokenBucket(1, 0.5, 0)).toThrow(RangeError);
  });
});

function setup(opts: ConstructorParameters<typeof Scheduler>[0] = {}) {
  const clock = new FakeClock();
  const s = new Scheduler({ clock, random: () => 0.5, ...opts });
  const sends: Array<{ name: string; at: number }> = [];
  const job = <T>(name: string, value: T, extra: Partial<Job<T>> = {}): Job<T> => ({
    endpoint: name,
    run: async () => {
      sends.push({ name, at: clock.now() });
      return value;
    },
    ...extra,
  });
  return { clock, s, sends, job };
}

describe('Scheduler', () => {
  it('refuses a rate above 3 calls/s and bad limits', () => {
    expect(() => new Scheduler({ ratePerSecond: 3.5 })).toThrow(RangeError);
    expect(() => new Scheduler({ ratePerSecond: 0 })).toThrow(RangeError);
    expect(() => new Scheduler({ apiConcurrency: 0 })).toThrow(RangeError);
    expect(() => new Scheduler({ timeScale: 0 })).toThrow(RangeError);
    expect(() => new Scheduler({ ratePerSecond: 3 })).not.toThrow();
  });

  it('paces calls at 2/s by default (500 ms apart)', async () => {
    const { clock, s, sends, job } = setup();
    const all = Promise.all(Array.from({ length: 8 }, (_, i) => s.run(job(`c${i}`, i))));
    await clock.advance(10_000);
    expect(await all).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const gaps = sends.slice(1).map((x, i) => x.at - sends[i].at);
    expect(gaps.every((g) => g >= 500)).toBe(true);
    expect(sends[7].at).toBe(3500);
  });

  it('multiplies every duration by timeScale', async () => {
    const { clock, s, sends, job } = setup({ timeScale: 0.01 });
    const all = Promise.all(Array.from({ length: 5 }, (_, i) => s.run(job(`c${i}`, i))));
    await clock.advance(100);
    await all;
    expect(sends.map((x) => x.at)).toEqual([0, 5, 10, 15, 20]);
  });

  it('dispatches interactive work before queued background work', async () => {
    const { clock, s, sends, job } = setup();
    const bg = Array.from({ length: 3 }, (_, i) => s.run(job(`bg${i}`, i, { priority: 'background' })));
    const fg = s.run(job('fg', 'x', { priority: 'interactive' }));
    await clock.advance(5_000);
    await Promise.all([...bg, fg]);
    // bg0 took the only token at t=0; fg jumps ahead of bg1 and bg2
    expect(sends.map((x) => x.name)).toEqual(['bg0', 'fg', 'bg1', 'bg2']);
  });

  it('caps API calls in flight', async () => {
    const { clock, s } = setup({ apiConcurrency: 2, ratePerSecond: 3, burst: 10 });
    let running = 0;
    let peak = 0;
    const gates: Array<() => void> = [];
    const jobs = Array.from({ length: 5 }, (_, i) =>
      s.run({
        endpoint: `j${i}`,
        run: () =>
          new Promise<number>((resolve) => {
            running++;
            peak = Math.max(peak, running);
            gates.push(() => {
              running--;
              resolve(i);
            });
          }),
      }),
    );
    await clock.advance(10_000);
    expect(running).toBe(2);
    while (gates.length) {
      gates.shift()!();
      await clock.advance(1_000);
    }
    expect(await Promise.all(jobs)).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
  });

  it('lists one folder at most once per 30 s; a different request for it waits for the window', async () => {
    const { clock, s, sends, job } = setup();
    const w = { key: 'ls:7', intervalMs: 30_000 };
    const a = s.run(job('folder/ls', 'A', { window: w, shareKey: 'ls7-files' }));
    const b = s.run(job('file/ls', 'B', { window: w, shareKey: 'fls7' }));
    const other = s.run(job('folder/ls 8', 'C', { window: { key: 'ls:8', intervalMs: 30_000 } }));
    await clock.advance(40_000);
    expect(await Promise.all([a, b, other])).toEqual(['A', 'B', 'C']);
    const at = Object.fromEntries(sends.map((x) => [x.name, x.at]));
    expect(at['folder/ls 8']).toBeLessThan(1_000);
    expect(at['file/ls'] - at['folder/ls']).toBeGreaterThanOrEqual(30_000);
  });

  it('answers an identical listing inside the window with the just-finished result, until we write', async () => {
    const { clock, s, sends, job } = setup();
    const w = { key: 'ls:7', intervalMs: 30_000 };
    const first = s.run(job('ls', { n: 1 }, { window: w, shareKey: 'k' }));
    await clock.advance(1_000);
    expect(await first).toEqual({ n: 1 });
    const second = s.run(job('ls', { n: 2 }, { window: w, shareKey: 'k' }));
    await clock.advance(1);
    expect(await second).toEqual({ n: 1 }); // shared, not sent
    expect(sends).toHaveLength(1);
    // after a write the old answer is stale: wait for the window and ask again
    s.invalidateShared();
    const third = s.run(job('ls', { n: 3 }, { window: w, shareKey: 'k' }));
    await clock.advance(40_000);
    expect(await third).toEqual({ n: 3 });
    expect(sends).toHaveLength(2);
    expect(sends[1].at - sends[0].at).toBeGreaterThanOrEqual(30_000);
    // fresh: skip sharing
    const fourth = s.run(job('ls', { n: 4 }, { window: w, shareKey: 'k', fresh: true }));
    await clock.advance(40_000);
    expect(await fourth).toEqual({ n: 4 });
    expect(sends[2].at - sends[1].at).toBeGreaterThanOrEqual(30_000);
  });

  it('shares one upstream call between identical in-flight reads', async () => {
    const { clock, s, sends, job } = setup();
    const a = s.run(job('file/info', 'I', { singleFlightKey: 'info:u' }));
    const b = s.run(job('file/info', 'I2', { singleFlightKey: 'info:u' }));
    await clock.advance(1_000);
    expect(await a).toBe('I');
    expect(await b).toBe('I');
    expect(sends).toHaveLength(1);
  });

  it('retries transient failures with growing back-off, up to maxAttempts', async () => {
    const { clock, s } = setup({ maxAttempts: 4, ratePerSecond: 3 });
    const times: number[] = [];
    let n = 0;
    const p = s.run({
      endpoint: 'x',
      run: async () => {
        times.push(clock.now());
        if (++n < 4) throw new TransientError('503', { httpStatus: 503 });
        return 'ok';
      },
    });
    await clock.advance(60_000);
    expect(await p).toBe('ok');
    expect(times).toHaveLength(4);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    // base 500 ms doubling, jitter 0.5 → 75% of the step
    expect(gaps).toEqual([375, 750, 1500]);

    let m = 0;
    const q = s.run({
      endpoint: 'y',
      run: async () => {
        m++;
        throw new TransientError('503', { httpStatus: 503 });
      },
    });
    const caught = q.catch((e) => e);
    await clock.advance(60_000);
    expect(await caught).toBeInstanceOf(TransientError);
    expect(m).toBe(4);
  });

  it('does not retry permanent errors, nor jobs marked retry:false', async () => {
    const { clock, s } = setup();
    let a = 0;
    const p1 = s.run({ endpoint: 'a', run: async () => { a++; throw new NotFoundError('nf', { httpStatus: 404 }); } }).catch((e) => e);
    let b = 0;
    const p2 = s.run({ endpoint: 'upload.cgi', retry: false, usesApiBudget: false, run: async () => { b++; throw new TransientError('reset'); } }).catch((e) => e);
    await clock.advance(60_000);
    expect(await p1).toBeInstanceOf(NotFoundError);
    expect(await p2).toBeInstanceOf(TransientError);
    expect([a, b]).toEqual([1, 1]);
  });

  it('cools the account down on a flood: nothing is sent for 30 s, then the call is retried', async () => {
    const { clock, s, sends } = setup({ burst: 5 });
    let floods = 1;
    const flooded = s.run({
      endpoint: 'file/ls',
      run: async () => {
        sends.push({ name: 'file/ls', at: clock.now() });
        if (floods-- > 0) throw new FloodError('Flood detected: IP Locked #374', { httpStatus: 403, code: 374 });
        return 'listed';
      },
    });
    await clock.advance(10);
    const other = s.run({ endpoint: 'file/info', run: async () => { sends.push({ name: 'file/info', at: clock.now() }); return 'info'; } });
    await clock.advance(29_000);
    expect(sends.map((x) => x.name)).toEqual(['file/ls']); // nothing inside the cool-down
    await clock.advance(2_000);
    expect(await flooded).toBe('listed');
    expect(await other).toBe('info');
    expect(sends.slice(1).every((x) => x.at >= 30_000)).toBe(true);
  });

  it('doubles the cool-down when floods repeat, up to the maximum, and resets after a quiet period', async () => {
    const { clock, s } = setup({ floodCooldownMaxMs: 100_000 });
    s.noteFlood(clock.now());
    expect(s.currentCooldownLevel()).toBe(30_000);
    await clock.advance(31_000);
    s.noteFlood(clock.now());
    expect(s.currentCooldownLevel()).toBe(60_000);
    // an answer to a call sent before this cool-down began is an echo: no escalation
    s.noteFlood(clock.now() - 1);
    expect(s.currentCooldownLevel()).toBe(60_000);
    await clock.advance(61_000);
    s.noteFlood(clock.now());
    expect(s.currentCooldownLevel()).toBe(100_000);
    await clock.advance(101_000);
    s.noteFlood(clock.now());
    expect(s.currentCooldownLevel()).toBe(100_000);
    await clock.advance(100_000 + 600_001);
    s.noteFlood(clock.now());
    expect(s.currentCooldownLevel()).toBe(30_000);
  });

  it('aborts a queued job without sending it', async () => {
    const { clock, s, sends, job } = setup();
    await s.run(job('first', 1)); // takes the token at t=0
    const ac = new AbortController();
    const p = s.run(job('second', 2, { signal: ac.signal })).catch((e) => e);
    await flushMicrotasks();
    ac.abort();
    await clock.advance(5_000);
    expect((await p).name).toBe('AbortedError');
    expect(sends.map((x) => x.name)).toEqual(['first']);
  });

  it('limits uploads and downloads separately', async () => {
    const { s } = setup({ uploadConcurrency: 1, downloadConcurrency: 2 });
    let up = 0, upPeak = 0, down = 0, downPeak = 0;
    const work = (kind: 'up' | 'down') => async () => {
      if (kind === 'up') { up++; upPeak = Math.max(up, upPeak); } else { down++; downPeak = Math.max(down, downPeak); }
      await new Promise((r) => setTimeout(r, 5));
      if (kind === 'up') up--; else down--;
    };
    await Promise.all([
      ...Array.from({ length: 4 }, () => s.upload(work('up'))),
      ...Array.from({ length: 6 }, () => s.download(work('down'))),
    ]);
    expect(upPeak).toBe(1);
    expect(downPeak).toBe(2);
  });
});
