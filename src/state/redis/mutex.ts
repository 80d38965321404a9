/**
 * A mutual exclusion lock on one name, held across bridges through Redis: `SET key value NX PX`
 * takes it, a Lua compare-and-delete gives it back, and a holder renews it while its work runs,
 * so a long upload keeps it and a crashed bridge loses it after `ttlMs`.
 *
 * Each grant carries a fencing token (a counter incremented by every grant of that name), so a
 * holder whose lease ran out while it was stalled can tell (`held()` turns false) and work that
 * records the token can refuse an older one. The value stored is `<fence>:<random>`; only the
 * holder that wrote it can renew or release it.
 *
 * When Redis cannot be reached, `acquire` throws `MutexUnavailableError` at once: the caller
 * (a write) answers 503 with Retry-After instead of writing without the lock.
 */
import { randomBytes } from 'node:crypto';
import { defineScripts } from './budget-store.js';
import type { RedisLink } from './connection.js';

export class MutexUnavailableError extends Error {
  override readonly name = 'MutexUnavailableError';
}

const SCRIPTS = {
  /** KEYS: lock, fence counter. ARGV: random, ttlMs. → fence number, or 0 when held by someone else. */
  mutexAcquire: {
    keys: 2,
    lua: `
if redis.call('EXISTS', KEYS[1]) == 1 then return '0' end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], fence .. ':' .. ARGV[1], 'PX', ARGV[2])
return tostring(fence)
`,
  },
  /** KEYS: lock. ARGV: value, ttlMs. → 1 when still ours (and renewed), 0 otherwise. */
  mutexRenew: {
    keys: 1,
    lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return '1' end
return '0'
`,
  },
  /** KEYS: lock. ARGV: value. Deletes the lock only if it is still ours. */
  mutexRelease: {
    keys: 1,
    lua: `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return '1' end
return '0'
`,
  },
} as const;

export interface MutexOptions {
  /** Lease in ms; renewed every third of it while held. Default 15 000. */
  ttlMs?: number;
  /** Longest wait for a held lock before giving up (ms). Default 120 000. */
  waitMs?: number;
  /** First poll interval while waiting (ms), doubled up to 200. Default 10. */
  pollMs?: number;
}

/** A granted lock: `release` once the work is done (idempotent). */
export interface MutexLease {
  fence: number;
  /** false once the lease was lost (not renewed in time, or Redis lost it). */
  held(): boolean;
  release(): Promise<void>;
}

export class RedisMutex {
  private readonly run;
  private readonly ttlMs: number;
  private readonly waitMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly link: RedisLink,
    /** Namespace under the account prefix, e.g. `path-lock`. */
    private readonly namespace: string,
    options: MutexOptions = {},
  ) {
    this.run = defineScripts(link.client, SCRIPTS);
    this.ttlMs = options.ttlMs ?? 15_000;
    this.waitMs = options.waitMs ?? 120_000;
    this.pollMs = options.pollMs ?? 10;
  }

  /**
   * Waits until `name` is free and takes it. Throws MutexUnavailableError when Redis is
   * unreachable (now or while waiting) or the wait exceeds `waitMs`; AbortError-like when `signal`
   * aborts.
   */
  async acquire(name: string, signal?: AbortSignal): Promise<MutexLease> {
    const key = this.link.key(`${this.namespace}:${name}`);
    const fenceKey = this.link.key(`${this.namespace}-fence:${name}`);
    const random = randomBytes(12).toString('hex');
    const started = Date.now();
    let delay = this.pollMs;
    for (;;) {
      signal?.throwIfAborted();
      let fence: number;
      try {
        fence = Number(await this.run.mutexAcquire(key, fenceKey, random, this.ttlMs));
      } catch (error) {
        throw new MutexUnavailableError(`the shared lock service (Redis) is unreachable: ${(error as Error).message}`);
      }
      if (fence > 0) return this.lease(key, `${fence}:${random}`, fence);
      if (Date.now() - started > this.waitMs) throw new MutexUnavailableError(`"${name}" stayed locked by another bridge for ${Math.round(this.waitMs / 1000)} s`);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 200);
    }
  }

  private lease(key: string, value: string, fence: number): MutexLease {
    let held = true;
    const renew = setInterval(() => {
      this.run.mutexRenew(key, value, this.ttlMs).then(
        (r) => {
          if (String(r) !== '1') held = false;
        },
        // A failed renewal is retried on the next tick; the lease runs out by itself otherwise.
        () => {},
      );
    }, Math.max(50, Math.floor(this.ttlMs / 3)));
    renew.unref();
    let released: Promise<void> | undefined;
    return {
      fence,
      held: () => held,
      release: () => {
        released ??= (async () => {
          clearInterval(renew);
          held = false;
          // Unreachable Redis: the lease expires by itself after ttlMs.
          await this.run.mutexRelease(key, value).catch(() => {});
        })();
        return released;
      },
    };
  }
}
