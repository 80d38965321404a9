/**
 * The simulator's network options (issue 13): API latency, download time to first byte and a
 * per-connection bandwidth cap. Off by default; on, every byte and answer stays exact. (How fast
 * they make things is for `npm run bench`, never for a test.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collect } from '../../src/simulator/content.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { api, NO_LIMITS } from './helpers.js';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: 'net-key', ...NO_LIMITS, timeScale: 1 });
});
afterAll(async () => {
  await sim.close();
});

describe('network options', () => {
  it('are zero by default', () => {
    expect(sim.options()).toMatchObject({ apiLatencyMs: 0, downloadTtfbMs: 0, downloadBytesPerSecond: 0, downloadLineBytesPerSecond: 0 });
  });

  it('refuse negative values with a clear reason', () => {
    expect(() => sim.setOptions({ downloadBytesPerSecond: -1 })).toThrow(/downloadBytesPerSecond.*non-negative/);
    expect(() => sim.setOptions({ downloadLineBytesPerSecond: -1 })).toThrow(/downloadLineBytesPerSecond.*non-negative/);
  });

  it('refuse a cap below 1 byte per second, which could only be a typo', () => {
    for (const key of ['downloadBytesPerSecond', 'downloadLineBytesPerSecond'] as const) {
      expect(() => sim.setOptions({ [key]: 0.001 })).toThrow(new RegExp(`${key}.*0 \\(no cap\\) or at least 1`));
      expect(sim.options()[key]).toBe(0);
    }
  });

  it('a wait beyond the longest Node timer still waits (it fired after 1 ms and the option meant nothing)', async () => {
    // 2^31 ms and more: setTimeout fires at once for those. The answer must not come.
    sim.setOptions({ apiLatencyMs: 2 ** 31 + 10_000 });
    try {
      const answered = await Promise.race([
        api(sim, 'user/info.cgi', {}).then(() => true, () => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), 1_500)),
      ]);
      expect(answered).toBe(false);
    } finally {
      sim.setOptions({ apiLatencyMs: 0 });
    }
  });

  it('with latency, TTFB and a bandwidth cap, API answers and ranged bytes stay exact', async () => {
    const url = await sim.addFile({ name: 'capped.bin', synthetic: { size: 600_000, seed: 3 } });
    sim.setOptions({ apiLatencyMs: 20, downloadTtfbMs: 20, downloadBytesPerSecond: 4_000_000 });
    try {
      const r = await api(sim, 'download/get_token.cgi', { url });
      expect(r.json.status).toBe('OK');
      const response = await fetch(r.json.url as string, { headers: { Range: 'bytes=1000-500999' } });
      expect(response.status).toBe(206);
      const body = Buffer.from(await response.arrayBuffer());
      expect(body.equals(await collect(sim.contentOf(url, 1000, 500_999)))).toBe(true);
      expect(sim.stats().bytesServed).toBeGreaterThanOrEqual(500_000);
    } finally {
      sim.setOptions({ apiLatencyMs: 0, downloadTtfbMs: 0, downloadBytesPerSecond: 0 });
    }
  });

  it('with a shared line cap, concurrent downloads each get their exact bytes', async () => {
    const url = await sim.addFile({ name: 'line.bin', synthetic: { size: 900_000, seed: 4 } });
    sim.setOptions({ downloadLineBytesPerSecond: 8_000_000, downloadBytesPerSecond: 6_000_000 });
    try {
      const ranges = [
        [0, 299_999],
        [300_000, 599_999],
        [600_000, 899_999],
      ] as const;
      const bodies = await Promise.all(
        ranges.map(async ([from, to]) => {
          const r = await api(sim, 'download/get_token.cgi', { url });
          const response = await fetch(r.json.url as string, { headers: { Range: `bytes=${from}-${to}` } });
          expect(response.status).toBe(206);
          return Buffer.from(await response.arrayBuffer());
        }),
      );
      for (const [i, [from, to]] of ranges.entries()) expect(bodies[i]!.equals(await collect(sim.contentOf(url, from, to)))).toBe(true);
    } finally {
      sim.setOptions({ downloadLineBytesPerSecond: 0, downloadBytesPerSecond: 0 });
    }
  });
});
