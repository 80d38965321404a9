/**
 * The block cache alone, over a fake upstream that counts every ranged GET and can hold bytes back
 * (a gate), so coalescing, cancellation and read-ahead can be observed exactly.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlockCache } from '../../src/drive/block-cache/block-cache.js';
import type { CachedFileRef } from '../../src/drive/block-cache/file-key.js';
import type { BlockCacheSettings } from '../../src/drive/block-cache/options.js';
import { collect, GatedUpstream } from './gated-upstream.js';

const BLOCK = 64 * 1024;

let dir: string;
let upstream: GatedUpstream;
const caches: BlockCache[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fichier-dav-blocks-'));
  upstream = new GatedUpstream();
});

afterEach(async () => {
  upstream.gated = false;
  upstream.allow(Number.MAX_SAFE_INTEGER);
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
  await rm(dir, { recursive: true, force: true });
});

async function openCache(settings: Partial<BlockCacheSettings> = {}, now?: () => number): Promise<BlockCache> {
  const cache = await BlockCache.open(
    {
      dir,
      maxBytes: 1024 * BLOCK,
      maxAgeMs: 3600_000,
      blockSize: BLOCK,
      readAheadMaxBytes: 0,
      backgroundFetches: 2,
      warmTail: false,
      maxResumes: 3,
      ...settings,
    },
    { open: upstream.open, now, onError: (error) => console.error(error) },
  );
  caches.push(cache);
  return cache;
}

function addFile(name: string, size: number, checksum?: string): { file: CachedFileRef; content: Buffer } {
  return upstream.addFile(name, size, checksum);
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let tries = 0; tries < 500; tries += 1) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function diskUsage(root: string): Promise<{ bytes: number; allocated: number }> {
  let bytes = 0;
  let allocated = 0;
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const info = await stat(join(entry.parentPath, entry.name));
    bytes += info.size;
    allocated += info.blocks * 512;
  }
  return { bytes, allocated };
}

describe('block cache reads', () => {
  it('serves exact bytes across block boundaries, cold then warm without upstream', async () => {
    const cache = await openCache();
    const { file, content } = addFile('a.bin', 10 * BLOCK + 123);
    const ranges: Array<[number, number]> = [
      [0, 0],
      [0, BLOCK - 1],
      [BLOCK - 1, BLOCK],
      [3 * BLOCK - 10, 5 * BLOCK + 10],
      [file.size - 1, file.size - 1],
      [file.size - 200, file.size - 1],
      [0, file.size - 1],
    ];
    for (let index = 0; index < 30; index += 1) {
      const start = (index * 104_729) % file.size;
      ranges.push([start, Math.min(file.size - 1, start + ((index * 7919) % (3 * BLOCK)))]);
    }
    for (const [start, end] of ranges) {
      const got = await collect(cache.read(file, { start, end }));
      expect(got.equals(content.subarray(start, end + 1)), `${start}-${end}`).toBe(true);
    }
    await cache.settle();
    const transfers = upstream.transfers.length;
    for (const [start, end] of ranges) {
      const got = await collect(cache.read(file, { start, end }));
      expect(got.equals(content.subarray(start, end + 1))).toBe(true);
    }
    expect(upstream.transfers.length).toBe(transfers);
    const stats = cache.stats();
    expect(stats.storedBlocks).toBe(11);
    expect(stats.hits).toBeGreaterThan(0);
    expect(stats.bytesFromCache).toBeGreaterThanOrEqual(file.size);
  });

  it('fetches every missing block of a range in one block-aligned GET, passing cached blocks through', async () => {
    const cache = await openCache();
    const { file, content } = addFile('b.bin', 20 * BLOCK);
    // Cache blocks 2 and 5 first (whole-block reads: a few bytes would be fetched exactly, as fragments).
    await collect(cache.read(file, { start: 2 * BLOCK, end: 3 * BLOCK - 1 }));
    await collect(cache.read(file, { start: 5 * BLOCK, end: 6 * BLOCK - 1 }));
    expect(upstream.transfers.map((t) => [t.start, t.end])).toEqual([
      [2 * BLOCK, 3 * BLOCK - 1],
      [5 * BLOCK, 6 * BLOCK - 1],
    ]);
    // Blocks 1..7: 1, 3, 4, 6, 7 missing -> one GET over 1..7 (the cached 2 and 5 pass through).
    const got = await collect(cache.read(file, { start: BLOCK + 100, end: 7 * BLOCK + 50 }));
    expect(got.equals(content.subarray(BLOCK + 100, 7 * BLOCK + 51))).toBe(true);
    expect(upstream.transfers).toHaveLength(3);
    expect(upstream.transfers[2]).toMatchObject({ start: BLOCK, end: 8 * BLOCK - 1 });
    // Missing blocks only at the start: the span stops before the cached tail of the range.
    await cache.settle();
    await collect(cache.read(file, { start: 0, end: 7 * BLOCK }));
    expect(upstream.transfers).toHaveLength(4);
    expect(upstream.transfers[3]).toMatchObject({ start: 0, end: BLOCK - 1 });
  });

  it('coalesces concurrent readers of the same missing block into one transfer, streaming before the block is whole', async () => {
    const cache = await openCache();
    const { file, content } = addFile('c.bin', 4 * BLOCK);
    upstream.gated = true;
    const first = cache.read(file, { start: 0, end: BLOCK - 1 });
    const firstBytes = collect(first);
    await until(() => upstream.transfers.length === 1, 'the first transfer');
    const second = collect(cache.read(file, { start: 100, end: 2000 }));
    const third = collect(cache.read(file, { start: 10, end: BLOCK - 1 }));
    upstream.allow(BLOCK / 2);
    // Half a block in: the small reader is already served although the block is not complete.
    expect((await second).equals(content.subarray(100, 2001))).toBe(true);
    upstream.allow(BLOCK);
    expect((await firstBytes).equals(content.subarray(0, BLOCK))).toBe(true);
    expect((await third).equals(content.subarray(10, BLOCK))).toBe(true);
    expect(upstream.transfers).toHaveLength(1);
    expect(cache.stats().coalesced).toBeGreaterThanOrEqual(2);
  });

  it('survives a restart: a new cache over the same directory serves the blocks without upstream', async () => {
    const first = await openCache();
    const { file, content } = addFile('d.bin', 5 * BLOCK + 7);
    await collect(first.read(file, { start: 0, end: file.size - 1 }));
    await first.close();
    caches.splice(caches.indexOf(first), 1);
    const transfers = upstream.transfers.length;

    const second = await openCache();
    expect(second.stats().storedBlocks).toBe(6);
    const got = await collect(second.read(file, { start: BLOCK - 3, end: file.size - 1 }));
    expect(got.equals(content.subarray(BLOCK - 3))).toBe(true);
    expect(upstream.transfers.length).toBe(transfers);
  });

  it('never serves the blocks of a replaced file (same URL, new checksum) and drops them', async () => {
    const cache = await openCache();
    const { file } = addFile('e.bin', 3 * BLOCK, 'old-sum');
    await collect(cache.read(file, { start: 0, end: file.size - 1 }));
    await cache.settle();
    const replacement = randomBytes(3 * BLOCK);
    upstream.contents.set(file.url, replacement);
    const newer: CachedFileRef = { ...file, checksum: 'new-sum' };
    const got = await collect(cache.read(newer, { start: 0, end: file.size - 1 }));
    expect(got.equals(replacement)).toBe(true);
    // Every block fetched again, each once (an open-ended read may take several GETs).
    expect(upstream.bytesSent).toBe(2 * file.size);
    await cache.settle();
    expect(cache.stats().storedBlocks).toBe(3);
    expect((await readdir(join(dir, 'files'))).length).toBe(1);
  });

  it('keeps within its size bound under three times as much data, and re-reads evicted bytes correctly', async () => {
    const maxBytes = 8 * BLOCK;
    const cache = await openCache({ maxBytes });
    const files = [addFile('f1.bin', 8 * BLOCK), addFile('f2.bin', 8 * BLOCK), addFile('f3.bin', 8 * BLOCK)];
    for (const { file, content } of files) {
      expect((await collect(cache.read(file, { start: 0, end: file.size - 1 }))).equals(content)).toBe(true);
      await cache.settle();
      expect(cache.stats().storedBytes).toBeLessThanOrEqual(maxBytes);
    }
    const stats = cache.stats();
    expect(stats.evictions).toBeGreaterThanOrEqual(16);
    const usage = await diskUsage(join(dir, 'files'));
    const metaSlack = 4096 * 3;
    expect(usage.bytes).toBeLessThanOrEqual(maxBytes + metaSlack);
    expect(usage.allocated).toBeLessThanOrEqual(maxBytes + 3 * 4096 + metaSlack);
    // The first file was evicted: reading it again is correct (and costs a transfer).
    const before = upstream.transfers.length;
    const got = await collect(cache.read(files[0].file, { start: 100, end: 3 * BLOCK }));
    expect(got.equals(files[0].content.subarray(100, 3 * BLOCK + 1))).toBe(true);
    expect(upstream.transfers.length).toBe(before + 1);
  });

  it('keeps one long stream from flushing the whole cache: a file holds at most half, head and tail kept', async () => {
    const maxBytes = 16 * BLOCK;
    const cache = await openCache({ maxBytes });
    const probed = [addFile('p1.mkv', 5 * BLOCK), addFile('p2.mkv', 5 * BLOCK)];
    for (const { file } of probed) {
      await collect(cache.read(file, { start: 0, end: 100 }));
      await collect(cache.read(file, { start: file.size - 100, end: file.size - 1 }));
    }
    const { file, content } = addFile('long.mkv', 40 * BLOCK);
    expect((await collect(cache.read(file, { start: 0, end: file.size - 1 }))).equals(content)).toBe(true);
    await cache.settle();
    expect(cache.stats().storedBytes).toBeLessThanOrEqual(maxBytes);
    const before = upstream.transfers.length;
    // The probe blocks of the other files survived, and so did the long file's head and tail.
    for (const { file: probedFile } of probed) {
      await collect(cache.read(probedFile, { start: 0, end: 100 }));
      await collect(cache.read(probedFile, { start: probedFile.size - 100, end: probedFile.size - 1 }));
    }
    await collect(cache.read(file, { start: 0, end: 100 }));
    await collect(cache.read(file, { start: file.size - 100, end: file.size - 1 }));
    expect(upstream.transfers.length).toBe(before);
  });

  it('drops blocks older than the age bound', async () => {
    let clock = 1_000_000;
    const cache = await openCache({ maxAgeMs: 60_000 }, () => clock);
    const { file } = addFile('g.bin', 2 * BLOCK);
    await collect(cache.read(file, { start: 0, end: file.size - 1 }));
    await cache.close();
    caches.splice(0);
    clock += 61_000;
    const reopened = await openCache({ maxAgeMs: 60_000 }, () => clock);
    expect(reopened.stats().storedBlocks).toBe(0);
    await reopened.settle();
    const left = (await readdir(join(dir, 'files'), { recursive: true })).filter((name) => /(^|\/)\d+\.[0-9a-f]{16}$/.test(String(name)));
    expect(left).toEqual([]);
  });

  it('stops the upstream transfer when the reader goes away', async () => {
    const cache = await openCache();
    const { file } = addFile('h.bin', 64 * BLOCK);
    upstream.gated = true;
    upstream.allow(2 * BLOCK);
    const controller = new AbortController();
    const stream = cache.read(file, { start: 0, end: file.size - 1 }, controller.signal);
    let received = 0;
    for await (const chunk of stream) {
      received += (chunk as Buffer).length;
      if (received >= BLOCK) break;
    }
    controller.abort();
    upstream.allow(Number.MAX_SAFE_INTEGER);
    await cache.settle();
    expect(upstream.bytesSent).toBeLessThan(8 * BLOCK);
    // No GET even asked that far: an open-ended read's requests follow its pacing limit.
    expect(Math.max(...upstream.transfers.map((transfer) => transfer.end))).toBeLessThan(8 * BLOCK);
    expect(upstream.transfers.filter((transfer) => !transfer.aborted && transfer.sent < transfer.end - transfer.start + 1)).toEqual([]);
  });

  it('reports an upstream failure to the reader instead of hanging', async () => {
    const cache = await openCache();
    const file: CachedFileRef = { url: 'https://1fichier.com/?gone', name: 'gone.bin', size: 3 * BLOCK, modified: new Date(0) };
    await expect(collect(cache.read(file, { start: 0, end: 10 }))).rejects.toThrow(/no such file upstream/);
  });
});

describe('block cache under churn', () => {
  it('keeps every byte right with concurrent random, sequential and open-ended readers over a small cache', async () => {
    const cache = await openCache({ maxBytes: 12 * BLOCK, readAheadMaxBytes: 4 * BLOCK, warmTail: true });
    const files = [addFile('x.mkv', 40 * BLOCK + 999), addFile('y.bin', 17 * BLOCK), addFile('z.mp4', 3 * BLOCK + 1)];
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const reads: Array<Promise<void>> = [];
    const cursors = files.map(() => 0);
    for (let round = 0; round < 80; round += 1) {
      const batch: Array<Promise<void>> = [];
      for (let lane = 0; lane < 6; lane += 1) {
        const which = random(files.length);
        const { file, content } = files[which];
        let start: number;
        let end: number;
        const kind = random(3);
        if (kind === 0) {
          start = random(file.size);
          end = Math.min(file.size - 1, start + random(3 * BLOCK));
        } else if (kind === 1) {
          start = cursors[which] % file.size;
          end = Math.min(file.size - 1, start + BLOCK / 2);
          cursors[which] = end + 1;
        } else {
          start = random(file.size);
          end = file.size - 1;
        }
        const controller = new AbortController();
        const stream = cache.read(file, { start, end }, controller.signal);
        const abortEarly = random(5) === 0;
        batch.push(
          (async () => {
            const chunks: Buffer[] = [];
            let received = 0;
            for await (const chunk of stream) {
              chunks.push(chunk as Buffer);
              received += (chunk as Buffer).length;
              if (abortEarly && received > BLOCK) {
                controller.abort();
                break;
              }
            }
            const got = Buffer.concat(chunks);
            expect(got.equals(content.subarray(start, start + got.length)), `${file.name} ${start}-${end}`).toBe(true);
            if (!abortEarly) expect(got.length).toBe(end - start + 1);
          })(),
        );
      }
      await Promise.all(batch);
      reads.push(...batch);
    }
    await cache.settle();
    expect(cache.stats().storedBytes).toBeLessThanOrEqual(12 * BLOCK);
    expect(cache.stats().evictions).toBeGreaterThan(0);
    expect(cache.stats().hits).toBeGreaterThan(0);
    expect(reads).toHaveLength(480);
  });
});

describe('block cache read-ahead', () => {
  it('reads ahead of a sequential reader in the same GET, growing, and cancels it on a seek', async () => {
    const cache = await openCache({ readAheadMaxBytes: 8 * BLOCK });
    const { file, content } = addFile('movie.mkv', 200 * BLOCK);
    // Sequential reads of one block each.
    for (let index = 0; index < 3; index += 1) {
      const got = await collect(cache.read(file, { start: index * BLOCK, end: (index + 1) * BLOCK - 1 }));
      expect(got.equals(content.subarray(index * BLOCK, (index + 1) * BLOCK))).toBe(true);
    }
    await cache.settle();
    // The first read is a seek (no read-ahead); the next ones reach beyond their end, further each time.
    const spans = upstream.transfers.map((t) => t.end - t.start + 1);
    expect(spans[0]).toBe(BLOCK);
    expect(spans[1]).toBeGreaterThan(BLOCK);
    const ahead = upstream.transfers[upstream.transfers.length - 1].end;
    expect(ahead).toBeGreaterThan(3 * BLOCK);
    // The read-ahead is already here: the next sequential read is served from disk, and reads
    // further ahead in one GET of its own; hold that transfer mid-way, then seek elsewhere.
    const transfers = upstream.transfers.length;
    upstream.gated = true;
    const got = await collect(cache.read(file, { start: 3 * BLOCK, end: 4 * BLOCK - 1 }));
    expect(got.equals(content.subarray(3 * BLOCK, 4 * BLOCK))).toBe(true);
    await until(() => upstream.transfers.length === transfers + 1, 'the read-ahead transfer');
    const readAhead = upstream.transfers[transfers];
    expect(readAhead.start).toBeGreaterThanOrEqual(4 * BLOCK);
    expect(readAhead.end).toBeGreaterThan(10 * BLOCK);
    upstream.allow(BLOCK / 2);
    await until(() => readAhead.sent >= BLOCK / 2, 'half a block of read-ahead');
    const seek = collect(cache.read(file, { start: 150 * BLOCK, end: 150 * BLOCK + 10 }));
    upstream.allow(Number.MAX_SAFE_INTEGER);
    expect((await seek).equals(content.subarray(150 * BLOCK, 150 * BLOCK + 11))).toBe(true);
    await cache.settle();
    // It finished the block it was in (so that block is cached), and stopped there.
    expect(readAhead.aborted).toBe(true);
    expect(readAhead.sent).toBeGreaterThanOrEqual(BLOCK);
    expect(readAhead.sent).toBeLessThanOrEqual(BLOCK + 32 * 1024); // the fake's own stream buffer
    const before = upstream.transfers.length;
    const kept = await collect(cache.read(file, { start: readAhead.start, end: readAhead.start + BLOCK - 1 }));
    expect(kept.equals(content.subarray(readAhead.start, readAhead.start + BLOCK))).toBe(true);
    expect(upstream.transfers.length).toBe(before);
    expect(cache.stats().readAheadCancelled).toBeGreaterThanOrEqual(1);
  });

  it('paces an open-ended stream to the reader: a slow reader does not pull the whole file', async () => {
    const cache = await openCache({ readAheadMaxBytes: 4 * BLOCK });
    const { file, content } = addFile('long.mkv', 100 * BLOCK);
    const stream = cache.read(file, { start: 10, end: file.size - 1 });
    const first = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
    expect(first.equals(content.subarray(10, 10 + first.length))).toBe(true);
    stream.pause();
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Upstream ran ahead by the window at most (plus stream buffers), not the 100 blocks.
    expect(upstream.bytesSent).toBeLessThan(20 * BLOCK);
    expect(Math.max(...upstream.transfers.map((transfer) => transfer.end))).toBeLessThan(20 * BLOCK);
    stream.destroy();
    await cache.settle();
    // Nothing ran on after the reader left.
    expect(upstream.bytesSent).toBeLessThan(20 * BLOCK);
  });

  it('a chunk straddling the pacing limit never leaves a block half filled: a slow sequential reader gets every byte', async () => {
    // 40 KiB chunks over 64 KiB blocks: whenever the transfer pauses at its limit, the chunk that got
    // it there may carry the first bytes of the next, not yet claimed block. Dropping them and
    // claiming the block afterwards filled it from the wrong offset and left the reader waiting.
    upstream.chunkSize = 40 * 1024;
    const cache = await openCache({ readAheadMaxBytes: 2 * BLOCK });
    const { file, content } = addFile('paced.mkv', 40 * BLOCK + 123);
    const stream = cache.read(file, { start: 0, end: file.size - 1 });
    const chunks: Buffer[] = [];
    let received = 0;
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      received += (chunk as Buffer).length;
      // Slower than the upstream: the transfer keeps reaching its pacing limit.
      if (received % (3 * BLOCK) < (chunk as Buffer).length) await new Promise((resolve) => setTimeout(resolve, 15));
    }
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
    await cache.settle();
    // Every block was stored whole and right: read again from disk only.
    const before = upstream.transfers.length;
    expect((await collect(cache.read(file, { start: 0, end: file.size - 1 }))).equals(content)).toBe(true);
    expect(upstream.transfers.length).toBe(before);
  }, 60_000);

  it('warms the tail block of a media file when its head is read, in the background', async () => {
    const cache = await openCache({ warmTail: true });
    const { file, content } = addFile('film.mp4', 10 * BLOCK + 5000);
    await collect(cache.read(file, { start: 0, end: 1000 }));
    await cache.settle();
    expect(upstream.transfers.map((t) => [t.start, t.priority]).sort((x, y) => Number(x[0]) - Number(y[0]))).toEqual([
      [0, 'interactive'],
      [10 * BLOCK, 'background'],
    ]);
    const tail = await collect(cache.read(file, { start: file.size - 100, end: file.size - 1 }));
    expect(tail.equals(content.subarray(file.size - 100))).toBe(true);
    expect(upstream.transfers).toHaveLength(2);
  });

  it('warms head and tail of new media files of a listing (warmProbes), once', async () => {
    const cache = await openCache();
    const a = addFile('one.mkv', 6 * BLOCK);
    const b = addFile('two.mp4', BLOCK / 2);
    const c = addFile('notes.txt', 6 * BLOCK);
    cache.warmProbes([a.file, b.file, c.file]);
    cache.warmProbes([a.file, b.file, c.file]);
    await cache.settle();
    expect(upstream.transfers.map((t) => t.priority)).toEqual(['background', 'background', 'background']);
    cache.warmProbes([a.file, b.file]);
    await cache.settle();
    expect(upstream.transfers).toHaveLength(3);
    await collect(cache.read(a.file, { start: 0, end: 100 }));
    await collect(cache.read(a.file, { start: a.file.size - 100, end: a.file.size - 1 }));
    expect(upstream.transfers).toHaveLength(3);
  });
});
