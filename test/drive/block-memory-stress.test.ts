/**
 * The read cache's pooled block buffers (block-memory.ts, block-fill.ts) under attack: a pool of a
 * few slots, reused constantly by concurrent, aborted, seeking, slow and failing readers. Every
 * byte is compared with the source, and once the cache settles no slot may still be in use (a
 * leaked slot, or one given to two fills, shows up here as wrong bytes or a non-zero count).
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlockCache } from '../../src/drive/block-cache/block-cache.js';
import { BlockFill } from '../../src/drive/block-cache/block-fill.js';
import { AlignedSlots } from '../../src/drive/block-cache/block-memory.js';
import type { CachedFileRef } from '../../src/drive/block-cache/file-key.js';
import type { BlockCacheSettings } from '../../src/drive/block-cache/options.js';
import { collect, GatedUpstream } from './gated-upstream.js';

const BLOCK = 64 * 1024;

let dir: string;
let upstream: GatedUpstream;
const caches: BlockCache[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fichier-dav-memstress-'));
  upstream = new GatedUpstream(40 * 1024);
});

afterEach(async () => {
  upstream.gated = false;
  upstream.delayMs = 0;
  upstream.allow(Number.MAX_SAFE_INTEGER);
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
  await rm(dir, { recursive: true, force: true });
});

async function openCache(settings: Partial<BlockCacheSettings> = {}, memoryBlocks = 4): Promise<BlockCache> {
  const blockSize = settings.blockSize ?? BLOCK;
  const cache = await BlockCache.open(
    {
      dir,
      maxBytes: 1024 * BLOCK,
      maxAgeMs: 3600_000,
      blockSize: BLOCK,
      readAheadMaxBytes: 0,
      backgroundFetches: 2,
      warmTail: false,
      maxResumes: 2,
      parallelStreams: 1,
      ...settings,
    },
    { open: upstream.open, onError: () => {}, memoryBytes: memoryBlocks * blockSize },
  );
  caches.push(cache);
  return cache;
}

function addFile(name: string, size: number, checksum?: string): { file: CachedFileRef; content: Buffer } {
  return upstream.addFile(name, size, checksum);
}

/** MEMSTRESS_SEED=<n> shifts every seed (to shake out other interleavings locally). */
const SEED_SHIFT = Number(process.env.MEMSTRESS_SEED ?? 0);

function prng(seed: number): (n: number) => number {
  seed += SEED_SHIFT;
  return (n) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
}

/** Reads [start, end], optionally stopping (client disconnect) after `stopAfter` bytes or pausing between pieces; checks every byte. */
async function readChecked(
  cache: BlockCache,
  { file, content }: { file: CachedFileRef; content: Buffer },
  start: number,
  end: number,
  options: { stopAfter?: number; pauseMs?: number } = {},
): Promise<number> {
  const controller = new AbortController();
  const stream = cache.read(file, { start, end }, controller.signal);
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    received += (chunk as Buffer).length;
    if (options.stopAfter !== undefined && received >= options.stopAfter) {
      controller.abort();
      stream.destroy();
      break;
    }
    if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
  }
  const got = Buffer.concat(chunks);
  const label = `${file.name} ${start}-${end}`;
  expect(got.equals(content.subarray(start, start + got.length)), label).toBe(true);
  if (options.stopAfter === undefined) expect(got.length, label).toBe(end - start + 1);
  return got.length;
}

/** Settled: no transfer, no write, and no pooled slot still in use. */
async function expectNoSlotHeld(cache: BlockCache): Promise<void> {
  await cache.settle();
  const stats = cache.stats();
  expect(stats.memoryInUse).toBe(0);
}

