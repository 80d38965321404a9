/**
 * Where the scheduler keeps the account's API budget: the rate bucket, the per-key windows
 * (one listing of a folder per 30 s, all files once per hour, user/info once per 60 s) and the
 * flood cool-down. 1fichier counts these per ACCOUNT, not per process, so every process of an
 * account (serve, the CLI, several serves, several machines) must draw from one store, and a
 * restart must resume it instead of starting afresh.
 *
 * Implementations: `MemoryBudgetStore` (one process; tests and the library's default), the
 * SQLite store in `src/state/budget-db.ts` (every process of the account on one machine), and a
 * Redis one (several bridges) with the same contract.
 *
 * ## Contract
 *
 * - Times are wall-clock milliseconds (the Unix epoch): processes share no monotonic clock. The
 *   scheduler passes its own `now`; a store never reads a clock itself, so a fake clock drives it.
 * - Every method that changes state is ONE atomic claim: between its read and its write no other
 *   process of the account may change the same state (SQLite: an IMMEDIATE transaction; Redis: one
 *   Lua script per method). The four claims are `claimSend` (rate bucket + cool-down),
 *   `claimWindow` / `extendWindow` / `releaseWindow` (one window key), and `recordFlood`.
 * - Methods may resolve later than they are called (a network store); the scheduler never holds
 *   a lock of its own across an await, so a slow store only slows dispatch down.
 * - A store that fails rejects; the scheduler lets the failed call fail (never sends unbudgeted).
 * - Policies (rate, window span, cool-down steps) come with each call, already scaled: a store
 *   keeps only state, so processes started with different settings still share one budget.
 */
import { TokenBucket, type TokenBucketState } from './token-bucket.js';

/** The rate bucket's settings: `ratePerMs` tokens per ms, at most `burst` stored. */
export interface RatePolicy {
  ratePerMs: number;
  burst: number;
}

/** How a flood cool-down grows: nominal ms, multiplied by `scale` when applied. */
export interface CooldownPolicy {
  /** First cool-down (rclone sleeps 30 s). */
  firstMs: number;
  /** Ceiling of the doubling (JDownloader backs off 5 min). */
  maxMs: number;
  /** A flood this long after the last cool-down ended starts again from `firstMs`. */
  resetMs: number;
  scale: number;
}

/** The account's flood cool-down: wall-clock ms; `until` 0 when there never was one. */
export interface CooldownState {
  /** Nothing may be sent before this instant. */
  until: number;
  /** When the current (or last) cool-down started; answers to calls sent before it are echoes. */
  startedAt: number;
  /** The current step, nominal ms (0: none yet). */
  level: number;
}

export const NO_COOLDOWN: CooldownState = { until: 0, startedAt: 0, level: 0 };

/** What `claimWindow` answers. */
export type WindowClaim =
  /** The window was open: it is now held until `until`; `previous` is what `releaseWindow` restores. */
  | { granted: true; until: number; previous: number }
  /** The window is closed for `waitMs` more ms. */
  | { granted: false; waitMs: number };

/** What `claimSend` answers. */
export interface SendClaim {
  /** 0: the token was taken, send now; otherwise ms to wait before asking again. */
  waitMs: number;
  /** The account's cool-down as stored (so the caller learns of other processes' floods). */
  cooldown: CooldownState;
}

export interface BudgetStore {
  /**
   * Takes one token of the account's rate bucket at `now`, unless a flood cool-down is in force
   * (then nothing is taken and `waitMs` runs to its end). Atomic.
   */
  claimSend(now: number, rate: RatePolicy): Promise<SendClaim>;
  /** When the window `key` opens again (wall-clock ms; 0 when it is open). A read, not a claim. */
  windowOpensAt(key: string): Promise<number>;
  /**
   * Claims the window `key` for one call sent at `now`: when it is open (opens-at <= now) it is
   * closed until `now + holdMs` and the claim is granted; otherwise nothing changes. Atomic.
   */
  claimWindow(key: string, now: number, holdMs: number): Promise<WindowClaim>;
  /** After the answer: the window opens no earlier than `at` (opens-at = max(opens-at, at)). Atomic. */
  extendWindow(key: string, at: number): Promise<void>;
  /**
   * The claimed call never reached 1fichier (connection refused, DNS, TLS): give the window back,
   * i.e. restore `claim.previous` if nobody changed the window since the claim. Atomic.
   */
  releaseWindow(key: string, claim: { until: number; previous: number }): Promise<void>;
  /** The current cool-down (a read). */
  cooldown(): Promise<CooldownState>;
  /**
   * Records a flood answer to a call sent at `sentAt`, received at `now`: escalates the stored
   * cool-down with `escalateCooldown` (an echo of the running lock changes nothing) and empties
   * the rate bucket so calls do not resume as a burst. Resolves the resulting cool-down. Atomic.
   */
  recordFlood(sentAt: number, now: number, policy: CooldownPolicy): Promise<CooldownState>;
  /**
   * Imposes a cool-down until `until` (an account lock answered by 1fichier, a migrated ledger):
   * until = max(until, stored until). Atomic.
   */
  holdUntil(until: number, now: number): Promise<CooldownState>;
  close?(): Promise<void> | void;
}

