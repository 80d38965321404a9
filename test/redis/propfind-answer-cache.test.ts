/**
 * Two bridges of one account sharing a real `redis-server`: a PROPFIND answer bridge B keeps whole
 * (src/webdav/props/answer-cache.ts) must show bridge A's writes once they arrive over the cache
 * bus, and A's locks (kept in Redis) at once, and drop them again after A's UNLOCK.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../../src/cli/bridge.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { answerCacheFor } from '../../src/webdav/props/answer-cache.js';
import { responseCacheFor } from '../../src/webdav/props/response-cache.js';
import { eventually } from '../integration/account-view.js';
import { startRedisServer, type RedisServer } from '../../src/bench/redis-server.js';
import { acceptedStateDir, tearDown } from './state-dirs.js';

const KEY = 'answer-cache-redis-key-0123456789';
const SCALE = 0.01;
const FILES = 100;

let redis: RedisServer;
let sim: Simulator;
const bridges: RunningBridge[] = [];
const dirs: string[] = [];

async function start(): Promise<RunningBridge> {
  const dir = await acceptedStateDir(KEY, dirs, 'fichier-dav-answer-redis-');
  return startBridge({ apiKey: KEY, apiUrl: sim.apiUrl, port: 0, stateDir: dir, client: { timeScale: SCALE }, redis: { url: redis.url, bridges: 2 } });
}

beforeAll(async () => {
  redis = await startRedisServer();
  sim = await startSimulator({ apiKey: KEY, timeScale: SCALE });
  const big = await sim.addFolder({ name: 'big' });
  for (let i = 0; i < FILES; i++) await sim.addFile({ folderId: big, name: `episode-${String(i).padStart(3, '0')}.mkv`, content: `data ${i}` });
  for (let i = 0; i < 2; i++) bridges.push(await start());
}, 120_000);

afterAll(() => tearDown({ bridges, sim, redis, dirs }), 60_000);

const base = (bridge: RunningBridge) => bridge.url.replace(/\/$/, '');

async function propfind(bridge: RunningBridge, path = '/big/'): Promise<string> {
  const response = await fetch(base(bridge) + path, { method: 'PROPFIND', headers: { Depth: '1' } });
  expect(response.status).toBe(207);
  return response.text();
}

/** B's answer is stored and the next one is served from its cache. */
async function warm(bridge: RunningBridge): Promise<void> {
  await propfind(bridge);
  const hits = answerCacheFor(bridge.drive).hits;
  await propfind(bridge);
  expect(answerCacheFor(bridge.drive).hits).toBe(hits + 1);
}

async function fresh(bridge: RunningBridge): Promise<string> {
  answerCacheFor(bridge.drive).clear();
  responseCacheFor(bridge.drive).clear();
  return propfind(bridge);
}

const lockBody = `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>`;

describe('whole-answer cache with two bridges on one Redis', () => {
  it("shows the other bridge's PUT, DELETE and LOCK/UNLOCK in the next answers", async () => {
    const [a, b] = [bridges[0]!, bridges[1]!];
    await propfind(a);
    await warm(b);

    expect((await fetch(`${base(a)}/big/from-a.mkv`, { method: 'PUT', body: 'written on A' })).status).toBe(201);
    const seen = await eventually(() => propfind(b), (text) => text.includes('<D:href>/big/from-a.mkv</D:href>'), 30_000);
    expect(seen).toContain('<D:href>/big/from-a.mkv</D:href>');
    expect(seen === (await fresh(b))).toBe(true);

    await warm(b);
    expect((await fetch(`${base(a)}/big/episode-005.mkv`, { method: 'DELETE' })).status).toBe(204);
    const gone = await eventually(() => propfind(b), (text) => !text.includes('episode-005.mkv'), 30_000);
    expect(gone).not.toContain('episode-005.mkv');
    expect(gone === (await fresh(b))).toBe(true);

    await warm(b);
    const lock = await fetch(`${base(a)}/big/episode-007.mkv`, {
      method: 'LOCK',
      headers: { 'Content-Type': 'application/xml', Timeout: 'Second-600' },
      body: lockBody,
    });
    expect(lock.status).toBe(200);
    const token = lock.headers.get('lock-token')!.slice(1, -1);
    // The lock store is shared: B's very next answer shows A's lock.
    expect(await propfind(b)).toContain(token);
    const unlock = await fetch(`${base(a)}/big/episode-007.mkv`, { method: 'UNLOCK', headers: { 'Lock-Token': `<${token}>` } });
    expect(unlock.status).toBe(204);
    const unlocked = await propfind(b);
    expect(unlocked).not.toContain(token);
    expect(unlocked === (await fresh(b))).toBe(true);
  }, 120_000);
});
