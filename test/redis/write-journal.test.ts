/**
 * The shared write journal on a real `redis-server`: records outlive their bridge, an orphan is
 * claimed only once its owner's lease ran out, and of several bridges claiming one record at once
 * exactly one gets it; the former owner can no longer change it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisServer, type RedisServer } from '../../src/bench/redis-server.js';
import { pathsOverlap } from '../../src/drive/path-locks.js';
import type { UploadIntent } from '../../src/drive/write-journal.js';
import { RedisLink } from '../../src/state/redis/connection.js';
import { RedisWriteJournal } from '../../src/state/redis/write-journal.js';
import { eventually } from '../integration/account-view.js';

let redis: RedisServer;
const links: RedisLink[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
});

afterAll(async () => {
  for (const link of links) await link.close();
  await redis?.close();
});

async function bridge(account: string, leaseMs = 300): Promise<RedisWriteJournal> {
  const link = new RedisLink({ url: redis.url, account });
  links.push(link);
  expect(await link.waitUntilUp(5_000)).toBe(true);
  return new RedisWriteJournal(link, { leaseMs });
}

const upload: UploadIntent = { op: 'upload', path: '/a/b.bin', folderId: 3, name: 'b.bin', size: 10, before: [], bodySent: true };

describe('RedisWriteJournal', () => {
  it('an orphan is claimed once its owner stops renewing, by exactly one of the bridges racing for it', async () => {
    const dead = await bridge('race');
    const id = await dead.begin(upload);
    const others = await Promise.all([1, 2, 3, 4].map(() => bridge('race')));
    // The owner lives: nobody may claim it.
    expect((await Promise.all(others.map((journal) => journal.claimOrphans()))).flat()).toEqual([]);
    dead.close(); // stops renewing, as a kill -9 would
    await new Promise((resolve) => setTimeout(resolve, 500));
    const claims = await Promise.all(others.map((journal) => journal.claimOrphans()));
    expect(claims.flat().map((record) => record.id)).toEqual([id]);
    const winner = others[claims.findIndex((records) => records.length === 1)]!;
    expect((await winner.pending()).map((record) => record.intent)).toEqual([upload]);
    // The former owner can neither change nor finish it; the winner can.
    await expect(dead.update(id, { ...upload, newUrl: 'https://1fichier.com/?x' })).rejects.toThrow(/taken over/);
    await dead.finish(id);
    expect((await winner.pending()).length).toBe(1);
    await winner.finish(id);
    for (const journal of [dead, ...others]) expect(await journal.pending()).toEqual([]);
    for (const journal of others) journal.close();
  });

  it('a bridge holding the path lock takes over a live owner’s record on an overlapping path, not others', async () => {
    const a = await bridge('overlap', 10_000);
    const b = await bridge('overlap', 10_000);
    const mine = await a.begin(upload);
    await a.begin({ ...upload, path: '/c.bin' });
    const taken = await b.claimOverlapping(['/a'], pathsOverlap);
    expect(taken.map((record) => record.id)).toEqual([mine]);
    expect((await a.pending()).map((record) => record.intent.path)).toEqual(['/c.bin']);
    expect((await b.pending()).map((record) => record.intent.path)).toEqual(['/a/b.bin']);
    a.close();
    b.close();
  });

  it('a record begun right after Redis restarted empty is not taken for a dead bridge’s', async () => {
    // Renewals every 20 s: the lease must be back long before the next one.
    const live = await bridge('restart', 60_000);
    const sweeper = await bridge('restart', 60_000);
    const [liveLink, sweeperLink] = links.slice(-2) as [RedisLink, RedisLink];
    await live.finish(await live.begin(upload)); // the owner lease is taken (and renewed from now on)
    await redis.kill();
    expect(await eventually(async () => [liveLink.health.isUp(), sweeperLink.health.isUp()], (up) => !up[0] && !up[1], 20_000)).toEqual([false, false]);
    await redis.restart();
    expect(await liveLink.waitUntilUp(20_000)).toBe(true);
    expect(await sweeperLink.waitUntilUp(20_000)).toBe(true);
    // A write starts at once: its record must belong to a live owner.
    const id = await live.begin({ ...upload, path: '/d.bin' });
    expect(await sweeper.claimOrphans()).toEqual([]);
    await live.update(id, { ...upload, path: '/d.bin', newUrl: 'https://1fichier.com/?d' });
    await live.finish(id);
    expect(await live.pending()).toEqual([]);
    live.close();
    sweeper.close();
  }, 60_000);
});
