/**
 * Three bridges on one simulated account at 1fichier's REAL limits (time scale 1), sharing one
 * real `redis-server` (--redis-url): they must act as one client of 1fichier (one rate, one
 * listing per folder per 30 s, no flood), enforce each other's WebDAV locks, see each other's
 * writes at once, order writes of one path across bridges, and ride out a Redis outage.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../../src/cli/bridge.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { accountView, eventually } from '../integration/account-view.js';
import { readBody, streamToBuffer } from '../integration/helpers.js';
import { startRedisServer, type RedisServer } from '../../src/bench/redis-server.js';
import { acceptedStateDir, tearDown } from './state-dirs.js';

const KEY = 'many-bridges-key-0123456789';
const FOLDERS = 50;
const FILE_SIZE = 256 * 1024;
const WINDOW_MS = 30_000;

let redis: RedisServer;
let sim: Simulator;
let bridges: RunningBridge[] = [];
const dirs: string[] = [];
const fileUrls: string[] = [];
const folderIds: number[] = [];

/** A state folder per bridge (three machines), where this key was accepted before (a restart). */
async function stateDir(): Promise<string> {
  return acceptedStateDir(KEY, dirs);
}

async function start(): Promise<RunningBridge> {
  return startBridge({ apiKey: KEY, apiUrl: sim.apiUrl, port: 0, stateDir: await stateDir(), redis: { url: redis.url, bridges: 3 } });
}

function base(bridge: RunningBridge): string {
  return bridge.url.replace(/\/$/, '');
}

async function propfind(bridge: RunningBridge, path: string): Promise<{ status: number; hrefs: string[]; retryAfter: string | null }> {
  const response = await fetch(base(bridge) + path, { method: 'PROPFIND', headers: { Depth: '1' } });
  const text = await response.text();
  const hrefs = [...text.matchAll(/<D:href>([^<]*)<\/D:href>/gi)].map((m) => decodeURIComponent(m[1]!));
  return { status: response.status, hrefs, retryAfter: response.headers.get('retry-after') };
}

async function rangedGet(bridge: RunningBridge, path: string, start: number, end: number): Promise<{ status: number; body: Buffer }> {
  const response = await fetch(base(bridge) + path, { headers: { Range: `bytes=${start}-${end}` } });
  return { status: response.status, body: await readBody(response) };
}

function put(bridge: RunningBridge, path: string, body: Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(base(bridge) + path, { method: 'PUT', body, headers });
}

/** The flood answers the simulator gave (endpoint and reason), [] when none. */
function floods(): string[] {
  return sim.log().filter((entry) => entry.outcome === 'flood').map((entry) => `${entry.endpoint} ${JSON.stringify(entry.body)} ${entry.message ?? ''}`);
}

function random(n: number): number {
  return Math.floor(Math.random() * n);
}

/** Listings per folder, with their arrival times (simulated clock = real time at scale 1). */
function listingTimes(): Map<number, number[]> {
  const times = new Map<number, number[]>();
  for (const entry of sim.log()) {
    if (entry.endpoint !== 'folder/ls.cgi') continue;
    const id = Number((entry.body as { folder_id?: unknown } | undefined)?.folder_id ?? 0);
    times.set(id, [...(times.get(id) ?? []), entry.ms]);
  }
  return times;
}

beforeAll(async () => {
  redis = await startRedisServer();
  sim = await startSimulator({ apiKey: KEY, timeScale: 1 });
  for (let i = 0; i < FOLDERS; i++) {
    const folderId = await sim.addFolder({ name: `f${i}` });
    folderIds.push(folderId);
    fileUrls.push(await sim.addFile({ folderId, name: 'clip.bin', synthetic: { size: FILE_SIZE, seed: i + 1 } }));
  }
  // Sequentially: the first checks the key (user/info), the others find its window used and defer.
  for (let i = 0; i < 3; i++) bridges.push(await start());
}, 120_000);

afterAll(() => tearDown({ bridges, sim, redis, dirs }), 60_000);

