/**
 * The lock store (RFC 4918 §6, §7): exclusive and shared write locks, depth 0 and infinity,
 * timeouts with lazy expiry, refresh, unlock, and the write checks every state-changing method
 * runs through `checkPreconditions` (If header → 400/412, then locks → 423).
 *
 * Records live in a `LockStore` (lock-store.ts; in memory by default: a restart drops them, which
 * clients survive, since they re-LOCK when a refresh fails). Lock-null resources are real empty files created by the LOCK handler through
 * Drive.write (RFC 4918 §7.3 "locked empty resource"), so this store knows nothing about them.
 *
 * Who may write (documented choice): a target is blocked by every lock *root* that protects it
 * unless the client submitted the token of at least one lock at that root protecting the target.
 * With exclusive locks that is simply "the lock's token"; with several shared locks on the same
 * root, any one holder may write (what shared write locks are for), but locks rooted elsewhere
 * (a parent's depth-0 lock guarding membership, an ancestor's depth-infinity lock) each need
 * their own token.
 *
 * Ownership (RFC 4918 §6.4): a lock token is usable only by the principal that created the lock.
 * Tokens are not secrets (lockdiscovery shows them to anyone who may read the resource), so a
 * token submitted by another authenticated user does not count as submitted (the write gets 423),
 * and that user can neither refresh nor UNLOCK the lock (403). Without authentication every
 * client is the same anonymous principal, so anyone holding the token may use it.
 */
import { randomUUID } from 'node:crypto';
import { evaluateIfHeader, IfHeaderError, parseIfHeader } from './if-header.js';
import { MemoryLockStore, type LockRecord, type LockStore } from './lock-store.js';
import type {
  ActiveLockInfo,
  IfEvaluationEnv,
  LockDepth,
  LockManagerPort,
  LockScope,
  PreconditionResult,
  WriteTarget,
} from './locking.js';

export type { LockRecord, LockStore } from './lock-store.js';

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
  /** Where the records live; default one process's memory. */
  store?: LockStore;
}

export interface LockRequest {
  path: string;
  scope: LockScope;
  depth: LockDepth;
  ownerXml: string;
  timeoutSeconds: number;
  /** The authenticated user asking; undefined without authentication. */
  principal?: string;
}

export type LockResult = { ok: true; lock: LockRecord } | { ok: false; conflict: LockRecord };

/** `not-owner`: the lock exists and covers the URL, but another principal created it (403). */
export type UnlockResult = 'unlocked' | 'no-such-lock' | 'not-in-scope' | 'not-owner';

export class LockLimitError extends Error {
  override readonly name = 'LockLimitError';
}

const DEFAULT_MAX_TIMEOUT = 3600;

export class LockManager implements LockManagerPort {
  private readonly store: LockStore;
  private readonly now: () => number;
  readonly maxTimeoutSeconds: number;
  readonly defaultTimeoutSeconds: number;
  private readonly maxLocks: number;
  private readonly newToken: () => string;

