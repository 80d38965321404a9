/**
 * Per-path ordering of writes across every bridge of an account (`PathLocks`, src/drive/path-locks.ts):
 * two writes whose paths overlap (the same path, or one inside the other) never run at once, even
 * on two bridges. Without it, two PUTs of one path on bridges A and B would each plan against the
 * old state, and since 1fichier never overwrites, leave two files of that name.
 *
 * - Within one bridge the in-process FIFO orders writes (fair, and no Redis polling for them);
 *   the Redis lock then orders this bridge's holder against the other bridges'.
 * - Redis keeps one hash of held paths, `path-locks` (path → `<holder>|<expiry ms>`). One Lua
 *   script checks every unexpired held path for an overlap with the wanted ones and takes them all
 *   or none, so two bridges cannot both win, and a MOVE's two paths cannot deadlock with another's.
 *   Expiry uses Redis's own clock (TIME), so bridges' clocks need not agree.
 * - A holder renews its lease every third of `ttlMs` while its write runs (a long upload); a bridge
 *   that dies loses its paths after `ttlMs`. Each grant has a fencing number (INCR).
 * - After the lock is granted, `afterAcquire` runs (the cache bus catches up), so the write sees the
 *   previous holder's result in its cache before planning.
 * - Redis unreachable: `acquire` rejects at once with DriveError 'unavailable' (503 + Retry-After);
 *   no write runs without the lock.
 */
import { randomBytes } from 'node:crypto';
import { InProcessPathLocks, type PathLocks, type Release } from '../../drive/path-locks.js';
import { defineScripts } from './budget-store.js';
import type { RedisLink } from './connection.js';
import { unavailable } from './lock-store.js';

const NOW_MS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

const SCRIPTS = {
  /** KEYS: held hash, fence counter. ARGV: holder, ttlMs, paths... → fence, or '0' when one overlaps a held path. */
  pathLocksAcquire: {
    keys: 2,
    lua: `${NOW_MS}
local holder, ttl = ARGV[1], tonumber(ARGV[2])
local function overlap(a, b)
  if a == b or a == '/' or b == '/' then return true end
  return string.sub(a, 1, #b + 1) == b .. '/' or string.sub(b, 1, #a + 1) == a .. '/'
end
local held = redis.call('HGETALL', KEYS[1])
for i = 1, #held, 2 do
  local path, value = held[i], held[i + 1]
  local bar = string.find(value, '|', 1, true)
  if tonumber(string.sub(value, bar + 1)) <= now then
    redis.call('HDEL', KEYS[1], path)
  else
    for j = 3, #ARGV do
      if overlap(path, ARGV[j]) then return '0' end
    end
  end
end
local fence = redis.call('INCR', KEYS[2])
for j = 3, #ARGV do redis.call('HSET', KEYS[1], ARGV[j], holder .. '|' .. tostring(now + ttl)) end
return tostring(fence)
`,
  },
  /** KEYS: held hash. ARGV: holder, ttlMs, paths... → how many are still ours (renewed). */
  pathLocksRenew: {
    keys: 1,
    lua: `${NOW_MS}
local kept = 0
for j = 3, #ARGV do
  local value = redis.call('HGET', KEYS[1], ARGV[j])
  if value and string.sub(value, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then
    redis.call('HSET', KEYS[1], ARGV[j], ARGV[1] .. '|' .. tostring(now + tonumber(ARGV[2])))
    kept = kept + 1
  end
end
return tostring(kept)
`,
  },
  /** KEYS: held hash. ARGV: holder, paths... Gives back the paths still ours. */
  pathLocksRelease: {
    keys: 1,
    lua: `
for j = 2, #ARGV do
  local value = redis.call('HGET', KEYS[1], ARGV[j])
  if value and string.sub(value, 1, #ARGV[1] + 1) == ARGV[1] .. '|' then redis.call('HDEL', KEYS[1], ARGV[j]) end
end
return '1'
`,
  },
} as const;

export interface RedisPathLocksOptions {
  /** Lease (ms), renewed every third of it while held. Default 15 000. */
  ttlMs?: number;
  /** Runs once the paths are held, before the write (the cache bus catches up). */
  afterAcquire?: () => Promise<void>;
  /** Told when a holder lost its lease while writing (Redis lost it, or a renewal came too late). */
  onLeaseLost?: (paths: readonly string[]) => void;
}

export class RedisPathLocks implements PathLocks {
  private readonly local = new InProcessPathLocks();
  private readonly run;
  private readonly heldKey: string;
  private readonly fenceKey: string;
  private readonly ttlMs: number;

  constructor(
    private readonly link: RedisLink,
    private readonly options: RedisPathLocksOptions = {},
  ) {
    this.run = defineScripts(link.client, SCRIPTS);
    this.heldKey = link.key('path-locks');
    this.fenceKey = link.key('path-locks-fence');
    this.ttlMs = options.ttlMs ?? 15_000;
  }

  /**
   * Holds `paths` on this bridge and across bridges. Rejects with DriveError 'unavailable' when
   * Redis is unreachable (before or while waiting).
   */
  async acquire(paths: readonly string[]): Promise<Release> {
    const wanted = [...new Set(paths)];
    const releaseLocal = await this.local.acquire(wanted);
    try {
      const holder = `${randomBytes(9).toString('base64url')}`;
      const fence = await this.acquireShared(holder, wanted);
      const lost = (): void => this.options.onLeaseLost?.(wanted);
      const renew = setInterval(() => {
        this.run.pathLocksRenew(this.heldKey, holder, this.ttlMs, ...wanted).then(
          (kept) => {
            if (Number(kept) < wanted.length) lost();
          },
          () => {},
        );
      }, Math.max(50, Math.floor(this.ttlMs / 3)));
      renew.unref();
      await this.options.afterAcquire?.().catch(() => {});
      void fence;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        clearInterval(renew);
        // Unreachable Redis: the paths free themselves after ttlMs.
        this.run.pathLocksRelease(this.heldKey, holder, ...wanted).catch(() => {}).finally(releaseLocal);
      };
    } catch (error) {
      releaseLocal();
      throw error;
    }
  }

  private async acquireShared(holder: string, paths: string[]): Promise<number> {
    let delay = 5;
    for (;;) {
      let fence: number;
      try {
        fence = Number(await this.run.pathLocksAcquire(this.heldKey, this.fenceKey, holder, this.ttlMs, ...paths));
      } catch {
        throw unavailable(`cannot order the write to ${paths.join(' and ')}`);
      }
      if (fence > 0) return fence;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 100);
    }
  }
}