/**
 * The cool-down after a flood (pure, so every store applies the same rule): doubled while floods
 * repeat, back to `firstMs` after a quiet `resetMs`, capped at `maxMs`. An answer to a call sent
 * before the current cool-down began is an echo of the same lock and changes nothing.
 */
export function escalateCooldown(previous: CooldownState, sentAt: number, now: number, policy: CooldownPolicy): CooldownState {
  if (previous.level > 0 && sentAt < previous.startedAt) return previous;
  const quiet = now - previous.until > policy.resetMs * policy.scale;
  const level = previous.level === 0 || quiet ? policy.firstMs : Math.min(previous.level * 2, policy.maxMs);
  return { level, startedAt: now, until: Math.max(previous.until, now + level * policy.scale) };
}

/** Rate bucket arithmetic on a saved state (shared by the stores). */
export function takeFromBucket(saved: TokenBucketState | undefined, now: number, rate: RatePolicy): { waitMs: number; state: TokenBucketState } {
  const bucket = new TokenBucket(rate.ratePerMs, rate.burst, now, saved);
  const waitMs = bucket.take(now);
  return { waitMs, state: bucket.state() };
}

/** The budget of one process: the library's default and the unit tests' store. */
export class MemoryBudgetStore implements BudgetStore {
  private bucket: TokenBucketState | undefined;
  private readonly windows = new Map<string, number>();
  private cool: CooldownState = NO_COOLDOWN;

  async claimSend(now: number, rate: RatePolicy): Promise<SendClaim> {
    if (now < this.cool.until) return { waitMs: this.cool.until - now, cooldown: this.cool };
    const { waitMs, state } = takeFromBucket(this.bucket, now, rate);
    this.bucket = state;
    return { waitMs, cooldown: this.cool };
  }

  async windowOpensAt(key: string): Promise<number> {
    return this.windows.get(key) ?? 0;
  }

  async claimWindow(key: string, now: number, holdMs: number): Promise<WindowClaim> {
    const opensAt = this.windows.get(key) ?? 0;
    if (opensAt > now) return { granted: false, waitMs: opensAt - now };
    this.sweep(now);
    this.windows.set(key, now + holdMs);
    return { granted: true, until: now + holdMs, previous: opensAt };
  }

  async extendWindow(key: string, at: number): Promise<void> {
    this.windows.set(key, Math.max(this.windows.get(key) ?? 0, at));
  }

  async releaseWindow(key: string, claim: { until: number; previous: number }): Promise<void> {
    if (this.windows.get(key) === claim.until) this.windows.set(key, claim.previous);
  }

  async cooldown(): Promise<CooldownState> {
    return this.cool;
  }

  async recordFlood(sentAt: number, now: number, policy: CooldownPolicy): Promise<CooldownState> {
    const next = escalateCooldown(this.cool, sentAt, now, policy);
    if (next !== this.cool) this.bucket = { tokens: 0, last: now };
    this.cool = next;
    return next;
  }

  async holdUntil(until: number, now: number): Promise<CooldownState> {
    if (until > this.cool.until) this.cool = { ...this.cool, until, startedAt: now };
    return this.cool;
  }

  /** Windows that opened long ago can no longer matter (a long-running server lists many folders). */
  private sweep(now: number): void {
    if (this.windows.size < 4096) return;
    for (const [key, opensAt] of this.windows) if (opensAt <= now) this.windows.delete(key);
  }
}
