/**
 * Exact reads (issue 13, bench row C2a): a small closed read that is not sequential fetches only
 * its own bytes and stores them as fragments of the blocks it touches; a repeat is served from
 * disk, across a restart too; a damaged fragment is caught by its checksum; a second miss in a
 * block fetches the block whole, which replaces the fragments.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BlockCache } from '../../src/drive/block-cache/block-cache.js';
import type { CachedFileRef } from '../../src/drive/block-cache/file-key.js';
import { FakeUpstream } from './fake-upstream.js';

const BLOCK = 256 * 1024;

let dir: string;
let upstream: FakeUpstream;
const caches: BlockCache[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fichier-dav-fragments-'));
  upstream = new FakeUpstream();
});

afterEach(async () => {
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
  await rm(dir, { recursive: true, force: true });
});

async function openCache(maxBytes = 1024 * BLOCK): Promise<BlockCache> {
  const cache = await BlockCache.open(
    { dir, maxBytes, maxAgeMs: 3600_000, blockSize: BLOCK, readAheadMaxBytes: 4 * BLOCK, backgroundFetches: 2, warmTail: false, maxResumes: 2 },
    { open: upstream.open },
  );
  caches.push(cache);
  return cache;
}

const addFile = (name: string, size: number) => upstream.addFile(name, size);

/** A cache whose every upstream GET sends its first 1000 bytes, then stalls (a slow or stuck download host). */
async function stallingCache(): Promise<{ cache: BlockCache; upstreams: Readable[] }> {
  const upstreams: Readable[] = [];
  const cache = await BlockCache.open(
    { dir, maxBytes: 1024 * BLOCK, maxAgeMs: 3600_000, blockSize: BLOCK, readAheadMaxBytes: 4 * BLOCK, backgroundFetches: 2, warmTail: false, maxResumes: 2 },
    {
      open: async () => {
        const stalled = new Readable({ read() {} });
        stalled.push(Buffer.alloc(1000, 7));
        upstreams.push(stalled);
        return stalled;
      },
    },
  );
  caches.push(cache);
  return { cache, upstreams };
}

async function read(cache: BlockCache, file: CachedFileRef, start: number, end: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await cache.readWhenReady(file, { start, end })) chunks.push(chunk as Buffer);
  await cache.settle();
  return Buffer.concat(chunks);
}

async function unitFiles(): Promise<{ blocks: string[]; fragments: string[] }> {
  const names = (await readdir(join(dir, 'files'), { recursive: true })).map(String);
  return {
    blocks: names.filter((name) => /(^|\/)\d+\.[0-9a-f]{16}$/.test(name)),
    fragments: names.filter((name) => /(^|\/)\d+\.\d+\+\d+\.[0-9a-f]{16}$/.test(name)),
  };
}

