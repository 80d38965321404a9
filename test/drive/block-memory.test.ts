/**
 * Blocks in flight in pooled buffers (block-fill.ts over block-memory.ts): readers get copies, a
 * fill gives its buffer back once its last holder lets go (and then reads nothing), a full pool
 * makes fills keep their chunks, and through the whole cache no buffer is left in use.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlockCache } from '../../src/drive/block-cache/block-cache.js';
import { BlockFill } from '../../src/drive/block-cache/block-fill.js';
import { AlignedSlots } from '../../src/drive/block-cache/block-memory.js';
import { FakeUpstream } from './fake-upstream.js';

const BLOCK = 64 * 1024;
const source = { want: () => {} };

function filled(memory: AlignedSlots | undefined, content: Buffer, headBytes = 0): BlockFill {
  const fill = new BlockFill('k', 0, content.length, source, headBytes, memory);
  fill.retain();
  // Main bytes first (a cold seek's own GET), then the head from its background GET.
  for (let at = headBytes; at < content.length; at += 10_000) fill.append(content.subarray(at, Math.min(content.length, at + 10_000)));
  for (let at = 0; at < headBytes; at += 7_000) fill.appendHead(content.subarray(at, Math.min(headBytes, at + 7_000)));
  return fill;
}

function readAll(fill: BlockFill, size: number): Buffer {
  const pieces: Buffer[] = [];
  for (let at = 0; at < size; ) {
    const piece = fill.read(at, 9_000)!;
    pieces.push(piece);
    at += piece.length;
  }
  return Buffer.concat(pieces);
}

describe('BlockFill in a pooled buffer', () => {
  it('copies arriving chunks into the pool, serves copies, and gives the buffer back at the last release', () => {
    const memory = new AlignedSlots(BLOCK, 4 * BLOCK, 4);
    const content = randomBytes(BLOCK);
    const fill = filled(memory, content);
    expect(fill.state).toBe('done');
    expect(fill.pooled).toBeDefined();
    expect(memory.inUse).toBe(1);
    const first = fill.read(0, 1000)!;
    first.fill(0);
    // The reader's piece is its own: scribbling on it changes nothing in the block.
    expect(readAll(fill, BLOCK).equals(content)).toBe(true);
    expect(Buffer.concat(fill.chunks()).equals(content)).toBe(true);
    fill.retain();
    fill.release();
    expect(memory.inUse).toBe(1);
    fill.release();
    expect(memory.inUse).toBe(0);
    expect(fill.read(0, 10)).toBeUndefined();
  });

  it('places a cold seek block (main bytes first, head afterwards) at the right offsets', () => {
    const memory = new AlignedSlots(BLOCK, 4 * BLOCK, 4);
    const content = randomBytes(BLOCK);
    const fill = filled(memory, content, 20_000);
    expect(fill.state).toBe('done');
    expect(fill.pooled).toBeDefined();
    expect(readAll(fill, BLOCK).equals(content)).toBe(true);
    expect(Buffer.concat(fill.chunks()).equals(content)).toBe(true);
  });

  it('keeps the chunks themselves when the pool is empty, counted as a miss, bytes exact', () => {
    const memory = new AlignedSlots(BLOCK, 0, 4);
    const held = Array.from({ length: 4 }, () => memory.tryAcquire());
    const content = randomBytes(BLOCK - 123);
    const fill = filled(memory, content, 1000);
    expect(fill.pooled).toBeUndefined();
    expect(memory.misses).toBe(1);
    expect(readAll(fill, content.length).equals(content)).toBe(true);
    fill.release();
    for (const slot of held) memory.release(slot!);
    expect(memory.inUse).toBe(0);
  });
});

describe('pooled buffers through the cache', () => {
  let dir: string;
  let upstream: FakeUpstream;
  const caches: BlockCache[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fichier-dav-block-memory-'));
    upstream = new FakeUpstream();
  });

  afterEach(async () => {
    await Promise.all(caches.splice(0).map((cache) => cache.close()));
    await rm(dir, { recursive: true, force: true });
  });

  async function openCache(memoryBytes: number, readAheadMaxBytes = 4 * BLOCK, parallelStreams?: number): Promise<BlockCache> {
    const cache = await BlockCache.open(
      { dir, maxBytes: 1024 * BLOCK, maxAgeMs: 3600_000, blockSize: BLOCK, readAheadMaxBytes, backgroundFetches: 2, warmTail: false, maxResumes: 3, parallelStreams },
      { open: upstream.open, onError: (error) => console.error(error), memoryBytes },
    );
    caches.push(cache);
    return cache;
  }

  async function collect(stream: Readable): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  it('a sequential read goes through pooled buffers only, leaves none in use, and its blocks are on disk but not in the page cache', async () => {
    const cache = await openCache(8 * BLOCK);
    const { file, content } = upstream.addFile('film.mkv', 40 * BLOCK + 777);
    expect((await collect(cache.read(file, { start: 0, end: file.size - 1 }))).equals(content)).toBe(true);
    await cache.settle();
    const stats = cache.stats();
    expect(stats.memoryBuffers).toBe(8);
    expect(stats.memoryMisses).toBe(0);
    expect(stats.memoryInUse).toBe(0);
    expect(stats.storedBlocks).toBe(41);
    // Warm: the same bytes from disk, no upstream request.
    const requests = upstream.requests.length;
    expect((await collect(cache.read(file, { start: 0, end: file.size - 1 }))).equals(content)).toBe(true);
    expect(upstream.requests.length).toBe(requests);
    await cache.settle();
    expect(cache.stats().memoryInUse).toBe(0);
  });

  it('blocks written by a cold read are not left in the page cache (O_DIRECT)', async () => {
    const cache = await openCache(8 * BLOCK);
    const { file, content } = upstream.addFile('clip.mp4', 16 * BLOCK);
    expect((await collect(cache.read(file, { start: 0, end: file.size - 1 }))).equals(content)).toBe(true);
    await cache.settle();
    const files = (await readdir(join(dir, 'files'), { recursive: true, withFileTypes: true })).filter((entry) => entry.isFile() && /^\d+\.[0-9a-f]{16}$/.test(entry.name));
    expect(files).toHaveLength(16);
    let resident = 0;
    for (const entry of files) resident += Number(execFileSync('fincore', ['--bytes', '--noheadings', '--raw', '--output', 'RES', join(entry.parentPath, entry.name)], { encoding: 'utf8' }).trim());
    expect(resident).toBe(0);
  });

  it('a stalled reader holding the whole pool: a new reader takes buffers of its blocks already on disk, and both get exact bytes', async () => {
    const cache = await openCache(4 * BLOCK, 16 * BLOCK, 1);
    const slow = upstream.addFile('slow.mkv', 40 * BLOCK);
    const fast = upstream.addFile('fast.mkv', 12 * BLOCK);
    const stalled = cache.read(slow.file, { start: 0, end: slow.file.size - 1 });
    // It reads 8 blocks (its read-ahead window grows as it reads), then stops reading.
    const taken: Buffer[] = [];
    let got = 0;
    while (got < 8 * BLOCK) {
      const chunk = stalled.read() as Buffer | null;
      if (chunk) {
        taken.push(chunk);
        got += chunk.length;
      } else await new Promise((resolve) => stalled.once('readable', resolve));
    }
    const first = Buffer.concat(taken);
    expect(first.equals(slow.content.subarray(0, first.length))).toBe(true);
    // The read-ahead runs on while its reader reads nothing: its blocks are stored and kept for it.
    for (let tries = 0; cache.stats().memoryInUse < 4 && tries < 400; tries += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(cache.stats().memoryInUse).toBe(4);
    expect((await collect(cache.read(fast.file, { start: 0, end: fast.file.size - 1 }))).equals(fast.content)).toBe(true);
    // The stalled reader resumes and still gets every byte (blocks it was let go of come from disk).
    const rest: Buffer[] = [first];
    for await (const chunk of stalled) rest.push(chunk as Buffer);
    expect(Buffer.concat(rest).equals(slow.content)).toBe(true);
    await cache.settle();
    expect(cache.stats().memoryInUse).toBe(0);
  });

  it('background fetches (tail warming, probe warming after a listing) leave no pooled buffer in use', async () => {
    // Before: a transfer with no reader kept its last block for a reader that never came, and its
    // pooled buffer was lost for good. Every media file listed cost two; after 16 the pool was empty.
    const cache = await BlockCache.open(
      { dir, maxBytes: 1024 * BLOCK, maxAgeMs: 3600_000, blockSize: BLOCK, readAheadMaxBytes: 4 * BLOCK, backgroundFetches: 2, warmTail: true, maxResumes: 3 },
      { open: upstream.open, onError: (error) => console.error(error), memoryBytes: 4 * BLOCK },
    );
    caches.push(cache);
    const { file, content } = upstream.addFile('movie.mkv', 30 * BLOCK + 5000);
    expect((await collect(cache.read(file, { start: 0, end: 999 }))).equals(content.subarray(0, 1000))).toBe(true);
    for (let tries = 0; cache.stats().storedBlocks < 2 && tries < 400; tries += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    await cache.settle();
    const requests = upstream.requests.length;
    expect((await collect(cache.read(file, { start: file.size - 100, end: file.size - 1 }))).equals(content.subarray(file.size - 100))).toBe(true);
    // The tail was warmed in the background: no new request.
    expect(upstream.requests.length).toBe(requests);
    await cache.settle();
    expect(cache.stats().memoryInUse).toBe(0);

    const listed = Array.from({ length: 6 }, (_, i) => upstream.addFile(`episode${i}.mkv`, 9 * BLOCK + i * 100));
    cache.warmProbes(listed.map(({ file }) => file));
    for (let tries = 0; cache.stats().storedBlocks < 2 + 12 && tries < 400; tries += 1) await new Promise((resolve) => setTimeout(resolve, 5));
    await cache.settle();
    expect(cache.stats().storedBlocks).toBe(2 + 12);
    expect(cache.stats().memoryInUse).toBe(0);
    // And the pool still serves: a whole read afterwards misses it nowhere.
    const misses = cache.stats().memoryMisses;
    const { file: next, content: nextContent } = upstream.addFile('next.bin', 8 * BLOCK);
    expect((await collect(cache.read(next, { start: 0, end: next.size - 1 }))).equals(nextContent)).toBe(true);
    expect(cache.stats().memoryMisses).toBe(misses);
    for (const { file: episode, content: bytes } of listed) {
      expect((await collect(cache.read(episode, { start: 0, end: 99 }))).equals(bytes.subarray(0, 100))).toBe(true);
    }
  });

  it('many concurrent readers over a pool smaller than their blocks in flight: bytes exact, misses counted, nothing left in use', async () => {
    const cache = await openCache(4 * BLOCK, 8 * BLOCK);
    const files = Array.from({ length: 6 }, (_, i) => upstream.addFile(`f${i}.mkv`, 12 * BLOCK + i * 1000));
    const reads = files.flatMap(({ file, content }) => [
      collect(cache.read(file, { start: 0, end: file.size - 1 })).then((bytes) => bytes.equals(content)),
      collect(cache.read(file, { start: 3 * BLOCK + 17, end: 9 * BLOCK })).then((bytes) => bytes.equals(content.subarray(3 * BLOCK + 17, 9 * BLOCK + 1))),
    ]);
    expect(await Promise.all(reads)).toEqual(reads.map(() => true));
    await cache.settle();
    const stats = cache.stats();
    expect(stats.memoryMisses).toBeGreaterThan(0);
    expect(stats.memoryInUse).toBe(0);
  });
});
