/**
 * Where lock records live. `LockManager` (lock-manager.ts) holds the rules of RFC 4918 §6–7
 * (conflicts, coverage, ownership, timeouts); a `LockStore` only keeps the records, so a shared
 * implementation (several bridges serving one account, where a lock taken on one bridge must be
 * enforced by all) can replace the in-memory one without touching the rules.
 *
 * Every method is asynchronous for that reason. `create` is the one step that must be atomic in a
 * shared store: it checks for a conflicting record and inserts the new one in one step, so two
 * bridges granting conflicting locks at the same instant cannot both succeed.
 */
import type { LockDepth, LockScope } from './locking.js';

export interface LockRecord {
  token: string;
  /** Drive path of the lock root. */
  root: string;
  scope: LockScope;
  depth: LockDepth;
  ownerXml: string;
  /**
   * The authenticated user who created the lock (RFC 4918 §6.4: only that principal may use the
   * token); undefined when the server runs without authentication (every client is then the same
   * anonymous principal).
   */
  principal: string | undefined;
  /** Seconds granted at creation or last refresh; Infinity for `Infinite`. */
  timeoutSeconds: number;
  /** Epoch ms when the lock vanishes; Infinity for `Infinite`. */
  expiresAt: number;
}

export interface LockStore {
  /** Every stored record; expired ones may still be among them (the manager filters them out). */
  all(): Promise<LockRecord[]>;
  get(token: string): Promise<LockRecord | undefined>;
  /**
   * Inserts `lock` unless a stored, unexpired (at `now`) record satisfies `conflicts`; returns
   * that record instead (nothing inserted). Atomic: the check and the insertion are one step.
   */
  create(lock: LockRecord, conflicts: (existing: LockRecord) => boolean, now: number): Promise<LockRecord | undefined>;
  /** Replaces the record with the same token (refresh); no-op when it is gone. */
  update(lock: LockRecord): Promise<void>;
  delete(tokens: readonly string[]): Promise<void>;
  /** Number of stored records (expired ones included until purged). */
  count(): Promise<number>;
}

/** The default store: one process's memory. A restart drops every lock; clients re-LOCK. */
export class MemoryLockStore implements LockStore {
  private readonly locks = new Map<string, LockRecord>();

  async all(): Promise<LockRecord[]> {
    return [...this.locks.values()].map((l) => ({ ...l }));
  }

  async get(token: string): Promise<LockRecord | undefined> {
    const l = this.locks.get(token);
    return l && { ...l };
  }

  async create(lock: LockRecord, conflicts: (existing: LockRecord) => boolean, now: number): Promise<LockRecord | undefined> {
    for (const l of this.locks.values()) {
      if (l.expiresAt > now && conflicts(l)) return { ...l };
    }
    this.locks.set(lock.token, { ...lock });
    return undefined;
  }

  async update(lock: LockRecord): Promise<void> {
    if (this.locks.has(lock.token)) this.locks.set(lock.token, { ...lock });
  }

  async delete(tokens: readonly string[]): Promise<void> {
    for (const token of tokens) this.locks.delete(token);
  }

  async count(): Promise<number> {
    return this.locks.size;
  }
}
