import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/fichier/clock.js';
import { Scheduler, type Job } from '../../src/fichier/scheduler.js';

// A time-scaled run shrinks 1fichier's rules (at x0.05, 3 calls/s is one call per 17 ms) but not
// the real lag between sending a call and 1fichier (the simulator) counting it. `jitterMs` is that
// lag, in real ms: it is never scaled. Fake clock: nothing here waits.

function setup(opts: ConstructorParameters<typeof Scheduler>[0]) {
  const clock = new FakeClock();
  const s = new Scheduler({ clock, random: () => 0.5, ...opts });
  const sends: number[] = [];
  const job = (extra: Partial<Job<number>> = {}): Job<number> => ({
    endpoint: 'folder/ls.cgi',
    run: async () => {
      sends.push(clock.now());
      return sends.length;
    },
    ...extra,
  });
  return { clock, s, sends, job };
}

const gaps = (xs: number[]) => xs.slice(1).map((x, i) => x - xs[i]!);

describe('Scheduler jitterMs (real-time allowance, not scaled)', () => {
  it('keeps calls at least jitterMs / 2 apart when the scaled spacing is shorter', async () => {
    const { clock, s, sends, job } = setup({ timeScale: 0.05, jitterMs: 200 });
    const all = Promise.all(Array.from({ length: 8 }, () => s.run(job())));
    await clock.advance(5_000);
    await all;
    // x0.05 alone would be 25 ms apart: four calls within 75 ms, which a 60 ms lag can bunch.
    expect(gaps(sends).every((g) => g >= 100)).toBe(true);
  });

  it('changes nothing where the scaled spacing already exceeds it (scale 1: 500 ms)', async () => {
    const { clock, s, sends, job } = setup({ timeScale: 1, jitterMs: 200 });
    const all = Promise.all(Array.from({ length: 4 }, () => s.run(job())));
    await clock.advance(10_000);
    await all;
    expect(gaps(sends)).toEqual([500, 500, 500]);
  });

  it('gives each window a margin of at least jitterMs', async () => {
    const { clock, s, sends, job } = setup({ timeScale: 0.05, jitterMs: 200, ratePerSecond: 3 });
    const window = { key: 'ls:7', intervalMs: 30_000 };
    const first = s.run(job({ window }));
    await clock.advance(10);
    await first;
    const second = s.run(job({ window, fresh: true }));
    await clock.advance(3_000);
    await second;
    // 30 s x 0.05 = 1500 ms; the 2 % margin (30 ms) is below a loaded machine's lag.
    expect(sends[1]! - sends[0]!).toBeGreaterThanOrEqual(1500 + 200);
    expect(s.windowSpanMs(30_000)).toBe(1700);
    expect(s.windowSpanMs(60_000)).toBe(3200);
  });

  it('is 0 by default (margins as before) and refuses a negative value', () => {
    expect(new Scheduler({ timeScale: 0.05 }).windowSpanMs(30_000)).toBe(1530);
    expect(new Scheduler({ timeScale: 1, jitterMs: 200 }).windowSpanMs(30_000)).toBe(30_600);
    expect(() => new Scheduler({ jitterMs: -1 })).toThrow(RangeError);
  });
});
