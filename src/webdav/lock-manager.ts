/**
 * The lock store (RFC 4918 §6, §7): exclusive and shared write locks, depth 0 and infinity,
 * timeouts with lazy expiry, refresh, unlock, and the write checks every state-changing method
 * runs through `checkPreconditions` (If header → 400/412, then locks → 423).
 *
 * Locks live in memory only: a restart drops them, which clients survive (they re-LOCK when a
 * refresh fails). Lock-null resources are real empty files created by the LOCK handler through
 * Drive.write (RFC 4918 §7.3 "locked empty resource"), so this store knows nothing about them.
 *
 * Who may write (documented choice): a target is blocked by every lock *root* that protects it
 * unless the client submitted the token of at least one lock at that root protecting the target.
 * With exclusive locks that is simply "the lock's token"; with several shared locks on the same
 * root, any one holder may write (what shared write locks are for), but locks rooted elsewhere
 * (a parent's depth-0 lock guarding membership, an ancestor's depth-infinity lock) each need
 * their own token.
 */
import { randomUUID } from 'node:crypto';
import { evaluateIfHeader, IfHeaderError, parseIfHeader } from './if-header.js';
import type {
  ActiveLockInfo,
  IfEvaluationEnv,
  LockDepth,
  LockManagerPort,
  LockScope,
  PreconditionResult,
  WriteTarget,
} from './locking.js';

export interface LockManagerOptions {
  /** Milliseconds since the epoch; injectable so tests can move time. */
  now?: () => number;
  /** Longest timeout granted, in seconds (Infinity allows `Infinite`). Default 3600. */
  maxTimeoutSeconds?: number;
  /** Granted when the client sends no usable Timeout header. Default: maxTimeoutSeconds or 3600. */
  defaultTimeoutSeconds?: number;
  /** Refuse new locks beyond this many live ones (memory bound against a LOCK flood). */
  maxLocks?: number;
  /** Token generator; default `urn:uuid:` + a random UUID. */
  newToken?: () => string;
}

export interface LockRecord {
  token: string;
  root: string;
  scope: LockScope;
  depth: LockDepth;
  ownerXml: string;
  /** Seconds granted at creation or last refresh; Infinity for `Infinite`. */
  timeoutSeconds: number;
  /** Epoch ms when the lock vanishes; Infinity for `Infinite`. */
  expiresAt: number;
}

export interface LockRequest {
  path: string;
  scope: LockScope;
  depth: LockDepth;
  ownerXml: string;
  timeoutSeconds: number;
}

export type LockResult = { ok: true; lock: LockRecord } | { ok: false; conflict: LockRecord };

export type UnlockResult = 'unlocked' | 'no-such-lock' | 'not-in-scope';

export class LockLimitError extends Error {
  override readonly name = 'LockLimitError';
}

const DEFAULT_MAX_TIMEOUT = 3600;

export class LockManager implements LockManagerPort {
  private readonly locks = new Map<string, LockRecord>();
  private readonly now: () => number;
  readonly maxTimeoutSeconds: number;
  readonly defaultTimeoutSeconds: number;
  private readonly maxLocks: number;
  private readonly newToken: () => string;

  constructor(options: LockManagerOptions = {}) {
    this.now = options.now ?? Date.now;
    this.maxTimeoutSeconds = positiveOr(options.maxTimeoutSeconds, DEFAULT_MAX_TIMEOUT);
    const fallbackDefault = Number.isFinite(this.maxTimeoutSeconds) ? this.maxTimeoutSeconds : DEFAULT_MAX_TIMEOUT;
    this.defaultTimeoutSeconds = Math.min(
      positiveOr(options.defaultTimeoutSeconds, fallbackDefault),
      this.maxTimeoutSeconds,
    );
    this.maxLocks = positiveOr(options.maxLocks, 100_000);
    this.newToken = options.newToken ?? (() => `urn:uuid:${randomUUID()}`);
  }

