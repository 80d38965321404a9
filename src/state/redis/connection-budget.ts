/**
 * The account's download connections counted across every bridge through Redis: a lease-based
 * counting semaphore (`ConnectionBudget`, src/drive/connection-budget.ts). 1fichier allows a
 * premium account 30 simultaneous download connections in all; three bridges each capping their
 * own downloads cannot know what the others have open.
 *
 * - `conn:held` is a sorted set of leases (member: lease id, score: expiry in Redis's own clock,
 *   TIME, so bridges' clocks need not agree). One Lua script drops expired leases and takes a slot
 *   when fewer than `limit` are held: two bridges cannot both take the last one.
 * - A holder renews its leases every third of `leaseMs` while the download runs; a bridge that
 *   dies loses its slots after `leaseMs`.
 * - Interactive before background: an interactive request that finds no slot registers in
 *   `conn:waiting` (expiring after `waitingMs` unless it tries again), and a background request
 *   takes a slot only when the slots free exceed the interactive requests waiting on any bridge.
 *   Within a bridge, one queue serves interactive requests first, then background ones, in order.
 * - Slots freed on another bridge are noticed by polling (10 ms doubling to 200 ms); a slot freed
 *   here wakes the queue at once.
 * - Redis unreachable: a conservative local share, `floor(limit / bridges)` (at least 1), so the
 *   bridges together stay within the limit. Leases taken meanwhile are added to Redis by the next
 *   renewal once it is back (they are still open), so the count there is right again.
 */
import { randomBytes } from 'node:crypto';
import type { ConnectionBudget, ConnectionPriority } from '../../drive/connection-budget.js';
import { defineScripts } from './budget-store.js';
import type { RedisLink } from './connection.js';

const NOW_MS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

const SCRIPTS = {
  /**
   * KEYS: held, waiting. ARGV: lease id, limit, leaseMs, priority, waiter id, waitingMs.
   * → '1' when the slot is taken, '0' otherwise.
   */
  connectionAcquire: {
    keys: 2,
    lua: `${NOW_MS}
local id, limit, lease, priority, waiter, waiting = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5], tonumber(ARGV[6])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local held = redis.call('ZCARD', KEYS[1])
if held >= limit then
  if priority == 'interactive' then redis.call('ZADD', KEYS[2], now + waiting, waiter) end
  return '0'
end
if priority ~= 'interactive' and held + redis.call('ZCARD', KEYS[2]) >= limit then return '0' end
redis.call('ZADD', KEYS[1], now + lease, id)
redis.call('ZREM', KEYS[2], waiter)
redis.call('PEXPIRE', KEYS[1], lease * 4)
return '1'
`,
  },
  /** KEYS: held. ARGV: leaseMs, lease ids... Extends (or adds back) every lease still open here. */
  connectionRenew: {
    keys: 1,
    lua: `${NOW_MS}
for j = 2, #ARGV do redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[j]) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 4)
return '1'
`,
  },
} as const;

export interface RedisConnectionBudgetOptions {
  /** Connections the whole account may hold at once (1fichier: 30 per premium account). */
  limit: number;
  /** Bridges sharing the account: while Redis is unreachable this one holds at most limit / bridges. */
  bridges: number;
  /** A lease's life without renewal (ms). Default 15 000. */
  leaseMs?: number;
  /** How long an interactive request counts as waiting after its last try (ms). Default 2 000. */
  waitingMs?: number;
}