describe('exact reads and fragments', () => {
  it('a small seek fetches exactly its bytes, stores them as a fragment, and its repeat costs nothing', async () => {
    const cache = await openCache();
    const { file, content } = addFile('film.mkv', 40 * BLOCK + 7);
    const start = 17 * BLOCK + 1000;
    const end = start + 16 * 1024 - 1;
    expect((await read(cache, file, start, end)).equals(content.subarray(start, end + 1))).toBe(true);
    expect(upstream.requests).toEqual([{ start, end }]);
    expect(await unitFiles()).toEqual({ blocks: [], fragments: [expect.stringMatching(new RegExp(`(^|/)17\\.1000\\+16384\\.[0-9a-f]{16}$`))] });
    expect(cache.stats().storedBytes).toBe(16 * 1024);
    upstream.requests = [];
    // The repeat, and any read inside the fragment, come from disk.
    expect((await read(cache, file, start, end)).equals(content.subarray(start, end + 1))).toBe(true);
    expect((await read(cache, file, start + 10, start + 20)).equals(content.subarray(start + 10, start + 21))).toBe(true);
    expect(upstream.requests).toEqual([]);
  });

  it('a read across two blocks stores one fragment in each, and the repeat costs nothing', async () => {
    const cache = await openCache();
    const { file, content } = addFile('cross.mp4', 40 * BLOCK);
    const start = 9 * BLOCK - 3000;
    const end = 9 * BLOCK + 5000;
    expect((await read(cache, file, start, end)).equals(content.subarray(start, end + 1))).toBe(true);
    expect(upstream.requests).toEqual([{ start, end }]);
    expect((await unitFiles()).fragments).toHaveLength(2);
    // The cache series count blocks a reader touched, as on the block path: two misses, then two hits.
    expect(cache.stats()).toMatchObject({ misses: 2, hits: 0, upstreamRequests: 1, bytesFetched: end - start + 1, storedBlocks: 2, storedBytes: end - start + 1 });
    upstream.requests = [];
    expect((await read(cache, file, start, end)).equals(content.subarray(start, end + 1))).toBe(true);
    expect(upstream.requests).toEqual([]);
    expect(cache.stats()).toMatchObject({ misses: 2, hits: 2, upstreamRequests: 1, bytesFromCache: end - start + 1 });
  });

  it('a second miss in a block fetches the block whole; its fragments are removed and every read of it is then served from disk', async () => {
    const cache = await openCache();
    const { file, content } = addFile('twice.mkv', 40 * BLOCK);
    const first = 5 * BLOCK + 100_000;
    await read(cache, file, first, first + 999);
    expect((await unitFiles()).fragments).toHaveLength(1);
    upstream.requests = [];
    const other = 5 * BLOCK + 10;
    expect((await read(cache, file, other, other + 999)).equals(content.subarray(other, other + 1000))).toBe(true);
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0]!.start).toBe(5 * BLOCK);
    expect(upstream.requests[0]!.end).toBeGreaterThanOrEqual(6 * BLOCK - 1);
    const files = await unitFiles();
    expect(files.fragments).toEqual([]);
    expect(files.blocks.some((name) => /(^|\/)5\.[0-9a-f]{16}$/.test(name))).toBe(true);
    upstream.requests = [];
    expect((await read(cache, file, first, first + 999)).equals(content.subarray(first, first + 1000))).toBe(true);
    // Block 5 comes from disk (this read follows on the previous one: read-ahead may fetch beyond it).
    expect(upstream.requests.filter((range) => range.start < 6 * BLOCK)).toEqual([]);
  });

  it('fragments survive a restart; one damaged while stopped is caught by its checksum, counted, fetched again', async () => {
    const first = await openCache();
    const { file, content } = addFile('restart.mkv', 40 * BLOCK);
    const ranges = [
      [3 * BLOCK + 500, 3 * BLOCK + 60_000],
      [30 * BLOCK + 7, 30 * BLOCK + 9_000],
    ] as const;
    for (const [start, end] of ranges) await read(first, file, start, end);
    await first.close();
    caches.splice(0);

    const second = await openCache();
    upstream.requests = [];
    for (const [start, end] of ranges) expect((await read(second, file, start, end)).equals(content.subarray(start, end + 1))).toBe(true);
    expect(upstream.requests).toEqual([]);
    await second.close();
    caches.splice(0);

    // Damage the first fragment in place: same size, same name, wrong bytes.
    const victim = (await unitFiles()).fragments.find((name) => /(^|\/)3\.500\+/.test(name));
    expect(victim).toBeDefined();
    const handle = await open(join(dir, 'files', victim!), 'r+');
    await handle.write(Buffer.alloc(1000, 0x5a), 0, 1000, 10);
    await handle.close();

    const third = await openCache();
    upstream.requests = [];
    const [start, end] = ranges[0];
    expect((await read(third, file, start, end)).equals(content.subarray(start, end + 1))).toBe(true);
    expect(third.stats().corruptBlocks).toBe(1);
    expect(upstream.requests).toEqual([{ start, end }]);
    upstream.requests = [];
    expect((await read(third, file, start, end)).equals(content.subarray(start, end + 1))).toBe(true);
    expect(upstream.requests).toEqual([]);
  });

  it('fragments count against the size bound like blocks', async () => {
    const maxBytes = 4 * BLOCK;
    const cache = await openCache(maxBytes);
    const { file, content } = addFile('many.mkv', 200 * BLOCK);
    for (let index = 0; index < 100; index += 1) {
      const start = index * 2 * BLOCK + 1234;
      expect((await read(cache, file, start, start + 32 * 1024 - 1)).equals(content.subarray(start, start + 32 * 1024))).toBe(true);
    }
    expect(cache.stats().storedBytes).toBeLessThanOrEqual(maxBytes);
    expect((await unitFiles()).fragments.length).toBeLessThanOrEqual(maxBytes / (32 * 1024));
  });

  it('a read that continues the previous one goes through whole blocks (sequential readers keep read-ahead)', async () => {
    const cache = await openCache();
    const { file, content } = addFile('seq.bin', 40 * BLOCK);
    const start = 10 * BLOCK + 4096;
    await read(cache, file, start, start + 8191);
    upstream.requests = [];
    expect((await read(cache, file, start + 8192, start + 16_383)).equals(content.subarray(start + 8192, start + 16_384))).toBe(true);
    // Whole blocks from the block's start (block 10 had a fragment: a second miss there), with read-ahead beyond.
    expect(upstream.requests[0]!.start).toBe(10 * BLOCK);
    expect(upstream.requests[0]!.end).toBeGreaterThan(11 * BLOCK - 1);
  });
});

