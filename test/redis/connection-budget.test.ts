/**
 * The account's download connections counted across bridges in a real `redis-server`
 * (RedisConnectionBudget): the cap holds across three bridges under many concurrent ranged reads,
 * a dead holder's slot comes back after its lease, interactive requests go before background
 * ones on any bridge, and a bridge cut off from Redis holds at most its share (limit / bridges).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../../src/cli/bridge.js';
import { startRedisServer, type RedisServer } from '../../src/bench/redis-server.js';
import { startSimulator } from '../../src/simulator/index.js';
import { AcceptedKeys } from '../../src/state/accepted-keys.js';
import { openAccountDb } from '../../src/state/account-db.js';
import { keyFingerprint } from '../../src/state/location.js';
import { RedisLink } from '../../src/state/redis/connection.js';
import { RedisConnectionBudget } from '../../src/state/redis/connection-budget.js';
import { eventually } from '../integration/account-view.js';
import { readBody, streamToBuffer } from '../integration/helpers.js';
import { startPartition } from './partition.js';

let redis: RedisServer;
const links: RedisLink[] = [];

function budget(account: string, limit: number, options: { url?: string; bridges?: number; leaseMs?: number } = {}): RedisConnectionBudget {
  const link = new RedisLink({ url: options.url ?? redis.url, account });
  links.push(link);
  return new RedisConnectionBudget(link, { limit, bridges: options.bridges ?? 1, leaseMs: options.leaseMs });
}

async function ready(...budgets: RedisConnectionBudget[]): Promise<void> {
  void budgets;
  for (const link of links) await link.waitUntilUp(5_000);
}

/** Resolves to 'pending' while `p` has not settled. */
async function state<T>(p: Promise<T>): Promise<T | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), 300))]);
}

beforeAll(async () => {
  redis = await startRedisServer();
}, 30_000);

afterAll(async () => {
  for (const link of links) await link.close();
  await redis?.close();
}, 30_000);

describe('RedisConnectionBudget', () => {
  it('a dead holder\'s slots come back after its lease', async () => {
    const dying = budget('lease', 2, { leaseMs: 1_500 });
    const other = budget('lease', 2, { leaseMs: 1_500 });
    await ready();
    await dying.acquire('interactive');
    await dying.acquire('interactive');
    const waiting = other.acquire('interactive');
    expect(await state(waiting)).toBe('pending');
    // The holder's process dies: no release, no renewal.
    dying.close();
    await links[0]!.close();
    const release = await waiting;
    expect(typeof release).toBe('function');
    release();
  }, 30_000);

  it('renewed leases outlive their lease time while held', async () => {
    const holder = budget('renew', 1, { leaseMs: 600 });
    const other = budget('renew', 1, { leaseMs: 600 });
    await ready();
    const release = await holder.acquire('interactive');
    const waiting = other.acquire('interactive');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await state(waiting)).toBe('pending');
    release();
    (await waiting)();
  }, 30_000);

  it('interactive requests of any bridge go before background ones', async () => {
    const x = budget('priority', 1);
    const y = budget('priority', 1);
    const z = budget('priority', 1);
    await ready();
    const releaseX = await x.acquire('interactive');
    const order: string[] = [];
    const background = y.acquire('background').then((release) => (order.push('background'), release));
    const interactive = z.acquire('interactive').then((release) => (order.push('interactive'), release));
    const admin = new Redis(redis.url);
    try {
      // Z's request has been seen waiting before the slot is freed.
      await eventually(() => admin.zcard('fichier-dav:priority:conn:waiting'), (n) => n >= 1, 5_000);
    } finally {
      admin.disconnect();
    }
    releaseX();
    (await interactive)();
    (await background)();
    expect(order).toEqual(['interactive', 'background']);
  }, 30_000);

  it('cut off from Redis: at most limit / bridges slots, then the rest once it is back', async () => {
    const partition = await startPartition(redis.port);
    try {
      const cut = budget('share', 6, { url: partition.url, bridges: 3 });
      await ready();
      partition.cut();
      await eventually(async () => links.at(-1)!.health.isUp(), (up) => !up, 10_000);
      const first = await cut.acquire('interactive');
      const second = await cut.acquire('interactive');
      const third = cut.acquire('interactive');
      expect(await state(third)).toBe('pending');
      expect(cut.localShare).toBe(2);
      partition.heal();
      (await third)();
      first();
      second();
    } finally {
      await partition.close();
    }
  }, 30_000);
});

describe('three bridges sharing a cap of 4 download connections', () => {
  const KEY = 'connection-budget-key-0123456789';
  const FILES = 24;
  const SIZE = 512 * 1024;
  const bridges: RunningBridge[] = [];
  let sim: Awaited<ReturnType<typeof startSimulator>>;
  let work: string;
  const urls: string[] = [];

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'fichier-dav-conn-'));
    // Slow enough connections that many reads overlap in time.
    sim = await startSimulator({ apiKey: KEY, timeScale: 0.2, downloadTtfbMs: 100, downloadBytesPerSecond: 1_000_000 });
    const folderId = await sim.addFolder({ name: 'media' });
    for (let i = 0; i < FILES; i++) urls.push(await sim.addFile({ folderId, name: `clip${i}.bin`, synthetic: { size: SIZE, seed: i + 1 } }));
    for (let i = 0; i < 3; i++) {
      const dir = join(work, `b${i}`);
      const db = openAccountDb(dir);
      new AcceptedKeys(db).accept(keyFingerprint(KEY));
      db.close();
      bridges.push(
        await startBridge({
          apiKey: KEY,
          apiUrl: sim.apiUrl,
          port: 0,
          stateDir: dir,
          client: { timeScale: 0.2 },
          redis: { url: redis.url, bridges: 3, maxDownloadConnections: 4 },
        }),
      );
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(bridges.map((b) => b.close()));
    await sim?.close();
    await rm(work, { recursive: true, force: true });
  }, 60_000);

  it('many concurrent ranged reads: the simulator never sees more than 4 downloads at once, every byte right', async () => {
    for (const bridge of bridges) expect((await fetch(bridge.url + 'media', { method: 'PROPFIND', headers: { Depth: '1' } })).status).toBe(207);
    sim.reset();
    const failures: string[] = [];
    await Promise.all(
      urls.map(async (url, i) => {
        const bridge = bridges[i % 3]!;
        const start = (i * 7919) % (SIZE / 2);
        const end = start + 200_000;
        const response = await fetch(`${bridge.url}media/clip${i}.bin`, { headers: { Range: `bytes=${start}-${end}` } });
        const body = await readBody(response);
        const want = await streamToBuffer(sim.contentOf(url, start, end));
        if (response.status !== 206 || !body.equals(want)) failures.push(`clip${i}: ${response.status}`);
      }),
    );
    expect(failures).toEqual([]);
    const stats = sim.stats();
    expect(stats.peakConcurrentDownloads).toBeGreaterThan(1);
    expect(stats.peakConcurrentDownloads).toBeLessThanOrEqual(4);
    expect(sim.log().filter((entry) => entry.outcome === 'flood')).toEqual([]);
  }, 180_000);
});
