/**
 * The budget of bridges that share an account through Redis, at the moment Redis is lost: each
 * bridge then paces its own calls at 1/bridges of the account's rate. The calls Redis granted just
 * before still count at 1fichier, so the first local call of each bridge must wait one local
 * period, or every bridge sends at once on top of them (a burst the account never allowed).
 */
import { describe, expect, it } from 'vitest';
import { MemoryBudgetStore, type RatePolicy } from '../../src/fichier/budget-store.js';
import { FailoverBudgetStore } from '../../src/state/redis/failover-budget.js';
import { RedisHealth } from '../../src/state/redis/connection.js';

const RATE: RatePolicy = { ratePerMs: 3 / 1000, burst: 1 };
const BRIDGES = 3;

function bridges(shared: MemoryBudgetStore) {
  return Array.from({ length: BRIDGES }, () => {
    const health = new RedisHealth();
    health.set(true);
    return { health, budget: new FailoverBudgetStore({ shared, health, bridges: BRIDGES }) };
  });
}

/** Sends in [from, to) when every bridge asks again as soon as told, starting at `from`. */
async function sendsBetween(all: ReturnType<typeof bridges>, from: number, to: number): Promise<number[]> {
  const sent: number[] = [];
  const next = all.map(() => from);
  for (;;) {
    const at = Math.min(...next);
    if (at >= to) return sent;
    const i = next.indexOf(at);
    const claim = await all[i]!.budget.claimSend(at, RATE);
    if (claim.waitMs === 0) {
      sent.push(at);
      next[i] = at + 1;
    } else next[i] = at + claim.waitMs;
  }
}

describe('the shared budget when Redis is lost', () => {
  it('keeps the account within its rate across the switch to local pacing: no bridge sends at once on top of what Redis granted', async () => {
    const shared = new MemoryBudgetStore();
    const all = bridges(shared);
    const t0 = 1_000_000;
    // Up: the three bridges share one bucket (one call per 333 ms).
    const before = await sendsBetween(all, t0, t0 + 1_000);
    expect(before.length).toBeLessThanOrEqual(1 + 3);
    // Redis is lost right after a granted call: every bridge goes on alone.
    const lost = t0 + 1_000;
    for (const bridge of all) bridge.health.set(false);
    const after = await sendsBetween(all, lost, lost + 3_000);
    const sends = [...before, ...after].sort((a, b) => a - b);
    // Over any second, the account sent at most its burst (1) + its rate (3).
    for (const at of sends) expect(sends.filter((t) => t >= at && t < at + 1_000).length).toBeLessThanOrEqual(1 + 3);
    // And the local pace is the account's rate split three ways: about 3 calls a second in all.
    expect(after.length).toBeGreaterThanOrEqual(6);
    expect(after.length).toBeLessThanOrEqual(9);
  });

  it('a bridge that starts while Redis is down waits one local period before its first call', async () => {
    const shared = new MemoryBudgetStore();
    const health = new RedisHealth();
    const budget = new FailoverBudgetStore({ shared, health, bridges: BRIDGES });
    const first = await budget.claimSend(5_000_000, RATE);
    // The other bridges may have spent the account's burst a moment ago: one local period (1 s).
    expect(first.waitMs).toBeGreaterThan(0);
    expect(first.waitMs).toBeLessThanOrEqual(1_000);
  });
});
