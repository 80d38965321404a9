/**
 * kill -9 of a bridge while its read cache writes blocks, then a restart on the same cache
 * directory: every byte served afterwards is the file's, whatever the crash left on disk.
 *
 * The block size is odd (65537 bytes, not a multiple of 4 KiB), so every whole block is written
 * with O_DIRECT padded to 4 KiB and then truncated back to its size: a kill between the two leaves
 * a padded file under a name that carries the checksum of the real bytes. The second test makes
 * that residue (and a torn block of the right size) by hand, deterministically, and checks the
 * restarted bridge drops it and never serves the pad.
 *
 * The bridge runs as the real CLI in a child process; the simulator stays in this process.
 * Seeded: set READ_CACHE_CRASH_SEED to replay a run (the seed is printed on failure).
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { serveCli, type ServedBridge } from './served-bridge.js';
import { readBody, streamToBuffer, random } from './helpers.js';

const KEY = 'read-cache-crash-key-0123456789';
const SEED = Number(process.env.READ_CACHE_CRASH_SEED ?? Date.now() % 100_000);
const BLOCK = 65537;
const ROUNDS = 6;

interface TestFile {
  name: string;
  size: number;
  url?: string;
  bytes?: Buffer;
}

// Sizes: not multiples of the block nor of 4 KiB, exact multiples of 4 KiB, one block and a byte, tiny, empty.
const FILES: TestFile[] = [
  { name: 'film.mkv', size: 40 * BLOCK + 1234 },
  { name: 'pages.bin', size: 4096 * 70 },
  { name: 'edge.bin', size: BLOCK + 1 },
  { name: 'small.bin', size: 4097 },
  { name: 'one.bin', size: 1 },
  { name: 'empty.bin', size: 0 },
];

let sim: Simulator;
let dir: string;
let cacheDir: string;
let bridge: ServedBridge | undefined;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY, timeScale: 0.01 });
  dir = await mkdtemp(join(tmpdir(), 'fichier-dav-read-crash-'));
  cacheDir = join(dir, 'cache');
  for (const [at, file] of FILES.entries()) {
    file.url = await sim.addFile({ name: file.name, synthetic: { size: file.size, seed: 100 + at } });
    file.bytes = await streamToBuffer(sim.contentOf(file.url));
  }
});

afterAll(async () => {
  await bridge?.stop();
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function serve(): Promise<ServedBridge> {
  return serveCli(sim, join(dir, 'state'), dir, ['--cache-dir', cacheDir, '--cache-block-size', String(BLOCK)]);
}

/** Every block file under the cache with its size and its block's size (they differ: a crash residue). */
function blockFiles(): Array<{ path: string; name: string; size: number; expected: number }> {
  const files = join(cacheDir, 'files');
  const found: Array<{ path: string; name: string; size: number; expected: number }> = [];
  let keys: string[] = [];
  try {
    keys = readdirSync(files);
  } catch {
    return found;
  }
  for (const key of keys) {
    let fileSize: number;
    try {
      fileSize = (JSON.parse(readFileSync(join(files, key, 'meta.json'), 'utf8')) as { size: number }).size;
    } catch {
      continue;
    }
    for (const name of readdirSync(join(files, key))) {
      if (name === 'meta.json' || !/^\d+\.[0-9a-f]{16}$/.test(name)) continue;
      const path = join(files, key, name);
      const index = Number(name.split('.')[0]);
      found.push({ path, name, size: statSync(path).size, expected: Math.min(BLOCK, fileSize - index * BLOCK) });
    }
  }
  return found;
}

async function get(base: string, file: TestFile, range?: [number, number]): Promise<{ status: number; body: Buffer }> {
  const response = await fetch(`${base}/${file.name}`, range ? { headers: { Range: `bytes=${range[0]}-${range[1]}` } } : {});
  return { status: response.status, body: await readBody(response) };
}

/** Every file whole and a few ranges of each: byte for byte the simulator's content. */
async function checkAll(base: string, next: () => number): Promise<void> {
  for (const file of FILES) {
    const whole = await get(base, file);
    expect(whole.status, file.name).toBe(200);
    expect(whole.body.length, file.name).toBe(file.size);
    expect(whole.body.equals(file.bytes!), `${file.name} whole`).toBe(true);
    if (file.size === 0) continue;
    for (let i = 0; i < 3; i += 1) {
      const start = Math.floor(next() * file.size);
      const end = Math.min(file.size - 1, start + Math.floor(next() * 3 * BLOCK));
      const part = await get(base, file, [start, end]);
      expect(part.status, `${file.name} ${start}-${end}`).toBe(206);
      expect(part.body.equals(file.bytes!.subarray(start, end + 1)), `${file.name} ${start}-${end}`).toBe(true);
    }
  }
}

