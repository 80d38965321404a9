/**
 * The account's budget of upstream download connections (issue 13) end to end: a media server's
 * library scan starts many ffprobes at once, each holding its `bytes=0-` head open and unread
 * while it asks for the tail. The simulator's peak of concurrent downloads is the witness that
 * the budget holds; every byte is compared with the simulator's content. No timing is asserted.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { cachedStacks, streamToBuffer } from './helpers.js';

const MIB = 1024 * 1024;
const READERS = 100;
const FILES = 50;
const BUDGET = 8;
/** Download links live 5 min x the simulator's time scale here (3 s): reuse them for less than that. */
const LINK_REUSE_MS = 2_000;

const stacks = cachedStacks('fichier-dav-budget-');

/** `bytes=0-` on its own connection; resolves with the first `keep` bytes, the response left open and unread. */
function holdHead(url: string, keep: number): Promise<{ head: Buffer; close(): void }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { Range: 'bytes=0-' }, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      let length = 0;
      let done = false;
      response.on('data', (chunk: Buffer) => {
        if (done) return;
        chunks.push(chunk);
        length += chunk.length;
        if (length >= keep) {
          done = true;
          response.pause();
          resolve({ head: Buffer.concat(chunks).subarray(0, keep), close: () => request.destroy() });
        }
      });
      response.on('error', () => {});
      response.on('end', () => !done && reject(new Error(`head ended after ${length} bytes: ${response.statusCode} ${Buffer.concat(chunks).toString()}`)));
    });
    request.on('error', reject);
  });
}

async function ranged(url: string, start: number, end: number): Promise<{ status: number; body: Buffer }> {
  const response = await fetch(url, { headers: { Range: `bytes=${start}-${end}` } });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()) };
}

describe.each([
  ['with the block cache', { cacheBlockSize: MIB }],
  ['with --no-read-cache', { readCache: false }],
])(`${READERS} concurrent ffprobe-like readers %s`, (_label, drive) => {
  it(`never open more than the budget's ${BUDGET} upstream connections, and every byte is exact`, async () => {
    const stack = await stacks.start(
      { perFolderListingWindowMs: 0 },
      // A media server on the same host opens many connections at once: more than the default per-address cap.
      { drive: { downloadConnections: BUDGET, downloadConnectionsPerFile: 3, linkReuseMs: LINK_REUSE_MS, ...drive }, limits: { maxConnections: 1000, maxConnectionsPerAddress: 1000 } },
    );
    const { sim, url } = stack;
    const files = await Promise.all(
      Array.from({ length: FILES }, async (_, i) => {
        const size = 6 * MIB + i * 4099;
        const name = `ep-${String(i).padStart(2, '0')}.mkv`;
        return { name, size, url: await sim.addFile({ name, synthetic: { size, seed: 100 + i } }) };
      }),
    );
    await fetch(`${url}/`, { method: 'PROPFIND', headers: { Depth: '1' } });
    sim.reset();

    const mismatches: string[] = [];
    await Promise.all(
      Array.from({ length: READERS }, async (_, reader) => {
        const file = files[reader % FILES];
        const fileUrl = `${url}/${file.name}`;
        // What ffprobe does: the head kept open and unread, then the tail and a middle range on other connections.
        const held = await holdHead(fileUrl, 64 * 1024);
        try {
          if (!held.head.equals(await streamToBuffer(sim.contentOf(file.url, 0, 64 * 1024 - 1)))) mismatches.push(`${file.name} head`);
          const tailStart = file.size - 100_000 - (reader % 7) * 1000;
          const tail = await ranged(fileUrl, tailStart, file.size - 1);
          expect(tail.status).toBe(206);
          if (!tail.body.equals(await streamToBuffer(sim.contentOf(file.url, tailStart, file.size - 1)))) mismatches.push(`${file.name} tail`);
          const middle = Math.floor(file.size / 2) + reader * 17;
          const mid = await ranged(fileUrl, middle, middle + 300_000);
          expect(mid.status).toBe(206);
          if (!mid.body.equals(await streamToBuffer(sim.contentOf(file.url, middle, middle + 300_000)))) mismatches.push(`${file.name} middle`);
        } finally {
          held.close();
        }
      }),
    );

    expect(mismatches).toEqual([]);
    const stats = sim.stats();
    expect(stats.downloadRequests).toBeGreaterThanOrEqual(FILES);
    expect(stats.peakConcurrentDownloads).toBeLessThanOrEqual(BUDGET);
    // 1fichier's answer to one connection too many is a 403 page: never sent.
    const refused = sim.log().filter((entry) => entry.host !== 'api' && entry.status === 403);
    expect(refused).toEqual([]);
    // (Whether held heads had to be parked depends on how far the sockets let each head run: with
    // 6 MiB files a head may finish its file into socket buffers. The old code deadlocked here.)
  }, 180_000);
});