describe('three bridges, one account, one Redis', () => {
  it('a browsing storm spread over the three makes 0 floods and at most one listing per folder per 30 s', async () => {
    const root = await propfind(bridges[random(3)]!, '/');
    expect(root.status).toBe(207);
    // Every folder browsed from two different bridges, in random order, 8 at a time, plus ranged
    // reads of a few clips: each folder is listed once for all three.
    const work = [...Array(FOLDERS).keys()].flatMap((i) => [
      { i, bridge: random(3), read: i % 5 === 0 },
      { i, bridge: random(3), read: false },
    ]);
    work.sort(() => Math.random() - 0.5);
    const failures: string[] = [];
    const worker = async () => {
      for (let job = work.shift(); job; job = work.shift()) {
        const bridge = bridges[job.bridge]!;
        const listed = await propfind(bridge, `/f${job.i}`);
        if (listed.status !== 207 || !listed.hrefs.some((h) => h.endsWith(`/f${job.i}/clip.bin`))) failures.push(`PROPFIND /f${job.i}: ${listed.status}`);
        if (job.read) {
          const start = random(FILE_SIZE - 1000);
          const got = await rangedGet(bridge, `/f${job.i}/clip.bin`, start, start + 999);
          const want = await streamToBuffer(sim.contentOf(fileUrls[job.i]!, start, start + 999));
          if (got.status !== 206 || !got.body.equals(want)) failures.push(`GET /f${job.i}/clip.bin: ${got.status}`);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(failures).toEqual([]);
    expect(floods()).toEqual([]);
    const times = listingTimes();
    expect(times.size).toBe(FOLDERS + 1);
    for (const [, at] of times) {
      at.sort((a, b) => a - b);
      for (let k = 1; k < at.length; k++) expect(at[k]! - at[k - 1]!).toBeGreaterThanOrEqual(WINDOW_MS);
    }
  }, 240_000);

  it('a LOCK taken on bridge A makes a PUT without its token on bridge B answer 423', async () => {
    const [a, b] = bridges as [RunningBridge, RunningBridge];
    const lock = await fetch(`${base(a)}/f2/locked.txt`, {
      method: 'LOCK',
      headers: { 'Content-Type': 'application/xml', Timeout: 'Second-60' },
      body: '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>a</D:owner></D:lockinfo>',
    });
    expect([200, 201]).toContain(lock.status);
    const token = lock.headers.get('lock-token')!;
    expect(token).toMatch(/^<.+>$/);
    expect((await put(b, '/f2/locked.txt', Buffer.from('from B'))).status).toBe(423);
    // With the token, B writes; after UNLOCK on A, B writes without it.
    expect([200, 201, 204]).toContain((await put(b, '/f2/locked.txt', Buffer.from('from B, token'), { If: `(${token})` })).status);
    expect((await fetch(`${base(a)}/f2/locked.txt`, { method: 'UNLOCK', headers: { 'Lock-Token': token } })).status).toBe(204);
    expect([200, 201, 204]).toContain((await put(b, '/f2/locked.txt', Buffer.from('from B, unlocked'))).status);
  }, 120_000);

  it('a PUT on bridge A is in a PROPFIND on bridge B at once, and B reads its bytes', async () => {
    const [a, b] = bridges as [RunningBridge, RunningBridge];
    expect((await propfind(b, '/f3')).hrefs.some((h) => h.endsWith('/f3/new.bin'))).toBe(false);
    const body = Buffer.alloc(4096, 7);
    expect((await put(a, '/f3/new.bin', body)).status).toBe(201);
    const after = await propfind(b, '/f3');
    expect(after.hrefs.some((h) => h.endsWith('/f3/new.bin'))).toBe(true);
    const read = await fetch(`${base(b)}/f3/new.bin`);
    expect(read.status).toBe(200);
    expect((await readBody(read)).equals(body)).toBe(true);
  }, 120_000);

  it('Redis killed mid-storm: 0 floods, every byte read right, locked writes 503, recovery when it returns', async () => {
    const failures: string[] = [];
    let reads = 0;
    let stop = false;
    let readsBefore = 0;
    const storm = async () => {
      while (!stop) {
        const i = random(FOLDERS);
        const bridge = bridges[random(3)]!;
        const listed = await propfind(bridge, `/f${i}`);
        // Redis down: a folder this bridge has cached is served from it; one it never listed
        // cannot be listed safely (the account's window is unknown) and answers 503 + Retry-After.
        const uncached = bridge.drive.folders.peek(folderIds[i]!) === undefined;
        if (listed.status !== 207 && !(listed.status === 503 && uncached && Number(listed.retryAfter) > 0)) failures.push(`PROPFIND /f${i}: ${listed.status}`);
        const start = random(FILE_SIZE - 5000);
        const got = await rangedGet(bridge, `/f${i}/clip.bin`, start, start + 4999);
        const want = await streamToBuffer(sim.contentOf(fileUrls[i]!, start, start + 4999));
        if (got.status === 206) {
          reads += 1;
          if (!got.body.equals(want)) failures.push(`GET /f${i}/clip.bin: wrong bytes`);
        } else if (got.status !== 503) failures.push(`GET /f${i}/clip.bin: ${got.status}`);
      }
    };
    const running = Promise.all(Array.from({ length: 4 }, () => storm().catch((error: unknown) => void failures.push(String(error)))));
    try {
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await redis.kill();
    await eventually(async () => bridges.map((b) => b.readiness().redisReachable), (seen) => seen.every((up) => up === false), 10_000);
    readsBefore = reads;
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    // Reads go on (caches, links paced at rate / 3); a write needing the path lock is refused.
    const refused = await put(bridges[1]!, '/f4/during-outage.bin', Buffer.alloc(1000, 1));
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(bridges.every((b) => b.readiness().ready)).toBe(true);
    await redis.restart();
    const back = await eventually(async () => bridges.map((b) => b.readiness().redisReachable), (seen) => seen.every((up) => up === true), 20_000);
    expect(back).toEqual([true, true, true]);
    } finally {
      stop = true;
      await running;
    }
    expect(failures).toEqual([]);
    expect(reads).toBeGreaterThan(readsBefore);
    expect(floods()).toEqual([]);
    const body = Buffer.alloc(2000, 2);
    expect((await put(bridges[1]!, '/f4/after-outage.bin', body)).status).toBe(201);
    const seen = await propfind(bridges[2]!, '/f4');
    expect(seen.hrefs.some((h) => h.endsWith('/f4/after-outage.bin'))).toBe(true);
    expect(seen.hrefs.some((h) => h.endsWith('/f4/during-outage.bin'))).toBe(false);
  }, 180_000);

  it('concurrent PUTs of one path on bridges A and B leave exactly one file, holding one whole body', async () => {
    const [a, b] = bridges as [RunningBridge, RunningBridge];
    const bodies = [Buffer.alloc(50_000, 0xaa), Buffer.alloc(60_000, 0xbb)];
    const answers = await Promise.all([put(a, '/f5/same.bin', bodies[0]!), put(b, '/f5/same.bin', bodies[1]!)]);
    expect(answers.map((r) => r.status).sort()).toEqual([201, 204]);
    expect(floods()).toEqual([]);
    const view = await accountView(sim);
    expect(view.duplicates).toEqual([]);
    const stored = view.files.get('/f5/same.bin')!;
    expect(bodies.some((body) => body.equals(stored))).toBe(true);
  }, 120_000);
});