  /**
   * Seconds to grant for a `Timeout` header (RFC 4918 §10.7): the first entry we understand
   * (`Second-N` or `Infinite`), capped at the maximum; the default when absent or unusable
   * (the header is only a request, so an odd value is not worth a 400).
   */
  grantTimeout(header: string | undefined): number {
    if (header === undefined) return this.defaultTimeoutSeconds;
    for (const raw of header.split(',')) {
      const entry = raw.trim();
      if (/^infinite$/i.test(entry)) return this.maxTimeoutSeconds;
      const m = /^second-(\d{1,12})$/i.exec(entry);
      if (m) return Math.min(Math.max(1, Number(m[1])), this.maxTimeoutSeconds);
    }
    return this.defaultTimeoutSeconds;
  }

  /** Creates a lock unless an existing one conflicts (RFC 4918 §6.1, §9.10.5). */
  lock(request: LockRequest): LockResult {
    this.purgeExpired();
    const conflict = this.findConflict(request.path, request.scope, request.depth);
    if (conflict) return { ok: false, conflict };
    if (this.locks.size >= this.maxLocks) throw new LockLimitError('too many active locks');
    const timeoutSeconds = Math.min(request.timeoutSeconds, this.maxTimeoutSeconds);
    const lock: LockRecord = {
      token: this.newToken(),
      root: request.path,
      scope: request.scope,
      depth: request.depth,
      ownerXml: request.ownerXml,
      timeoutSeconds,
      expiresAt: this.expiry(timeoutSeconds),
    };
    this.locks.set(lock.token, lock);
    return { ok: true, lock };
  }

  /**
   * The first live lock a new lock on `path` would conflict with: locks overlap when one covers
   * the other's root; they conflict unless both are shared.
   */
  findConflict(path: string, scope: LockScope, depth: LockDepth): LockRecord | undefined {
    this.purgeExpired();
    for (const l of this.locks.values()) {
      if (scope === 'shared' && l.scope === 'shared') continue;
      if (covers(l.root, l.depth, path) || (depth === 'infinity' && isBelow(l.root, path))) return l;
    }
    return undefined;
  }

  /**
   * Refreshes the lock with one of `tokens` whose scope covers `path` (RFC 4918 §9.10.2: the
   * request may name any resource inside the lock). Undefined when none does.
   */
  refresh(path: string, tokens: Iterable<string>, timeoutSeconds: number): LockRecord | undefined {
    this.purgeExpired();
    for (const token of tokens) {
      const l = this.locks.get(token);
      if (l && covers(l.root, l.depth, path)) {
        l.timeoutSeconds = Math.min(timeoutSeconds, this.maxTimeoutSeconds);
        l.expiresAt = this.expiry(l.timeoutSeconds);
        return l;
      }
    }
    return undefined;
  }

  /** Removes a lock; the Request-URI must lie inside it (RFC 4918 §9.11.1). */
  unlock(path: string, token: string): UnlockResult {
    this.purgeExpired();
    const l = this.locks.get(token);
    if (!l) return 'no-such-lock';
    if (!covers(l.root, l.depth, path)) return 'not-in-scope';
    this.locks.delete(token);
    return 'unlocked';
  }

  get(token: string): LockRecord | undefined {
    this.purgeExpired();
    return this.locks.get(token);
  }

  /** Live locks whose scope covers `path` (rooted there, or depth-infinity on an ancestor). */
  locksCovering(path: string): LockRecord[] {
    this.purgeExpired();
    return [...this.locks.values()].filter((l) => covers(l.root, l.depth, path));
  }

  activeLocks(path: string): ActiveLockInfo[] {
    return this.locksCovering(path).map((l) => this.describe(l));
  }

  describe(l: LockRecord): ActiveLockInfo {
    return {
      token: l.token,
      root: l.root,
      scope: l.scope,
      depth: l.depth,
      ownerXml: l.ownerXml,
      timeout: l.expiresAt === Infinity ? 'infinite' : Math.max(0, Math.ceil((l.expiresAt - this.now()) / 1000)),
    };
  }

