import { afterEach, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { harness, type Harness } from './helpers.js';
import { whirlpoolHex } from '../../src/fichier/index.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const MiB = 1024 * 1024;
const LARGE = process.env.FICHIER_DAV_LARGE === '1';
const SIZE = (LARGE ? 2048 : 512) * MiB;

/** `total` bytes of a repeating pattern, generated on demand (never held in memory). */
function generated(total: number): Readable {
  const block = Buffer.alloc(MiB);
  for (let i = 0; i < block.length; i++) block[i] = (i * 31 + (i >> 10)) & 0xff;
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= total) {
        this.push(null);
        return;
      }
      const n = Math.min(MiB, total - sent);
      sent += n;
      this.push(n === MiB ? block : block.subarray(0, n));
    },
  });
}

it(`uploading a ${SIZE / MiB} MiB stream keeps resident memory flat (peak growth < 150 MB)`, { timeout: LARGE ? 600_000 : 180_000 }, async () => {
  h = await harness();
  global.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 25);
  let progressCalls = 0;
  let lastProgress = 0;
  const started = Date.now();
  try {
    const up = await h.client.upload(generated(SIZE), {
      size: SIZE,
      name: 'big.bin',
      onProgress: (sent) => {
        progressCalls++;
        lastProgress = sent;
      },
    });
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(up.size).toBe(SIZE);
    expect(up.verified).toBe(true);
    expect(lastProgress).toBe(SIZE);
    expect(progressCalls).toBeGreaterThan(1);
  } finally {
    clearInterval(timer);
  }
  const growthMB = (peak - baseline) / 1e6;
  console.log(
    `memory: ${SIZE / MiB} MiB upload in ${((Date.now() - started) / 1000).toFixed(1)} s, rss baseline ${(baseline / 1e6).toFixed(0)} MB, peak ${(peak / 1e6).toFixed(0)} MB, growth ${growthMB.toFixed(0)} MB`,
  );
  expect(growthMB).toBeLessThan(150);
  expect(h.sim.stats().calls['upload.cgi']).toBe(1);
});

it('the streamed Whirlpool of a generated stream equals the one-shot Whirlpool', async () => {
  const size = 3 * MiB + 123;
  const chunks: Buffer[] = [];
  for await (const c of generated(size)) chunks.push(Buffer.from(c));
  h = await harness();
  const up = await h.client.upload(generated(size), { size, name: 'mid.bin' });
  expect(up.whirlpool).toBe(await whirlpoolHex(Buffer.concat(chunks)));
});