describe('pooled block buffers: slot lifecycle', () => {
  it('a fill gives its slot back at its last release, reads nothing after, and hands out copies', () => {
    const pool = new AlignedSlots(BLOCK, 4 * BLOCK, 4);
    const fill = new BlockFill('k', 0, BLOCK, { want: () => {} }, 0, pool);
    fill.retain();
    fill.retain();
    const bytes = randomBytes(BLOCK);
    fill.append(bytes.subarray(0, 1000));
    expect(pool.inUse).toBe(1);
    const piece = fill.read(0, 1000)!;
    expect(piece.equals(bytes.subarray(0, 1000))).toBe(true);
    fill.append(bytes.subarray(1000));
    expect(fill.state).toBe('done');
    fill.release();
    expect(pool.inUse).toBe(1);
    fill.release();
    expect(pool.inUse).toBe(0);
    expect(fill.read(0, 10)).toBeUndefined();
    // The slot goes to the next fill; the copy handed out before is not overwritten.
    const other = new BlockFill('k', 1, BLOCK, { want: () => {} }, 0, pool);
    other.retain();
    other.append(Buffer.alloc(BLOCK, 0xaa));
    expect(piece.equals(bytes.subarray(0, 1000))).toBe(true);
    // An extra release (a holder letting go twice) must not give the slot back while another holds it.
    other.retain();
    other.release();
    expect(pool.inUse).toBe(1);
    other.release();
    expect(pool.inUse).toBe(0);
    other.release();
    expect(pool.inUse).toBe(0);
  });

  it('an unstored block kept in memory leaves its slot (unpool) and still reads exactly, head and main', () => {
    const pool = new AlignedSlots(BLOCK, 4 * BLOCK, 4);
    const bytes = randomBytes(BLOCK - 100);
    const fill = new BlockFill('k', 3, bytes.length, { want: () => {} }, 5000, pool);
    fill.retain();
    fill.append(bytes.subarray(5000, 30000));
    fill.appendHead(bytes.subarray(0, 5000));
    fill.append(bytes.subarray(30000));
    expect(fill.state).toBe('done');
    expect(pool.inUse).toBe(1);
    fill.unpool();
    expect(pool.inUse).toBe(0);
    // The slot is reused at once: the kept block's bytes must not change.
    const other = new BlockFill('k', 4, BLOCK, { want: () => {} }, 0, pool);
    other.retain();
    other.append(Buffer.alloc(BLOCK, 0x55));
    expect(Buffer.concat(fill.chunks()).equals(bytes)).toBe(true);
    for (const offset of [0, 4999, 5000, 29999, 30000, bytes.length - 1]) {
      expect(fill.read(offset, 1 << 20)!.equals(bytes.subarray(offset, offset < 5000 ? 5000 : bytes.length)), `at ${offset}`).toBe(true);
    }
    fill.release();
    expect(pool.inUse).toBe(1);
    other.release();
    expect(pool.inUse).toBe(0);
  });

  it('many concurrent sequential, random and open-ended readers, some disconnecting mid-stream, over a 4-slot pool: exact bytes, no slot left', async () => {
    const cache = await openCache({ readAheadMaxBytes: 4 * BLOCK, maxBytes: 16 * BLOCK }, 4);
    const files = [addFile('a.mkv', 30 * BLOCK + 777), addFile('b.bin', 12 * BLOCK), addFile('c.mp4', 2 * BLOCK + 5)];
    const random = prng(4242);
    const cursors = files.map(() => 0);
    for (let round = 0; round < 25; round += 1) {
      const batch: Array<Promise<number>> = [];
      for (let lane = 0; lane < 8; lane += 1) {
        const which = random(files.length);
        const target = files[which];
        const size = target.file.size;
        const kind = random(4);
        let start: number;
        let end: number;
        if (kind === 0) {
          start = random(size);
          end = Math.min(size - 1, start + random(4 * BLOCK));
        } else if (kind === 1) {
          start = cursors[which] % size;
          end = Math.min(size - 1, start + BLOCK + random(BLOCK));
          cursors[which] = end + 1;
        } else {
          start = random(size);
          end = size - 1;
        }
        const stopAfter = kind === 3 || random(4) === 0 ? 1 + random(2 * BLOCK) : undefined;
        batch.push(readChecked(cache, target, start, end, { stopAfter }));
      }
      await Promise.all(batch);
    }
    await expectNoSlotHeld(cache);
    expect(cache.stats().memoryBuffers).toBe(4);
    // Everything stored is right: read each file whole again.
    for (const target of files) await readChecked(cache, target, 0, target.file.size - 1);
    await expectNoSlotHeld(cache);
  }, 60_000);

  it('cold seeks into the middle of blocks (head fetched by a second GET) on several files at once: exact bytes, blocks stored whole, no slot left', async () => {
    // A GET starts at the seek's byte only when it lands at least 64 KiB into a block (cached-read.ts
    // SEEK_INTO_BLOCK): blocks of 256 KiB here, still a pool of 4.
    const big = 4 * BLOCK;
    const cache = await openCache({ blockSize: big, readAheadMaxBytes: 2 * big, maxBytes: 256 * big }, 4);
    const files = Array.from({ length: 6 }, (_, n) => addFile(`seek${n}.mkv`, 8 * big + 321));
    const random = prng(99);
    const seeks = files.map((target) => {
      const start = (2 + random(5)) * big + BLOCK + 1 + random(big - BLOCK - 2);
      // Open-ended (a player's seek): a small closed read elsewhere would be fetched exactly, as a fragment.
      return { target, start };
    });
    await Promise.all(seeks.map(({ target, start }) => readChecked(cache, target, start, target.file.size - 1)));
    await expectNoSlotHeld(cache);
    // A head GET was made for each seek (it starts at the block's first byte and ends just before the seek).
    for (const { target, start } of seeks) {
      const head = upstream.transfers.find((t) => t.start === start - (start % big) && t.end === start - 1);
      expect(head, target.file.name).toBeDefined();
    }
    // The seeked blocks were stored whole and right: read again from disk only.
    const before = upstream.transfers.length;
    for (const { target, start } of seeks) {
      const blockStart = start - (start % big);
      await readChecked(cache, target, blockStart, target.file.size - 1);
    }
    expect(upstream.transfers.length).toBe(before);
    await expectNoSlotHeld(cache);
  }, 60_000);

  it('a cold seek whose reader disconnects while the head is still coming, over and over: exact bytes, no slot left', async () => {
    const big = 4 * BLOCK;
    const cache = await openCache({ blockSize: big, readAheadMaxBytes: 4 * big, maxBytes: 256 * big }, 4);
    const files = Array.from({ length: 5 }, (_, n) => addFile(`cut${n}.mkv`, 10 * big));
    const random = prng(7);
    for (let round = 0; round < 6; round += 1) {
      await Promise.all(
        files.map((target) => {
          const start = random(9) * big + BLOCK + random(big - BLOCK);
          return readChecked(cache, target, start, target.file.size - 1, { stopAfter: 1 + random(2 * big) });
        }),
      );
    }
    await expectNoSlotHeld(cache);
    for (const target of files) await readChecked(cache, target, 0, target.file.size - 1);
    await expectNoSlotHeld(cache);
  }, 60_000);

  it('cold seeks whose head GET breaks: the reader still gets exact bytes, the block is not stored, no slot left', async () => {
    const big = 4 * BLOCK;
    const cache = await openCache({ blockSize: big, readAheadMaxBytes: 2 * big, maxBytes: 256 * big }, 4);
    const files = Array.from({ length: 5 }, (_, n) => addFile(`headless${n}.mkv`, 6 * big + 77));
    upstream.failBackgroundAfter = 20_000;
    const random = prng(555);
    const seeks = files.map((target) => ({ target, start: (1 + random(4)) * big + BLOCK + 1 + random(big - BLOCK - 2) }));
    await Promise.all(seeks.map(({ target, start }) => readChecked(cache, target, start, target.file.size - 1)));
    await expectNoSlotHeld(cache);
    // Every seek's head GET was made and broke before the seek's byte.
    for (const { target, start } of seeks) {
      const blockStart = start - (start % big);
      const heads = upstream.transfers.filter((t) => t.priority === 'background' && t.start >= blockStart && t.end === start - 1);
      expect(heads.length, target.file.name).toBeGreaterThan(0);
      expect(heads.every((t) => t.sent <= 20_000)).toBe(true);
    }
    upstream.failBackgroundAfter = undefined;
    for (const target of files) await readChecked(cache, target, 0, target.file.size - 1);
    await expectNoSlotHeld(cache);
  }, 60_000);

  it('readers that stall (never read on) and are destroyed later hold kept blocks meanwhile, never beyond: exact bytes for the others, no slot left', async () => {
    const cache = await openCache({ readAheadMaxBytes: 6 * BLOCK }, 4);
    const stalled = Array.from({ length: 3 }, (_, n) => addFile(`stall${n}.mkv`, 30 * BLOCK));
    const busy = addFile('busy.mkv', 30 * BLOCK + 9);
    const streams = stalled.map((target) => cache.read(target.file, { start: 0, end: target.file.size - 1 }));
    const firsts = await Promise.all(streams.map((stream) => new Promise<Buffer>((resolve) => stream.once('data', resolve))));
    streams.forEach((stream) => stream.pause());
    firsts.forEach((first, n) => expect(first.equals(stalled[n].content.subarray(0, first.length))).toBe(true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    await readChecked(cache, busy, 0, busy.file.size - 1);
    await readChecked(cache, busy, 3 * BLOCK + 5, busy.file.size - 1);
    for (const stream of streams) stream.destroy();
    await expectNoSlotHeld(cache);
    for (const target of stalled) await readChecked(cache, target, 0, target.file.size - 1);
    await expectNoSlotHeld(cache);
  }, 60_000);

  it('closing the cache with fills half done in every slot gives every slot back and ends every reader', async () => {
    const cache = await openCache({ readAheadMaxBytes: 4 * BLOCK }, 4);
    const files = Array.from({ length: 6 }, (_, n) => addFile(`closing${n}.mkv`, 10 * BLOCK));
    upstream.gated = true;
    const reads = files.map((target) => collect(cache.read(target.file, { start: 0, end: target.file.size - 1 })).then(() => 'complete', () => 'ended'));
    for (let step = 0; step < 100 && cache.stats().memoryInUse < 4; step += 1) {
      upstream.allow(24 * 1024);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(cache.stats().memoryInUse).toBe(4);
    caches.splice(caches.indexOf(cache), 1);
    await cache.close();
    expect(cache.stats().memoryInUse).toBe(0);
    upstream.allow(Number.MAX_SAFE_INTEGER);
    expect(await Promise.all(reads)).toEqual(files.map(() => 'ended'));
  }, 60_000);

  it('a reader slower than upstream with read-ahead keeps its blocks while other readers churn the pool: exact bytes, no slot left', async () => {
    const cache = await openCache({ readAheadMaxBytes: 6 * BLOCK }, 5);
    const slow = addFile('slow.mkv', 24 * BLOCK + 99);
    const others = [addFile('o1.bin', 20 * BLOCK), addFile('o2.bin', 20 * BLOCK + 1)];
    const random = prng(31337);
    const slowRead = readChecked(cache, slow, 0, slow.file.size - 1, { pauseMs: 2 });
    const churn = (async () => {
      for (let round = 0; round < 30; round += 1) {
        const target = others[random(others.length)];
        const start = random(target.file.size);
        const end = random(2) === 0 ? target.file.size - 1 : Math.min(target.file.size - 1, start + random(3 * BLOCK));
        await Promise.all([
          readChecked(cache, target, start, end, { stopAfter: random(3) === 0 ? 1 + random(BLOCK) : undefined }),
          readChecked(cache, slow, random(slow.file.size), slow.file.size - 1, { stopAfter: 1 + random(BLOCK) }),
        ]);
      }
    })();
    await Promise.all([slowRead, churn]);
    await expectNoSlotHeld(cache);
    expect((await collect(cache.read(slow.file, { start: 0, end: slow.file.size - 1 }))).equals(slow.content)).toBe(true);
    await expectNoSlotHeld(cache);
  }, 60_000);

  it('more transfers than slots: fills fall back to keeping chunks, bytes exact, misses counted, no slot left', async () => {
    const cache = await openCache({ readAheadMaxBytes: 2 * BLOCK }, 4);
    const files = Array.from({ length: 10 }, (_, n) => addFile(`many${n}.bin`, 6 * BLOCK + 13 * n));
    upstream.gated = true;
    const reads = files.map((target) => readChecked(cache, target, 0, target.file.size - 1));
    // Let a few bytes through to every transfer so each fill asks the pool for a slot while all are taken.
    for (let step = 0; step < 200 && upstream.transfers.length < files.length; step += 1) {
      upstream.allow(8 * 1024);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    upstream.gated = false;
    upstream.allow(Number.MAX_SAFE_INTEGER);
    await Promise.all(reads);
    await expectNoSlotHeld(cache);
    expect(cache.stats().memoryMisses).toBeGreaterThan(0);
    const before = upstream.transfers.length;
    for (const target of files) await readChecked(cache, target, 0, target.file.size - 1);
    expect(upstream.transfers.length).toBe(before);
  }, 60_000);

  it('an upstream that breaks mid-block: the reader gets an error (not a hang), bytes before it exact, no slot left; the block is fetched again later', async () => {
    const cache = await openCache({ readAheadMaxBytes: 4 * BLOCK }, 4);
    const target = addFile('broken.mkv', 10 * BLOCK);
    const other = addFile('fine.mkv', 10 * BLOCK);
    upstream.failAt.set(target.file.url, 3 * BLOCK + 12345);
    const controller = new AbortController();
    const chunks: Buffer[] = [];
    const broken = (async () => {
      for await (const chunk of cache.read(target.file, { start: 100, end: target.file.size - 1 }, controller.signal)) chunks.push(chunk as Buffer);
    })();
    // A second reader of the same blocks shares the failing transfer.
    const second = collect(cache.read(target.file, { start: 2 * BLOCK, end: 4 * BLOCK }));
    const fine = readChecked(cache, other, 0, other.file.size - 1);
    await expect(broken).rejects.toThrow();
    await expect(second).rejects.toThrow();
    await fine;
    const got = Buffer.concat(chunks);
    expect(got.length).toBeLessThanOrEqual(3 * BLOCK + 12345 - 100);
    expect(got.equals(target.content.subarray(100, 100 + got.length))).toBe(true);
    await expectNoSlotHeld(cache);
    upstream.failAt.delete(target.file.url);
    await readChecked(cache, target, 0, target.file.size - 1);
    await expectNoSlotHeld(cache);
  }, 60_000);

  it('blocks that cannot be stored (the store has no folder to write to) are served exactly and give their slots back', async () => {
    const cache = await openCache({ readAheadMaxBytes: 4 * BLOCK }, 4);
    // The store's folder of files replaced by a plain file: every block write fails (ENOTDIR), even as root.
    await rm(join(dir, 'files'), { recursive: true, force: true });
    await writeFile(join(dir, 'files'), 'not a folder');
    const files = [addFile('u1.mkv', 8 * BLOCK + 1), addFile('u2.mkv', 8 * BLOCK + 2)];
    await Promise.all(files.map((target) => readChecked(cache, target, 0, target.file.size - 1)));
    await Promise.all(files.map((target) => readChecked(cache, target, BLOCK + 7, target.file.size - 1, { stopAfter: BLOCK })));
    await cache.settle();
    expect(cache.stats().storedBlocks).toBe(0);
    // A block nobody will read again must not pin a pooled slot (the pool is the fast path for every other read).
    await expectNoSlotHeld(cache);
    // The blocks still kept in memory (unstored) serve a repeat exactly, while new transfers get pooled slots again.
    await Promise.all(files.map((target) => readChecked(cache, target, 0, target.file.size - 1)));
    const third = addFile('u3.mkv', 8 * BLOCK + 3);
    await readChecked(cache, third, 0, third.file.size - 1);
    await expectNoSlotHeld(cache);
  }, 60_000);

  it('parallel streams (one connection slower than the reader) at unit level: exact bytes, no slot left', async () => {
    // Lane trials judge intervals of 1 MiB and at least 250 ms (lane-trials.ts): a 10 MiB file over
    // connections capped at about 3 MB/s each.
    const cache = await openCache({ readAheadMaxBytes: 32 * BLOCK, parallelStreams: 4, maxBytes: 4096 * BLOCK }, 6);
    const target = addFile('lanes.mkv', 160 * BLOCK + 4321);
    upstream.delayMs = 5;
    upstream.chunkSize = 16 * 1024;
    await readChecked(cache, target, 0, target.file.size - 1);
    // The reader outran one connection: a second lane was tried (chunk transfers, which forget their
    // blocks at once, ran for it; the fake's per-GET delay keeps the trial from paying off, which is fine here).
    expect(cache.stats().parallelTrials).toBeGreaterThan(0);
    await expectNoSlotHeld(cache);
    // Lanes again, with the reader leaving mid-way.
    const second = addFile('lanes2.mkv', 160 * BLOCK);
    await readChecked(cache, second, 5 * BLOCK + 3, second.file.size - 1, { stopAfter: 100 * BLOCK });
    await expectNoSlotHeld(cache);
    const before = upstream.transfers.length;
    await readChecked(cache, target, 0, target.file.size - 1);
    expect(upstream.transfers.length).toBe(before);
  }, 60_000);
});
