/**
 * The Redis budget store's Lua scripts against the memory store's TypeScript (the reference):
 * the same sequence of claims on both, over a real redis-server, gives the same answers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBudgetStore, type BudgetStore } from '../../src/fichier/budget-store.js';
import { startRedisServer, type RedisServer } from '../../src/bench/redis-server.js';
import { RedisBudgetStore } from '../../src/state/redis/budget-store.js';
import { RedisLink } from '../../src/state/redis/connection.js';

let redis: RedisServer;
let link: RedisLink;

beforeAll(async () => {
  redis = await startRedisServer();
  link = new RedisLink({ url: redis.url, account: 'parity' });
  expect(await link.waitUntilUp(10_000)).toBe(true);
}, 30_000);

afterAll(async () => {
  await link?.close();
  await redis?.close();
});

const rate = { ratePerMs: 2 / 1000, burst: 1 };
const policy = { firstMs: 30_000, maxMs: 300_000, resetMs: 600_000, scale: 1 };

async function script(store: BudgetStore, t0: number): Promise<unknown[]> {
  const out: unknown[] = [];
  let now = t0;
  for (let i = 0; i < 12; i++) {
    out.push(await store.claimSend(now, rate));
    now += 137;
  }
  out.push(await store.claimWindow('folder:7', now, 30_600));
  out.push(await store.claimWindow('folder:7', now + 10_000, 30_600));
  const claim = await store.claimWindow('folder:8', now, 30_600);
  out.push(claim);
  if (claim.granted) await store.releaseWindow('folder:8', claim);
  out.push(await store.windowOpensAt('folder:8'));
  await store.extendWindow('folder:7', now + 40_000);
  out.push(await store.windowOpensAt('folder:7'));
  out.push(await store.recordFlood(now - 5, now, policy));
  out.push(await store.recordFlood(now - 10, now + 1, policy)); // an echo of the same lock
  out.push(await store.claimSend(now + 1_000, rate));
  out.push(await store.recordFlood(now + 40_000, now + 41_000, policy)); // doubled
  out.push(await store.holdUntil(now + 999_999, now + 42_000));
  out.push(await store.cooldown());
  out.push(await store.claimSend(now + 2_000_000, rate));
  out.push(await store.claimSend(now + 2_000_001, rate));
  return out;
}

describe('RedisBudgetStore', () => {
  it('answers every claim as the memory store does (bucket, windows, release, flood escalation, echoes, hold)', async () => {
    // Wall-clock times, as the contract says (window keys expire by Redis's clock).
    const t0 = Date.now() + 0.5;
    const expected = await script(new MemoryBudgetStore(), t0);
    const got = await script(new RedisBudgetStore(link, { callerClock: true }), t0);
    expect(got).toEqual(expected);
  });

  it('claims from many processes, each with its own slightly old "now", never exceed the rate', async () => {
    // As on a loaded machine: a caller reads its clock, then its claim waits behind others, so
    // claims reach Redis out of the order of their times (up to 30 ms here). The bench's scale:
    // 2 calls/s at time scale 0.05 = 40 calls/s.
    const bench = { ratePerMs: 40 / 1000, burst: 1 };
    const stores = Array.from({ length: 8 }, () => new RedisBudgetStore(new RedisLink({ url: redis.url, account: 'stale-now' })));
    await Promise.all(stores.map((store) => (store as unknown as { link: RedisLink }).link.waitUntilUp(10_000)));
    let granted = 0;
    const started = Date.now();
    const stopAt = started + 2_000;
    await Promise.all(
      stores.map(async (store) => {
        while (Date.now() < stopAt) {
          const claim = await store.claimSend(Date.now() - Math.random() * 30, bench);
          if (claim.waitMs === 0) granted += 1;
          else await new Promise((resolve) => setTimeout(resolve, Math.random() * claim.waitMs));
        }
      }),
    );
    const elapsed = Date.now() - started;
    await Promise.all(stores.map((store) => (store as unknown as { link: RedisLink }).link.close()));
    expect(granted).toBeLessThanOrEqual(Math.floor(elapsed * bench.ratePerMs) + bench.burst);
  }, 30_000);

  it('lets exactly one of many concurrent claims of one window win', async () => {
    const stores = Array.from({ length: 8 }, () => new RedisBudgetStore(link));
    const now = Date.now();
    const claims = await Promise.all(stores.map((store) => store.claimWindow('folder:race', now, 30_000)));
    expect(claims.filter((c) => c.granted)).toHaveLength(1);
  });
});
