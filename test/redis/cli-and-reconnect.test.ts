/**
 * Beyond `serve`: the account CLI joins the bridges through Redis (FICHIER_DAV_REDIS_URL), and a
 * bridge cut off from Redis for a while reads the cache changes it missed when it comes back.
 * Two bridges (B behind a relay that can cut its link to Redis) and the CLI on one simulated
 * account at 1fichier's REAL limits (time scale 1), one real `redis-server`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../../src/cli/bridge.js';
import { startRedisServer, type RedisServer } from '../../src/bench/redis-server.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { AcceptedKeys } from '../../src/state/accepted-keys.js';
import { openAccountDb } from '../../src/state/account-db.js';
import { keyFingerprint } from '../../src/state/location.js';
import { runCli } from '../cli/helpers.js';
import { eventually } from '../integration/account-view.js';
import { CLI_MAIN } from '../support/built-cli.js';
import { startPartition, type Partition } from './partition.js';

const KEY = 'cli-and-reconnect-key-0123456789';

let redis: RedisServer;
let partition: Partition;
let sim: Simulator;
let a: RunningBridge;
let b: RunningBridge;
let work: string;
const folderIds: number[] = [];

async function stateDir(name: string): Promise<string> {
  const dir = join(work, name);
  const db = openAccountDb(dir);
  new AcceptedKeys(db).accept(keyFingerprint(KEY));
  db.close();
  return dir;
}

function base(bridge: RunningBridge): string {
  return bridge.url.replace(/\/$/, '');
}

async function propfind(bridge: RunningBridge, path: string): Promise<{ status: number; hrefs: string[] }> {
  const response = await fetch(base(bridge) + path, { method: 'PROPFIND', headers: { Depth: '1' } });
  const text = await response.text();
  return { status: response.status, hrefs: [...text.matchAll(/<D:href>([^<]*)<\/D:href>/gi)].map((m) => decodeURIComponent(m[1]!)) };
}

function floods(): string[] {
  return sim.log().filter((entry) => entry.outcome === 'flood').map((entry) => `${entry.endpoint} ${JSON.stringify(entry.body)}`);
}

function listings(folderId: number): number {
  return sim.log().filter((entry) => entry.endpoint === 'folder/ls.cgi' && Number((entry.body as { folder_id?: unknown } | undefined)?.folder_id ?? 0) === folderId).length;
}

/** The CLI as users run it, on its own state folder (another machine), told of Redis by the environment. */
async function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(CLI_MAIN, [...args, '--api-url', sim.apiUrl, '--state-dir', await stateDir('cli')], {
    env: {
      FICHIER_API_KEY: KEY,
      FICHIER_DAV_REDIS_URL: redis.url,
      XDG_CACHE_HOME: join(work, 'cache'),
      XDG_STATE_HOME: join(work, 'state'),
      XDG_CONFIG_HOME: join(work, 'config'),
    },
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fichier-dav-redis-cli-'));
  redis = await startRedisServer();
  partition = await startPartition(redis.port);
  sim = await startSimulator({ apiKey: KEY, timeScale: 1 });
  for (let i = 0; i < 4; i++) {
    const folderId = await sim.addFolder({ name: `f${i}` });
    folderIds.push(folderId);
    await sim.addFile({ folderId, name: 'clip.bin', synthetic: { size: 4096, seed: i + 1 } });
  }
  a = await startBridge({ apiKey: KEY, apiUrl: sim.apiUrl, port: 0, stateDir: await stateDir('a'), redis: { url: redis.url, bridges: 3 } });
  b = await startBridge({ apiKey: KEY, apiUrl: sim.apiUrl, port: 0, stateDir: await stateDir('b'), redis: { url: partition.url, bridges: 3 } });
}, 120_000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await sim?.close();
  await partition?.close();
  await redis?.close();
  await rm(work, { recursive: true, force: true });
}, 60_000);

describe('the account CLI beside two bridges on one Redis', () => {
  it('ls reuses the bridges\' listing and upload is in a PROPFIND on a bridge at once, with 0 floods', async () => {
    for (const bridge of [a, b]) expect((await propfind(bridge, '/f0')).status).toBe(207);
    const before = listings(folderIds[0]!);
    // Inside the folder's 30 s window: the CLI must not list it again (1fichier would flood).
    const ls = await cli('ls', '/f0');
    expect(ls.stderr).toBe('');
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain('clip.bin');
    expect(listings(folderIds[0]!)).toBe(before);

    const local = join(work, 'from-cli.bin');
    await writeFile(local, Buffer.alloc(3000, 9));
    const upload = await cli('upload', local, '/f0');
    expect(upload.code, upload.stderr).toBe(0);
    // The bridges hold /f0 in their caches: the CLI's change reached them through Redis.
    for (const bridge of [a, b]) expect((await propfind(bridge, '/f0')).hrefs.some((h) => h.endsWith('/f0/from-cli.bin'))).toBe(true);
    expect(listings(folderIds[0]!)).toBe(before);
    expect(floods()).toEqual([]);
  }, 120_000);
});

describe('a bridge cut off from Redis for a while', () => {
  it('reads the changes it missed when it is back: its PROPFIND shows them without listing again', async () => {
    const folder = folderIds[1]!;
    expect((await propfind(b, '/f1')).status).toBe(207);
    const before = listings(folder);
    partition.cut();
    await eventually(async () => b.readiness().redisReachable, (up) => up === false, 10_000);
    expect((await fetch(`${base(a)}/f1/while-away.bin`, { method: 'PUT', body: Buffer.alloc(1000, 3) })).status).toBe(201);
    // Still cut off: B cannot know yet.
    expect((await propfind(b, '/f1')).hrefs.some((h) => h.endsWith('/f1/while-away.bin'))).toBe(false);
    partition.heal();
    await eventually(async () => b.redisStatus!().replayedChanges, (n) => n >= 1, 20_000);
    expect((await propfind(b, '/f1')).hrefs.some((h) => h.endsWith('/f1/while-away.bin'))).toBe(true);
    expect(listings(folder)).toBe(before);
    expect(b.redisStatus!().missedChangeGaps).toBe(0);
    expect(floods()).toEqual([]);
  }, 120_000);

  it('changes no longer kept: it drops its cached listings and lists again within the budget', async () => {
    const folder = folderIds[2]!;
    expect((await propfind(b, '/f2')).status).toBe(207);
    expect(b.drive.folders.peek(folder)).toBeDefined();
    partition.cut();
    await eventually(async () => b.readiness().redisReachable, (up) => up === false, 10_000);
    expect((await fetch(`${base(a)}/f2/lost-news.bin`, { method: 'PUT', body: Buffer.alloc(1000, 4) })).status).toBe(201);
    // The change log is trimmed meanwhile (as MAXLEN does on a busy account).
    const admin = new Redis(redis.url);
    try {
      for (const key of await admin.keys('fichier-dav:*:cache-log')) await admin.xtrim(key, 'MAXLEN', 0);
    } finally {
      admin.disconnect();
    }
    partition.heal();
    await eventually(async () => b.redisStatus!().missedChangeGaps, (n) => n >= 1, 20_000);
    expect(b.drive.folders.peek(folder)).toBeUndefined();
    // The next read lists again, once the folder's 30 s window allows (meanwhile 503 + Retry-After).
    const seen = await eventually(() => propfind(b, '/f2'), (r) => r.status !== 503, 90_000);
    expect(seen.status).toBe(207);
    expect(seen.hrefs.some((h) => h.endsWith('/f2/lost-news.bin'))).toBe(true);
    expect(floods()).toEqual([]);
  }, 180_000);
});
