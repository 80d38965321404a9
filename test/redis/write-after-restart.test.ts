/**
 * A write right after the shared Redis restarted empty. Every bridge then drops its cached
 * listings (the changes it may have missed are gone with Redis), the listings shared in Redis are
 * gone too, and the bridge that listed a folder just before the outage writes that folder's
 * window back (1fichier still counts it). So the next write into that folder on another bridge
 * must list it, and must first wait out the rest of the window: up to 30 s, longer than the
 * deadline of a read (20 s by default; 5 s here, so that the wait always exceeds it).
 *
 * A read may answer 503 + Retry-After then; a PUT must not: its client has sent its body, and
 * the wait is bounded by one window, well within what WebDAV clients wait for a PUT's answer. (A
 * CI run saw the second of two concurrent PUTs answer 503 right after the Redis restart of
 * many-bridges.test.ts.)
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../../src/cli/bridge.js';
import { startRedisServer, type RedisServer } from '../../src/bench/redis-server.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { keyFingerprint } from '../../src/state/location.js';
import { accountView, eventually } from '../integration/account-view.js';
import { acceptedStateDir, tearDown } from './state-dirs.js';

const KEY = 'write-after-restart-key-0123456789';
/** Far below the window's remaining 20-odd seconds: on the old code the PUT always got 503. */
const READ_DEADLINE_MS = 5_000;

let redis: RedisServer;
let sim: Simulator;
let folderId: number;
const bridges: RunningBridge[] = [];
const dirs: string[] = [];

/** A state folder per bridge (two machines), where this key was accepted before (a restart). */
async function stateDir(): Promise<string> {
  return acceptedStateDir(KEY, dirs);
}

function reachable(): boolean[] {
  return bridges.map((bridge) => bridge.readiness().redisReachable === true);
}

beforeAll(async () => {
  redis = await startRedisServer();
  sim = await startSimulator({ apiKey: KEY, timeScale: 1 });
  folderId = await sim.addFolder({ name: 'docs' });
  await sim.addFile({ folderId, name: 'old.bin', synthetic: { size: 1000, seed: 1 } });
  for (let i = 0; i < 2; i++) {
    bridges.push(
      await startBridge({
        apiKey: KEY,
        apiUrl: sim.apiUrl,
        port: 0,
        stateDir: await stateDir(),
        upstreamDeadlineMs: READ_DEADLINE_MS,
        redis: { url: redis.url, bridges: 2 },
      }),
    );
  }
}, 120_000);

afterAll(() => tearDown({ bridges, sim, redis, dirs }), 60_000);

it('a PUT into a folder listed just before Redis restarted waits out its window and stores the file (201, not 503)', async () => {
  const [a, b] = bridges as [RunningBridge, RunningBridge];
  // A lists /docs (the account's window for it starts) and writes into it; B sees the write
  // through the change log and reuses A's listing.
  expect((await fetch(`${a.url.replace(/\/$/, '')}/docs/first.bin`, { method: 'PUT', body: Buffer.alloc(500, 1) })).status).toBe(201);
  const seen = await eventually(
    async () => (await (await fetch(`${b.url.replace(/\/$/, '')}/docs`, { method: 'PROPFIND', headers: { Depth: '1' } })).text()).includes('first.bin'),
    (found) => found,
    20_000,
  );
  expect(seen).toBe(true);

  await redis.kill();
  expect(await eventually(async () => reachable(), (seen) => seen.every((up) => !up), 20_000)).toEqual([false, false]);
  await redis.restart();
  expect(await eventually(async () => reachable(), (seen) => seen.every((up) => up), 20_000)).toEqual([true, true]);

  // A has written its window for /docs back into the empty Redis: the folder cannot be listed again yet.
  const probe = new Redis(redis.url);
  try {
    const windowKey = `fichier-dav:${keyFingerprint(KEY)}:budget:window:ls:${folderId}`;
    const opensAt = await eventually(async () => Number((await probe.get(windowKey)) ?? 0), (at) => at > Date.now(), 20_000);
    expect(opensAt).toBeGreaterThan(Date.now());
  } finally {
    probe.disconnect();
  }

  const body = Buffer.alloc(3000, 9);
  const answer = await fetch(`${b.url.replace(/\/$/, '')}/docs/new.bin`, { method: 'PUT', body });
  expect(`${answer.status} ${await answer.text()}`).toMatch(/^201 /);

  const view = await accountView(sim);
  expect(view.files.get('/docs/new.bin')?.equals(body)).toBe(true);
  expect(view.duplicates).toEqual([]);
  expect(sim.log().filter((entry) => entry.outcome === 'flood')).toEqual([]);
}, 180_000);