  /** Locks rooted at `path` or below it disappear with the resource (DELETE, MOVE source). */
  forgetTree(path: string): void {
    for (const [token, l] of this.locks) {
      if (l.root === path || isBelow(l.root, path)) this.locks.delete(token);
    }
  }

  /** The first lock root that blocks a write to `target` given the submitted tokens. */
  blockingLock(target: WriteTarget, submitted: ReadonlySet<string>): LockRecord | undefined {
    this.purgeExpired();
    const byRoot = new Map<string, LockRecord[]>();
    for (const l of this.locks.values()) {
      const protects =
        covers(l.root, l.depth, target.path) || (target.depth === 'infinity' && isBelow(l.root, target.path));
      if (!protects) continue;
      const group = byRoot.get(l.root);
      if (group) group.push(l);
      else byRoot.set(l.root, [l]);
    }
    for (const group of byRoot.values()) {
      if (!group.some((l) => submitted.has(l.token))) return group[0];
    }
    return undefined;
  }

  async checkPreconditions(input: {
    ifHeader: string | undefined;
    targets: WriteTarget[];
    env: IfEvaluationEnv;
  }): Promise<PreconditionResult> {
    const evaluation = await this.evaluateIf(input.ifHeader, input.env);
    if (!evaluation.ok) return evaluation;
    for (const target of input.targets) {
      const blocking = this.blockingLock(target, evaluation.submittedTokens);
      if (blocking) {
        return { ok: false, status: 423, lockRoot: blocking.root, message: `${target.path} is locked` };
      }
    }
    return { ok: true };
  }

  /**
   * Parses and evaluates an If header (absent = true, nothing submitted). Exposed for LOCK/UNLOCK,
   * which need the submitted tokens themselves (refresh names its lock through the If header).
   */
  async evaluateIf(
    ifHeader: string | undefined,
    env: IfEvaluationEnv,
  ): Promise<{ ok: true; submittedTokens: Set<string> } | { ok: false; status: 400 | 412; message: string }> {
    if (ifHeader === undefined) return { ok: true, submittedTokens: new Set() };
    let parsed;
    try {
      parsed = parseIfHeader(ifHeader);
    } catch (err) {
      if (err instanceof IfHeaderError) return { ok: false, status: 400, message: err.message };
      throw err;
    }
    const result = await evaluateIfHeader(parsed, {
      requestPath: env.requestPath,
      resolveTag: (tag) => env.resolveHref(tag),
      stateOf: async (path) => ({
        etag: await env.etagOf(path),
        lockTokens: new Set(this.locksCovering(path).map((l) => l.token)),
      }),
    });
    if (!result.satisfied) return { ok: false, status: 412, message: 'If header evaluated to false' };
    return { ok: true, submittedTokens: result.submittedTokens };
  }

  /** Number of live locks (for tests and diagnostics). */
  get size(): number {
    this.purgeExpired();
    return this.locks.size;
  }

  private expiry(seconds: number): number {
    return seconds === Infinity ? Infinity : this.now() + seconds * 1000;
  }

  private purgeExpired(): void {
    const now = this.now();
    for (const [token, l] of this.locks) {
      if (l.expiresAt <= now) this.locks.delete(token);
    }
  }
}

/** Does a lock rooted at `root` with `depth` cover `path`? */
export function covers(root: string, depth: LockDepth, path: string): boolean {
  return root === path || (depth === 'infinity' && isBelow(path, root));
}

/** Is `path` strictly below `ancestor`? */
export function isBelow(path: string, ancestor: string): boolean {
  if (path === ancestor) return false;
  return ancestor === '/' ? path.startsWith('/') : path.startsWith(`${ancestor}/`);
}

function positiveOr(value: number | undefined, fallback: number): number {
  return value !== undefined && value > 0 ? value : fallback;
}