  constructor(options: LockManagerOptions = {}) {
    this.store = options.store ?? new MemoryLockStore();
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
  async lock(request: LockRequest): Promise<LockResult> {
    const live = await this.live();
    if (live.length >= this.maxLocks) {
      const conflict = live.find((l) => conflictsWith(l, request.path, request.scope, request.depth));
      if (conflict) return { ok: false, conflict };
      throw new LockLimitError('too many active locks');
    }
    const timeoutSeconds = Math.min(request.timeoutSeconds, this.maxTimeoutSeconds);
    const lock: LockRecord = {
      token: this.newToken(),
      root: request.path,
      scope: request.scope,
      depth: request.depth,
      ownerXml: request.ownerXml,
      principal: request.principal,
      timeoutSeconds,
      expiresAt: this.expiry(timeoutSeconds),
    };
    const conflict = await this.store.create(
      lock,
      (l) => conflictsWith(l, request.path, request.scope, request.depth),
      this.now(),
    );
    return conflict ? { ok: false, conflict } : { ok: true, lock };
  }

  /** The first live lock a new lock on `path` would conflict with. */
  async findConflict(path: string, scope: LockScope, depth: LockDepth): Promise<LockRecord | undefined> {
    return (await this.live()).find((l) => conflictsWith(l, path, scope, depth));
  }

  /**
   * Refreshes the lock with one of `tokens` whose scope covers `path` (RFC 4918 §9.10.2: the
   * request may name any resource inside the lock) and that `principal` created. Undefined when
   * none covers the path; 'not-owner' when the only ones that do belong to someone else.
   */
  async refresh(
    path: string,
    tokens: Iterable<string>,
    timeoutSeconds: number,
    principal?: string,
  ): Promise<LockRecord | 'not-owner' | undefined> {
    const live = new Map((await this.live()).map((l) => [l.token, l]));
    let foreign = false;
    for (const token of tokens) {
      const l = live.get(token);
      if (!l || !covers(l.root, l.depth, path)) continue;
      if (l.principal !== principal) {
        foreign = true;
        continue;
      }
      l.timeoutSeconds = Math.min(timeoutSeconds, this.maxTimeoutSeconds);
      l.expiresAt = this.expiry(l.timeoutSeconds);
      await this.store.update(l);
      return l;
    }
    return foreign ? 'not-owner' : undefined;
  }

  /** Removes a lock; the Request-URI must lie inside it (RFC 4918 §9.11.1), the principal own it. */
  async unlock(path: string, token: string, principal?: string): Promise<UnlockResult> {
    const l = await this.get(token);
    if (!l) return 'no-such-lock';
    if (!covers(l.root, l.depth, path)) return 'not-in-scope';
    if (l.principal !== principal) return 'not-owner';
    await this.store.delete([token]);
    return 'unlocked';
  }

  async get(token: string): Promise<LockRecord | undefined> {
    const l = await this.store.get(token);
    return l && l.expiresAt > this.now() ? l : undefined;
  }

  /** Live locks whose scope covers `path` (rooted there, or depth-infinity on an ancestor). */
  async locksCovering(path: string): Promise<LockRecord[]> {
    return (await this.live()).filter((l) => covers(l.root, l.depth, path));
  }

  async activeLocks(path: string): Promise<ActiveLockInfo[]> {
    return (await this.locksCovering(path)).map((l) => this.describe(l));
  }

  /** activeLocks of each of `paths` (same order), reading the lock store once (a listing's lockdiscovery). */
  /**
   * Whether any live lock covers `path` or is rooted inside it: false means no lockdiscovery of
   * `path` or of anything under it shows a lock. One store read.
   */
  async hasLocksTouching(path: string): Promise<boolean> {
    return (await this.live()).some((l) => covers(l.root, l.depth, path) || isBelow(l.root, path));
  }

  async activeLocksOf(paths: string[]): Promise<ActiveLockInfo[][]> {
    const live = await this.live();
    if (live.length === 0) return paths.map(() => []);
    return paths.map((path) => live.filter((l) => covers(l.root, l.depth, path)).map((l) => this.describe(l)));
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
  async forgetTree(path: string): Promise<void> {
    const gone = (await this.store.all()).filter((l) => samePath(l.root, path) || isBelow(l.root, path));
    if (gone.length > 0) await this.store.delete(gone.map((l) => l.token));
  }

  /** The first lock root that blocks a write to `target` given the submitted tokens. */
  async blockingLock(target: WriteTarget, submitted: ReadonlySet<string>): Promise<LockRecord | undefined> {
    const byRoot = new Map<string, LockRecord[]>();
    for (const l of await this.live()) {
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
    principal?: string;
  }): Promise<PreconditionResult> {
    const evaluation = await this.evaluateIf(input.ifHeader, input.env, input.principal);
    if (!evaluation.ok) return evaluation;
    for (const target of input.targets) {
      const blocking = await this.blockingLock(target, evaluation.submittedTokens);
      if (blocking) {
        return { ok: false, status: 423, lockRoot: blocking.root, message: `${target.path} is locked` };
      }
    }
    return { ok: true };
  }

  /**
   * Parses and evaluates an If header (absent = true, nothing submitted). Exposed for LOCK/UNLOCK,
   * which need the submitted tokens themselves (refresh names its lock through the If header).
   * Tokens of locks another principal created are dropped from the submitted set (RFC 4918 §6.4):
   * the header may still be true, but the lock still blocks (423).
   */
  async evaluateIf(
    ifHeader: string | undefined,
    env: IfEvaluationEnv,
    principal?: string,
  ): Promise<{ ok: true; submittedTokens: Set<string> } | { ok: false; status: 400 | 412; message: string }> {
    if (ifHeader === undefined) return { ok: true, submittedTokens: new Set() };
    let parsed;
    try {
      parsed = parseIfHeader(ifHeader);
    } catch (err) {
      if (err instanceof IfHeaderError) return { ok: false, status: 400, message: err.message };
      throw err;
    }
    const live = await this.live();
    const result = await evaluateIfHeader(parsed, {
      requestPath: env.requestPath,
      resolveTag: (tag) => env.resolveHref(tag),
      stateOf: async (path) => ({
        etag: await env.etagOf(path),
        lockTokens: new Set(live.filter((l) => covers(l.root, l.depth, path)).map((l) => l.token)),
      }),
    });
    if (!result.satisfied) return { ok: false, status: 412, message: 'If header evaluated to false' };
    const foreign = new Set(live.filter((l) => l.principal !== principal).map((l) => l.token));
    return { ok: true, submittedTokens: new Set([...result.submittedTokens].filter((t) => !foreign.has(t))) };
  }

  /** Number of live locks (for tests and diagnostics). */
  async size(): Promise<number> {
    return (await this.live()).length;
  }

  private expiry(seconds: number): number {
    return seconds === Infinity ? Infinity : this.now() + seconds * 1000;
  }

  /** Every unexpired record; expired ones are deleted from the store on the way. */
  private async live(): Promise<LockRecord[]> {
    const now = this.now();
    const all = await this.store.all();
    const expired = all.filter((l) => l.expiresAt <= now).map((l) => l.token);
    if (expired.length > 0) await this.store.delete(expired);
    return all.filter((l) => l.expiresAt > now);
  }
}

/** Locks overlap when one covers the other's root; they conflict unless both are shared. */
function conflictsWith(l: LockRecord, path: string, scope: LockScope, depth: LockDepth): boolean {
  if (scope === 'shared' && l.scope === 'shared') return false;
  return covers(l.root, l.depth, path) || (depth === 'infinity' && isBelow(l.root, path));
}

/**
 * Does a lock rooted at `root` with `depth` cover `path`? Paths compare in Unicode NFC: macOS sends
 * `e` + U+0301 where Windows sends `é`, and the drive finds the same entry for both (docs/names.md),
 * so a lock taken in one form must guard the other.
 */
export function covers(root: string, depth: LockDepth, path: string): boolean {
  return samePath(root, path) || (depth === 'infinity' && isBelow(path, root));
}

/** The same resource path, whatever the Unicode normalisation form each was sent in. */
export function samePath(a: string, b: string): boolean {
  return a === b || a.normalize('NFC') === b.normalize('NFC');
}

/** Is `path` strictly below `ancestor` (compared in NFC, like `covers`)? */
export function isBelow(path: string, ancestor: string): boolean {
  path = path.normalize('NFC');
  ancestor = ancestor.normalize('NFC');
  if (path === ancestor) return false;
  return ancestor === '/' ? path.startsWith('/') : path.startsWith(`${ancestor}/`);
}

function positiveOr(value: number | undefined, fallback: number): number {
  return value !== undefined && value > 0 ? value : fallback;
}
