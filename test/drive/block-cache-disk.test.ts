/**
 * The block cache against a disk that lies or fills up (issue 16): a block corrupted in place while
 * the bridge was stopped is caught by its checksum after the restart, dropped, counted and fetched
 * again; a full disk turns the cache into a pass-through with one clear notice, and reads stay exact.
 */
import { mkdtemp, open, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BlockCache } from '../../src/drive/block-cache/block-cache.js';
import { FakeUpstream } from './fake-upstream.js';

const BLOCK = 64 * 1024;

let dir: string;
let upstream: FakeUpstream;
let notices: string[];
let errors: unknown[];
const caches: BlockCache[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fichier-dav-cache-disk-'));
  upstream = new FakeUpstream();
  notices = [];
  errors = [];
});

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(caches.splice(0).map((cache) => cache.close()));
  await rm(dir, { recursive: true, force: true });
});

async function openCache(): Promise<BlockCache> {
  const cache = await BlockCache.open(
    { dir, maxBytes: 1024 * BLOCK, maxAgeMs: 3600_000, blockSize: BLOCK, readAheadMaxBytes: 0, backgroundFetches: 2, warmTail: false, maxResumes: 2 },
    { open: upstream.open, onError: (error) => errors.push(error), onNotice: (message) => notices.push(message) },
  );
  caches.push(cache);
  return cache;
}

const addFile = (name: string, size: number) => upstream.addFile(name, size);

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function blockFiles(): Promise<string[]> {
  return (await readdir(join(dir, 'files'), { recursive: true })).map(String).filter((name) => /(^|\/)\d+\.[0-9a-f]{16}$/.test(name));
}

describe('block integrity after a restart', () => {
  it('drops a block corrupted in place while stopped, counts it, fetches it again and serves the right bytes', async () => {
    const first = await openCache();
    const { file, content } = addFile('film.mkv', 3 * BLOCK);
    expect((await collect(first.read(file, { start: 0, end: file.size - 1 }))).equals(content)).toBe(true);
    await first.close();
    caches.splice(0);

    // Overwrite most of block 1 in place: same size, same name, wrong bytes.
    const [victim] = (await blockFiles()).filter((name) => /(^|\/)1\.[0-9a-f]{16}$/.test(name));
    expect(victim).toBeDefined();
    const handle = await open(join(dir, 'files', victim!), 'r+');
    await handle.write(Buffer.alloc(BLOCK - 100, 0x5a), 0, BLOCK - 100, 50);
    await handle.close();

    const second = await openCache();
    expect(second.stats().storedBlocks).toBe(3);
    upstream.requests = [];
    const got = await collect(second.read(file, { start: 0, end: file.size - 1 }));
    expect(got.equals(content)).toBe(true);
    expect(second.stats().corruptBlocks).toBe(1);
    // Only the corrupt block went upstream again.
    expect(upstream.requests).toEqual([{ start: BLOCK, end: 2 * BLOCK - 1 }]);
    await second.settle();
    // Refetched and stored again, verified: a third read costs nothing.
    upstream.requests = [];
    expect((await collect(second.read(file, { start: BLOCK, end: 2 * BLOCK - 1 }))).equals(content.subarray(BLOCK, 2 * BLOCK))).toBe(true);
    expect(upstream.requests).toEqual([]);
    expect(second.stats().corruptBlocks).toBe(1);
  });

  it('serves intact blocks after a restart without going upstream', async () => {
    const first = await openCache();
    const { file, content } = addFile('intact.bin', 2 * BLOCK + 5);
    await collect(first.read(file, { start: 0, end: file.size - 1 }));
    await first.close();
    caches.splice(0);
    const second = await openCache();
    upstream.requests = [];
    expect((await collect(second.read(file, { start: 10, end: file.size - 1 }))).equals(content.subarray(10))).toBe(true);
    expect(upstream.requests).toEqual([]);
    expect(second.stats().corruptBlocks).toBe(0);
  });
});

describe('a full disk', () => {
  it('turns the cache into a pass-through with one notice, every read exact, nothing stored', async () => {
    const cache = await openCache();
    const { file, content } = addFile('full.mp4', 4 * BLOCK);
    // The disk fills up: every write of the cache directory fails with ENOSPC from now on.
    const probe = await open(join(dir, 'probe'), 'w');
    const fileHandle = Object.getPrototypeOf(probe) as { write: (...args: unknown[]) => unknown; writeFile: (...args: unknown[]) => unknown };
    await probe.close();
    const full = () => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
    vi.spyOn(fileHandle, 'write').mockImplementation(full);
    vi.spyOn(fileHandle, 'writeFile').mockImplementation(full);

    for (let pass = 0; pass < 3; pass += 1) {
      const before = upstream.requests.length;
      const got = await collect(cache.read(file, { start: 100, end: file.size - 1 }));
      expect(got.equals(content.subarray(100))).toBe(true);
      await cache.settle();
      // Pass-through: bytes come from upstream (blocks still in memory may serve part of a read),
      // at most one GET per block.
      expect(upstream.requests.length - before).toBeLessThanOrEqual(4);
    }
    expect(upstream.requests.length).toBeGreaterThanOrEqual(3);
    expect(cache.stats().storedBlocks).toBe(0);
    expect(cache.stats().passThrough).toBe(1);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatch(/disk .* is full \(ENOSPC\); reads now go straight to 1fichier/);
    expect(errors).toEqual([]);
    expect(await blockFiles()).toEqual([]);
  });

  it('a save of the index that fails on a full disk leaves no temporary file behind, and a restart removes those a kill left', async () => {
    const cache = await openCache();
    const { file, content } = addFile('saved.mp4', 3 * BLOCK + 5);
    expect((await collect(cache.read(file, { start: 0, end: file.size - 1 }))).equals(content)).toBe(true);
    await cache.settle();
    // The disk fills up; reads served from the cache keep touching blocks, so the index is saved again.
    const probe = await open(join(dir, 'probe'), 'w');
    const fileHandle = Object.getPrototypeOf(probe) as { writeFile: (...args: unknown[]) => unknown };
    await probe.close();
    await rm(join(dir, 'probe'));
    const spy = vi.spyOn(fileHandle, 'writeFile').mockImplementation(() => Promise.reject(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })));
    for (let pass = 0; pass < 3; pass += 1) {
      expect((await collect(cache.read(file, { start: 0, end: file.size - 1 }))).equals(content)).toBe(true);
      await cache.settle();
    }
    expect(spy).toHaveBeenCalled();
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    spy.mockRestore();
    await cache.close();
    caches.splice(caches.indexOf(cache), 1);

    // What a kill between writing the temporary index and renaming it leaves: removed at start.
    await writeFile(join(dir, 'index.json.0123abcd.tmp'), '{"version":1');
    const again = await openCache();
    expect((await readdir(dir)).filter((name) => name.endsWith('.tmp'))).toEqual([]);
    expect((await collect(again.read(file, { start: 0, end: file.size - 1 }))).equals(content)).toBe(true);
  });
});