describe('read cache: kill -9 while blocks are written, restart on the same cache directory', () => {
  it('serves exact bytes after each of several kills mid-read, and no crash residue survives the restart', async () => {
    const next = random(SEED);
    const outcomes: string[] = [];
    try {
      for (let round = 0; round < ROUNDS; round += 1) {
        // Every round starts cold, so the kill always finds blocks being written; the restart then
        // loads what the kill left (and, from round 1 on, nothing the clean stop before it wrote).
        await rm(join(cacheDir, 'files'), { recursive: true, force: true });
        bridge = await serve();
        const base = bridge.url;
        // Several readers at once: whole files, open-ended seeks, small ranges; each may be cut by the kill.
        let answered!: () => void;
        const firstAnswer = new Promise<void>((resolve) => (answered = resolve));
        const reads = FILES.filter((file) => file.size > 0).flatMap((file) => {
          const start = Math.floor(next() * file.size);
          return [fetch(`${base}/${file.name}`), fetch(`${base}/${file.name}`, { headers: { Range: `bytes=${start}-` } })].map((response) =>
            response.then((answer) => {
              answered();
              return readBody(answer);
            }),
          );
        });
        const settled = Promise.allSettled(reads);
        // Killed once the bridge answers and has written a random number of block files (its
        // transfers and block writes under way), or when its reads are over.
        await firstAnswer;
        const target = 1 + Math.floor(next() * 40);
        let over = false;
        void settled.then(() => (over = true));
        while (!over && blockFiles().length < target) await new Promise((resolve) => setTimeout(resolve, 1));
        await bridge.kill9();
        bridge = undefined;
        await settled;
        const left = blockFiles();
        const padded = left.filter((file) => file.size > file.expected).length;
        const short = left.filter((file) => file.size < file.expected).length;
        outcomes.push(`r${round}:${left.length} blocks, ${padded} padded, ${short} short`);

        bridge = await serve();
        await checkAll(bridge.url, next);
        await bridge.stop();
        bridge = undefined;
        // After a clean stop every block file left has its block's exact size (nothing padded, nothing torn kept).
        for (const file of blockFiles()) expect(file.size, file.path).toBe(file.expected);
      }
      console.log(`read-cache-crash seed ${SEED}: ${outcomes.join(' ')}`);
    } catch (error) {
      console.log(`read-cache-crash seed ${SEED}: ${outcomes.join(' ')}`);
      throw error;
    }
  }, 120_000);

  it('a block left padded to 4 KiB (killed before its truncate) and a torn block of the right size are dropped at restart, never served', async () => {
    const film = FILES[0];
    bridge = await serve();
    const first = await get(bridge.url, film);
    expect(first.body.equals(film.bytes!)).toBe(true);
    await bridge.stop();
    bridge = undefined;

    const blocks = blockFiles()
      .filter((file) => file.size === BLOCK)
      .sort((a, b) => Number(a.name.split('.')[0]) - Number(b.name.split('.')[0]));
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    // Block A: what a kill between the O_DIRECT write and its truncate leaves: the right bytes, then the zero pad.
    const padded = blocks[1];
    await appendFile(padded.path, Buffer.alloc(Math.ceil(BLOCK / 4096) * 4096 - BLOCK));
    // Block B: the right size, but its bytes never reached the disk (zeros), under the right checksum name.
    const torn = blocks[2];
    await writeFile(torn.path, Buffer.alloc(BLOCK));

    bridge = await serve();
    const again = await get(bridge.url, film);
    expect(again.body.length).toBe(film.size);
    expect(again.body.equals(film.bytes!)).toBe(true);
    const paddedIndex = Number(padded.name.split('.')[0]);
    const part = await get(bridge.url, film, [paddedIndex * BLOCK + BLOCK - 10, paddedIndex * BLOCK + BLOCK + 10]);
    expect(part.body.equals(film.bytes!.subarray(paddedIndex * BLOCK + BLOCK - 10, paddedIndex * BLOCK + BLOCK + 11))).toBe(true);
    await bridge.stop();
    bridge = undefined;
    // Both were fetched again and stored with their exact size.
    for (const file of blockFiles()) expect(file.size, file.path).toBe(file.expected);
    const info = await stat(torn.path).catch(() => undefined);
    if (info) expect(info.size).toBe(BLOCK);
    expect((await readdir(join(cacheDir, 'files'))).length).toBeGreaterThan(0);
  }, 60_000);
});
