/**
 * Two bridges (real CLI processes) on one account sharing a real `redis-server` (--redis-url):
 * bridge A is killed (kill -9) in the middle of an overwrite and never comes back; bridge B must
 * settle A's unfinished write from the shared journal, exactly once: one file at the path, its
 * bytes whole (the old ones or the new ones), no duplicate upstream, and no record left in Redis.
 *
 * JOURNAL_TAKEOVER_SEED replays a run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../src/bench/redis-server.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { keyFingerprint } from '../../src/state/location.js';
import { accountView, eventually } from '../integration/account-view.js';
import { serveCli, type ServedBridge } from '../integration/served-bridge.js';
import { bodyOf, send } from '../integration/write-http.js';

const KEY = 'journal-takeover-key-0123456789';
const SEED = Number(process.env.JOURNAL_TAKEOVER_SEED ?? Date.now() % 100_000);

let redis: RedisServer;
let sim: Simulator;
let dir: string;
let peek: Redis;
const bridges: ServedBridge[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  sim = await startSimulator({ apiKey: KEY, timeScale: 0.01 });
  dir = await mkdtemp(join(tmpdir(), 'fichier-dav-takeover-'));
  peek = new Redis(redis.url);
});

afterAll(async () => {
  for (const bridge of bridges) await bridge.stop();
  peek?.disconnect();
  await sim?.close();
  await redis?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function start(name: string): Promise<ServedBridge> {
  const bridge = await serveCli(sim, join(dir, name), dir, ['--redis-url', redis.url]);
  bridges.push(bridge);
  return bridge;
}

/** Records in the shared journal. */
async function records(): Promise<number> {
  return peek.hlen(`fichier-dav:${keyFingerprint(KEY)}:journal`);
}

function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe(`a bridge killed mid-write has its write settled by another (seed ${SEED})`, () => {
  it('killed after the upload, before the old file is removed: B finishes it (no duplicate)', async () => {
    const a = await start('a');
    const b = await start('b');
    const old = bodyOf(SEED, 80_000);
    const fresh = bodyOf(SEED + 1, 90_000);
    expect((await send({ method: 'PUT', url: `${a.url}/c.bin`, headers: { 'Content-Length': old.length }, pieces: [old] })).status).toBe(201);
    // The removal of the replaced file hangs, so the kill lands between the upload and the removal.
    sim.setFaults({ slow: [{ host: 'api', endpoint: 'file/rm.cgi', delayMs: 20_000, count: 1 }] });
    const uploads = sim.stats().calls['end.pl'] ?? 0;
    const answer = send({ method: 'PUT', url: `${a.url}/c.bin`, headers: { 'Content-Length': fresh.length }, pieces: [fresh] });
    await eventually(
      async () => sim.stats().calls['end.pl'] ?? 0,
      (calls) => calls > uploads,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await a.kill9();
    expect((await answer).status).toBe(0);
    sim.clearFaults();
    // A never comes back: B claims the record once A's lease runs out, and removes the old file.
    const { view, left } = await eventually(
      async () => ({ view: await accountView(sim), left: await records() }),
      ({ view, left }) => left === 0 && view.duplicates.length === 0,
      90_000,
    );
    expect(left).toBe(0);
    expect(view.duplicates).toEqual([]);
    expect([...view.files.keys()]).toEqual(['/c.bin']);
    expect(view.files.get('/c.bin')?.equals(fresh)).toBe(true);
    const got = Buffer.from(await (await fetch(`${b.url}/c.bin`)).arrayBuffer());
    expect(got.equals(fresh)).toBe(true);
  }, 180_000);

  it('killed at a random point of an overwrite: B settles it, and a PUT through B after it leaves one whole file', async () => {
    const next = random(SEED);
    const a = await start('a2');
    const b = bridges[1]!;
    const old = bodyOf(SEED + 2, 300_000);
    expect((await send({ method: 'PUT', url: `${a.url}/d.bin`, headers: { 'Content-Length': old.length }, pieces: [old] })).status).toBe(201);
    const fresh = bodyOf(SEED + 3, 1_500_000);
    const pieces: Buffer[] = [];
    for (let offset = 0; offset < fresh.length; offset += 128 * 1024) pieces.push(fresh.subarray(offset, offset + 128 * 1024));
    const killAfterMs = 100 + Math.floor(next() * 600);
    const answer = send({ method: 'PUT', url: `${a.url}/d.bin`, headers: { 'Content-Length': fresh.length }, pieces, pauseMs: 20 });
    await new Promise((resolve) => setTimeout(resolve, killAfterMs));
    await a.kill9();
    const told = (await answer).status;
    const context = `seed ${SEED}, kill after ${killAfterMs} ms, answer ${told}`;
    const { view, left } = await eventually(
      async () => ({ view: await accountView(sim), left: await records() }),
      ({ view, left }) => left === 0 && view.duplicates.length === 0,
      90_000,
    );
    expect(left, context).toBe(0);
    expect(view.duplicates, context).toEqual([]);
    const stored = view.files.get('/d.bin');
    expect(stored?.equals(fresh) || stored?.equals(old), context).toBe(true);
    if (told >= 200 && told < 300) expect(stored?.equals(fresh), context).toBe(true);
    // B writes the path next: one file, holding B's bytes.
    const last = bodyOf(SEED + 4, 50_000);
    expect((await send({ method: 'PUT', url: `${b.url}/d.bin`, headers: { 'Content-Length': last.length }, pieces: [last] })).status, context).toBe(204);
    const after = await eventually(
      () => accountView(sim),
      (v) => v.duplicates.length === 0 && v.files.get('/d.bin')?.equals(last) === true,
      60_000,
    );
    expect(after.duplicates, context).toEqual([]);
    expect(after.files.get('/d.bin')?.equals(last), context).toBe(true);
    console.log(`journal-takeover seed ${SEED}: kill after ${killAfterMs} ms, answer ${told}, settled to ${stored?.equals(fresh) ? 'new' : 'old'}`);
  }, 240_000);
});