describe('exact reads: restart order, leaving readers, close', () => {
  it('after a restart, fragments and blocks keep one LRU order: an expired fragment goes even when a recent block comes before it', async () => {
    let clock = 10_000_000;
    const settings = { dir, maxBytes: 1024 * BLOCK, maxAgeMs: 3600_000, blockSize: BLOCK, readAheadMaxBytes: 4 * BLOCK, backgroundFetches: 2, warmTail: false, maxResumes: 2 };
    const first = await BlockCache.open(settings, { open: upstream.open, now: () => clock });
    caches.push(first);
    const { file, content } = addFile('order.mkv', 40 * BLOCK);
    const start = 20 * BLOCK + 1000;
    await read(first, file, start, start + 16_383);
    clock += 3000_000;
    // A whole block, used well after the fragment.
    await read(first, file, 3 * BLOCK, 4 * BLOCK - 1);
    expect(await unitFiles()).toEqual({ blocks: [expect.stringMatching(/(^|\/)3\.[0-9a-f]{16}$/)], fragments: [expect.stringMatching(/(^|\/)20\.1000\+16384\./)] });
    await first.close();
    caches.splice(0);

    // Now the fragment is past the age bound (4000 s) and the block is not (1000 s).
    clock += 1000_000;
    const second = await BlockCache.open(settings, { open: upstream.open, now: () => clock });
    caches.push(second);
    await second.settle();
    expect(await unitFiles()).toEqual({ blocks: [expect.stringMatching(/(^|\/)3\.[0-9a-f]{16}$/)], fragments: [] });
    upstream.requests = [];
    expect((await read(second, file, 3 * BLOCK + 5, 3 * BLOCK + 500)).equals(content.subarray(3 * BLOCK + 5, 3 * BLOCK + 501))).toBe(true);
    expect(upstream.requests).toEqual([]);
  });

  it('destroying an exact read stops its upstream GET at once, even while that GET sends nothing', async () => {
    const { cache, upstreams } = await stallingCache();
    const { file } = addFile('stall.mkv', 40 * BLOCK);
    const stream = await cache.readWhenReady(file, { start: 12 * BLOCK + 10, end: 12 * BLOCK + 16_393 });
    const chunk = (await new Promise((resolve) => stream.once('data', resolve))) as Buffer;
    expect(chunk.length).toBe(1000);
    expect(upstreams).toHaveLength(1);
    expect(upstreams[0]!.destroyed).toBe(false);
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(upstreams[0]!.destroyed).toBe(true);
    await closed;
    // What arrived (1000 bytes) is still stored.
    await cache.settle();
    expect((await unitFiles()).fragments).toEqual([expect.stringMatching(/(^|\/)12\.10\+1000\./)]);
  });

  it('close() stops exact reads in progress and stores nothing afterwards', async () => {
    const { cache, upstreams } = await stallingCache();
    const { file } = addFile('closing.mkv', 40 * BLOCK);
    const stream = await cache.readWhenReady(file, { start: 7 * BLOCK + 10, end: 7 * BLOCK + 16_393 });
    stream.on('error', () => {});
    await new Promise((resolve) => stream.once('data', resolve));
    await cache.close();
    expect(upstreams[0]!.destroyed).toBe(true);
    expect(stream.destroyed).toBe(true);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await readdir(join(dir, 'files'), { recursive: true }).then((names) => names.filter((name) => /\+/.test(String(name))))).toEqual([]);
  });

  it('a full disk while fragments are written: pass-through with one notice, every byte exact, no fragment left', async () => {
    const notices: string[] = [];
    const errors: unknown[] = [];
    const cache = await BlockCache.open(
      { dir, maxBytes: 1024 * BLOCK, maxAgeMs: 3600_000, blockSize: BLOCK, readAheadMaxBytes: 4 * BLOCK, backgroundFetches: 2, warmTail: false, maxResumes: 2 },
      { open: upstream.open, onNotice: (message) => notices.push(message), onError: (error) => errors.push(error) },
    );
    caches.push(cache);
    const { file, content } = addFile('full.mkv', 64 * BLOCK);
    // One fragment stored first (the file's folder and meta.json exist), then the disk fills up.
    await read(cache, file, 2 * BLOCK + 77, 2 * BLOCK + 4000);
    const probe = await open(join(dir, 'probe'), 'w');
    const fileHandle = Object.getPrototypeOf(probe) as { writev: (...args: unknown[]) => unknown };
    await probe.close();
    const spy = vi.spyOn(fileHandle, 'writev').mockImplementation(() => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })));
    try {
      const starts = Array.from({ length: 12 }, (_, i) => (4 + i * 5) * BLOCK + 999 * i);
      const got = await Promise.all(starts.map((start) => read(cache, file, start, start + 20_000)));
      got.forEach((bytes, i) => expect(bytes.equals(content.subarray(starts[i]!, starts[i]! + 20_001))).toBe(true));
      await cache.settle();
    } finally {
      spy.mockRestore();
    }
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/is full \(ENOSPC\)/);
    expect(errors).toEqual([]);
    expect(cache.stats().passThrough).toBe(1);
    expect((await unitFiles()).fragments).toHaveLength(1);
  });

  it("aborting the caller's signal ends an exact read that no one has started reading, and its GET", async () => {
    const cache = await openCache();
    const { file } = addFile('aborted.mkv', 40 * BLOCK);
    const caller = new AbortController();
    const stream = await cache.readWhenReady(file, { start: 9 * BLOCK + 5, end: 9 * BLOCK + 20_000 }, caller.signal);
    const closed = new Promise((resolve) => stream.once('close', resolve));
    caller.abort();
    await closed;
    expect(stream.destroyed).toBe(true);
  });

  it('a fragment replaced by its whole block between the plan and the read is read from the block, not fetched again', async () => {
    const cache = await openCache();
    const { file, content } = addFile('replaced.mkv', 40 * BLOCK);
    const start = 5 * BLOCK + 100_000;
    const end = start + 16_383;
    await read(cache, file, start, end);
    expect((await unitFiles()).fragments).toHaveLength(1);
    // A repeat of the read is planned on the fragment, and not read yet...
    const repeat = cache.read(file, { start, end });
    // ...when another read in the block (a second miss) stores the block whole, which removes the fragment.
    await read(cache, file, 5 * BLOCK, 6 * BLOCK - 1);
    expect(await unitFiles()).toEqual({ blocks: [expect.stringMatching(/(^|\/)5\.[0-9a-f]{16}$/)], fragments: [] });
    upstream.requests = [];
    const chunks: Buffer[] = [];
    for await (const chunk of repeat) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(content.subarray(start, end + 1))).toBe(true);
    expect(upstream.requests).toEqual([]);
  });

  it("a new version of a file (same URL, new checksum and size) never gets the old version's fragments, and drops them", async () => {
    const cache = await openCache();
    const { file: v1 } = addFile('swap.mkv', 40 * BLOCK);
    const start = 6 * BLOCK + 3000;
    await read(cache, v1, start, start + 9_999);
    expect((await unitFiles()).fragments).toHaveLength(1);
    const v2content = randomBytes(41 * BLOCK);
    const v2: CachedFileRef = { ...v1, size: v2content.length, checksum: 'sum-swap-2' };
    upstream.contents.set(v2.url, v2content);
    upstream.requests = [];
    expect((await read(cache, v2, start, start + 9_999)).equals(v2content.subarray(start, start + 10_000))).toBe(true);
    expect(upstream.requests).toEqual([{ start, end: start + 9_999 }]);
    // Only the new version's fragment is left.
    expect((await unitFiles()).fragments).toHaveLength(1);
    expect(cache.stats().storedBytes).toBe(10_000);
  });

  it('at start, a fragment file whose name claims bytes beyond its block, or beyond the file, is dropped', async () => {
    const first = await openCache();
    const { file, content } = addFile('claims.mkv', 10 * BLOCK + 500);
    await read(first, file, 4 * BLOCK + 10, 4 * BLOCK + 2009);
    await first.close();
    caches.splice(0);
    const [real] = (await unitFiles()).fragments;
    const folder = join(dir, 'files', real!.split('/')[0]!);
    const sum = real!.split('.').pop()!;
    const bogus = [`4.${BLOCK - 1000}+2000.${sum}`, `10.0+2000.${sum}`, `11.0+2000.${sum}`];
    for (const name of bogus) {
      const handle = await open(join(folder, name), 'w');
      await handle.write(Buffer.alloc(2000, 1));
      await handle.close();
    }
    const second = await openCache();
    await second.settle();
    expect((await unitFiles()).fragments).toEqual([real]);
    upstream.requests = [];
    expect((await read(second, file, 4 * BLOCK + 10, 4 * BLOCK + 2009)).equals(content.subarray(4 * BLOCK + 10, 4 * BLOCK + 2010))).toBe(true);
    expect(upstream.requests).toEqual([]);
    const tail = 10 * BLOCK;
    expect((await read(second, file, tail, tail + 499)).equals(content.subarray(tail, tail + 500))).toBe(true);
  });

  it("one file's share of the cache drops its least recently used units, fragments included, not the blocks a stream just stored", async () => {
    let clock = 1_000_000;
    const cache = await BlockCache.open(
      { dir, maxBytes: 8 * BLOCK, maxAgeMs: 3600_000, blockSize: BLOCK, readAheadMaxBytes: 4 * BLOCK, backgroundFetches: 2, warmTail: false, maxResumes: 2 },
      { open: upstream.open, now: () => clock },
    );
    caches.push(cache);
    const { file, content } = addFile('share.mkv', 40 * BLOCK);
    // 16 probe reads (fragments, 960 000 bytes: under the file's share of 4 blocks)...
    for (let index = 10; index < 26; index += 1) {
      clock += 1000;
      await read(cache, file, index * BLOCK + 1000, index * BLOCK + 60_999);
    }
    expect((await unitFiles()).fragments).toHaveLength(16);
    // ...then, later, two whole blocks: the file goes over its share.
    clock += 1000;
    await read(cache, file, 30 * BLOCK, 32 * BLOCK - 1);
    expect((await unitFiles()).blocks).toHaveLength(2);
    upstream.requests = [];
    clock += 1000;
    expect((await read(cache, file, 30 * BLOCK, 32 * BLOCK - 1)).equals(content.subarray(30 * BLOCK, 32 * BLOCK))).toBe(true);
    expect(upstream.requests).toEqual([]);
  });
});