interface Waiter {
  priority: ConnectionPriority;
  id: string;
  resolve: (release: () => void) => void;
  reject: (error: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

const MIN_POLL_MS = 10;
const MAX_POLL_MS = 200;

export class RedisConnectionBudget implements ConnectionBudget {
  readonly limit: number;
  /** Slots this bridge may hold while Redis is unreachable. */
  readonly localShare: number;
  private readonly run;
  private readonly heldKey: string;
  private readonly waitingKey: string;
  private readonly leaseMs: number;
  private readonly waitingMs: number;
  private readonly queues: Record<ConnectionPriority, Waiter[]> = { interactive: [], background: [] };
  /** Open leases of this bridge: id → taken while Redis was unreachable. */
  private readonly leases = new Map<string, boolean>();
  private degradedHeld = 0;
  private pumping = false;
  private pumpAgain = false;
  private pollMs = MIN_POLL_MS;
  private pollTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly link: RedisLink,
    options: RedisConnectionBudgetOptions,
  ) {
    if (!Number.isInteger(options.limit) || options.limit < 1) throw new RangeError('limit must be an integer >= 1');
    this.limit = options.limit;
    this.localShare = Math.max(1, Math.floor(options.limit / Math.max(1, options.bridges)));
    this.leaseMs = options.leaseMs ?? 15_000;
    this.waitingMs = options.waitingMs ?? 2_000;
    this.heldKey = link.key('conn:held');
    this.waitingKey = link.key('conn:waiting');
    this.run = defineScripts(link.client, SCRIPTS);
  }

  /** Slots this bridge holds now (for metrics and tests). */
  held(): number {
    return this.leases.size;
  }

  acquire(priority: ConnectionPriority, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = { priority, id: randomBytes(9).toString('base64url'), resolve, reject, signal };
      if (signal) {
        waiter.onAbort = () => {
          const queue = this.queues[priority];
          const at = queue.indexOf(waiter);
          if (at >= 0) queue.splice(at, 1);
          if (priority === 'interactive') this.link.client.zrem(this.waitingKey, waiter.id).catch(() => {});
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.queues[priority].push(waiter);
      this.pump();
    });
  }

  private head(): Waiter | undefined {
    return this.queues.interactive[0] ?? this.queues.background[0];
  }

  /** Serves the queue in order, one try at a time; polls while no slot is free. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    if (this.pollTimer) {
      clearTimeout(this.pollTimer);
      this.pollTimer = undefined;
    }
    this.pumping = true;
    void this.serve().finally(() => {
      this.pumping = false;
      if (this.pumpAgain) {
        this.pumpAgain = false;
        this.pump();
      }
    });
  }

  private async serve(): Promise<void> {
    for (let waiter = this.head(); waiter; waiter = this.head()) {
      this.pumpAgain = false;
      const lease = await this.tryTake(waiter);
      const queue = this.queues[waiter.priority];
      const at = queue.indexOf(waiter);
      if (lease === undefined) {
        if (at < 0) continue; // gave up meanwhile
        if (this.pumpAgain) continue; // a slot was freed here meanwhile: try again at once
        this.pollTimer = setTimeout(() => {
          this.pollTimer = undefined;
          this.pump();
        }, this.pollMs);
        this.pollTimer.unref();
        this.pollMs = Math.min(this.pollMs * 2, MAX_POLL_MS);
        return;
      }
      this.pollMs = MIN_POLL_MS;
      if (at < 0) {
        this.release(lease); // gave up while its slot was being taken
        continue;
      }
      queue.splice(at, 1);
      if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
      let released = false;
      waiter.resolve(() => {
        if (released) return;
        released = true;
        this.release(lease);
      });
    }
  }

  /** One try at a slot: in Redis, or from the local share while Redis is unreachable. */
  private async tryTake(waiter: Waiter): Promise<string | undefined> {
    const lease = randomBytes(9).toString('base64url');
    if (this.link.health.isUp()) {
      try {
        const taken = await this.run.connectionAcquire(this.heldKey, this.waitingKey, lease, this.limit, this.leaseMs, waiter.priority, waiter.id, this.waitingMs);
        if (taken !== '1') return undefined;
        this.hold(lease, false);
        return lease;
      } catch {
        // Unreachable: the local share below.
      }
    }
    if (this.degradedHeld >= this.localShare) return undefined;
    this.hold(lease, true);
    return lease;
  }

  private hold(lease: string, degraded: boolean): void {
    this.leases.set(lease, degraded);
    if (degraded) this.degradedHeld += 1;
    if (!this.renewTimer) {
      this.renewTimer = setInterval(() => this.renew(), Math.max(50, Math.floor(this.leaseMs / 3)));
      this.renewTimer.unref();
    }
  }

  private renew(): void {
    if (this.leases.size === 0) return;
    this.run.connectionRenew(this.heldKey, this.leaseMs, ...this.leases.keys()).catch(() => {});
  }

  private release(lease: string): void {
    const degraded = this.leases.get(lease);
    if (degraded === undefined) return;
    this.leases.delete(lease);
    if (degraded) this.degradedHeld -= 1;
    if (this.leases.size === 0 && this.renewTimer) {
      clearInterval(this.renewTimer);
      this.renewTimer = undefined;
    }
    // Unreachable Redis: the lease expires by itself after leaseMs. The queue tries again once
    // the slot is free in Redis too (not before: that try would fail and wait for the next poll).
    this.link.client
      .zrem(this.heldKey, lease)
      .catch(() => {})
      .finally(() => this.pump());
  }

  /** Stops renewing (the bridge is closing; open leases expire with their time). */
  close(): void {
    if (this.renewTimer) clearInterval(this.renewTimer);
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.renewTimer = undefined;
    this.pollTimer = undefined;
  }
}
