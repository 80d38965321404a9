/**
 * WebDAV lock records in Redis (`--redis-url`), so a lock taken through one bridge is enforced by
 * every bridge of the account: a PUT without the token on bridge B answers 423 while bridge A's
 * client holds the lock. The rules (conflicts, coverage, owner, timeouts; RFC 4918 §6–7) stay in
 * `LockManager`; this keeps the records.
 *
 * - One key per lock, `lock:<token>`, holding the record as JSON, with the lock's timeout as its
 *   `PX` expiry (plus a second of slack; the manager filters expired records itself), so a lock
 *   whose holder vanished disappears from Redis on its own. A set `locks` indexes the tokens.
 * - `create` must check for conflicts and insert in one step across bridges; the conflict test is
 *   the manager's (RFC rules in TypeScript), so the step runs under a short Redis mutex.
 * - Redis unreachable: creating, refreshing and removing locks throw DriveError 'unavailable'
 *   (503 with Retry-After); reading them answers the records last seen, so PROPFIND keeps working.
 *   A write cannot slip past a lock meanwhile: every write also needs the cross-bridge path lock
 *   (path-ordering.ts), which is refused with 503 too.
 */
import { DriveError } from '../../drive/types.js';
import type { LockRecord, LockStore } from '../../webdav/lock-store.js';
import type { RedisLink } from './connection.js';
import { MutexUnavailableError, RedisMutex } from './mutex.js';

/** Retry-After (seconds) suggested while Redis is unreachable. */
export const REDIS_RETRY_AFTER_SECONDS = 5;

const EXPIRY_SLACK_MS = 1_000;

type StoredLock = Omit<LockRecord, 'timeoutSeconds' | 'expiresAt'> & { timeoutSeconds: number | null; expiresAt: number | null };

function encode(lock: LockRecord): string {
  const stored: StoredLock = {
    ...lock,
    timeoutSeconds: Number.isFinite(lock.timeoutSeconds) ? lock.timeoutSeconds : null,
    expiresAt: Number.isFinite(lock.expiresAt) ? lock.expiresAt : null,
  };
  return JSON.stringify(stored);
}

function decode(text: string): LockRecord {
  const stored = JSON.parse(text) as StoredLock;
  return { ...stored, timeoutSeconds: stored.timeoutSeconds ?? Infinity, expiresAt: stored.expiresAt ?? Infinity };
}

export function unavailable(what: string): DriveError {
  return new DriveError('unavailable', `${what}: the shared lock service (Redis) is unreachable; try again shortly`, REDIS_RETRY_AFTER_SECONDS);
}

export class RedisLockStore implements LockStore {
  private readonly indexKey: string;
  private readonly mutex: RedisMutex;
  /** The records last read from Redis (served while it is unreachable). */
  private lastSeen = new Map<string, LockRecord>();

  constructor(private readonly link: RedisLink) {
    this.indexKey = link.key('locks');
    this.mutex = new RedisMutex(link, 'locks-create', { ttlMs: 5_000, waitMs: 10_000, pollMs: 2 });
  }

  private lockKey(token: string): string {
    return this.link.key(`lock:${token}`);
  }

  private async readAll(): Promise<LockRecord[]> {
    const tokens = await this.link.client.smembers(this.indexKey);
    if (tokens.length === 0) {
      this.lastSeen = new Map();
      return [];
    }
    const values = await this.link.client.mget(tokens.map((t) => this.lockKey(t)));
    const gone = tokens.filter((_, i) => values[i] === null);
    if (gone.length > 0) await this.link.client.srem(this.indexKey, ...gone);
    const records = values.filter((v): v is string => v !== null).map(decode);
    this.lastSeen = new Map(records.map((r) => [r.token, r]));
    return records;
  }

  async all(): Promise<LockRecord[]> {
    try {
      return await this.readAll();
    } catch {
      return [...this.lastSeen.values()].map((l) => ({ ...l }));
    }
  }

  async get(token: string): Promise<LockRecord | undefined> {
    try {
      const value = await this.link.client.get(this.lockKey(token));
      return value === null ? undefined : decode(value);
    } catch {
      const seen = this.lastSeen.get(token);
      return seen && { ...seen };
    }
  }

  async create(lock: LockRecord, conflicts: (existing: LockRecord) => boolean, now: number): Promise<LockRecord | undefined> {
    let lease;
    try {
      lease = await this.mutex.acquire('all');
    } catch (error) {
      if (error instanceof MutexUnavailableError) throw unavailable('cannot take the lock');
      throw error;
    }
    try {
      const existing = await this.readAll().catch(() => {
        throw unavailable('cannot take the lock');
      });
      const conflict = existing.find((l) => l.expiresAt > now && conflicts(l));
      if (conflict) return conflict;
      await this.write(lock, now, 'create').catch((error: unknown) => {
        throw error instanceof DriveError ? error : unavailable('cannot take the lock');
      });
      return undefined;
    } finally {
      await lease.release();
    }
  }

  private async write(lock: LockRecord, now: number, mode: 'create' | 'update'): Promise<void> {
    const key = this.lockKey(lock.token);
    const multi = this.link.client.multi();
    const value = encode(lock);
    const ttl = Number.isFinite(lock.expiresAt) ? Math.max(1, Math.ceil(lock.expiresAt - now + EXPIRY_SLACK_MS)) : undefined;
    if (mode === 'update') {
      if (ttl === undefined) multi.set(key, value, 'XX');
      else multi.set(key, value, 'PX', ttl, 'XX');
    } else {
      if (ttl === undefined) multi.set(key, value);
      else multi.set(key, value, 'PX', ttl);
      multi.sadd(this.indexKey, lock.token);
    }
    const results = await multi.exec();
    const failed = results?.find(([error]) => error);
    if (!results || failed) throw failed?.[0] ?? new Error('transaction aborted');
    this.lastSeen.set(lock.token, { ...lock });
  }

  async update(lock: LockRecord): Promise<void> {
    await this.write(lock, Date.now(), 'update').catch(() => {
      throw unavailable('cannot refresh the lock');
    });
  }

  async delete(tokens: readonly string[]): Promise<void> {
    if (tokens.length === 0) return;
    try {
      await this.link.client
        .multi()
        .del(...tokens.map((t) => this.lockKey(t)))
        .srem(this.indexKey, ...tokens)
        .exec();
    } catch {
      throw unavailable('cannot remove the lock');
    }
    for (const token of tokens) this.lastSeen.delete(token);
  }

  async count(): Promise<number> {
    return (await this.all()).length;
  }
}
