/**
 * The budget of a bridge that shares its account through Redis, and what it does while Redis is
 * unreachable. 1fichier still counts every call of every bridge against one account, so a bridge
 * that cannot reach the shared budget must not behave as if it were alone:
 *
 * - Calls that only spend the rate bucket (download links, renames, removals...) are paced by
 *   the local store at `1 / bridges` of the rate: if every bridge of the account does the same,
 *   together they stay within the account's rate.
 * - Windowed calls (a folder's listing, all files, user/info) are refused: each may be sent once
 *   per window by the whole account, and which bridge last sent it is known only to Redis. The
 *   folder cache then answers from the listing it has (stale if need be), and a folder never
 *   listed answers 503 with Retry-After until Redis is back.
 * - Floods and account locks seen meanwhile are kept locally and handed to Redis on recovery, so
 *   the other bridges honour them too.
 * - A Redis that comes back may have lost everything (restarted without persistence): each bridge
 *   keeps a mirror of the windows it claimed or saw extended and writes them back on recovery, and
 *   claims no window for a moment (`settleMs`) so every bridge has written its own back first.
 *
 * Nothing waits for Redis: its client fails commands at once while disconnected, and reconnects
 * by itself; the next call after that goes to Redis again.
 */
import {
  MemoryBudgetStore,
  type BudgetStore,
  type CooldownPolicy,
  type CooldownState,
  type RatePolicy,
  type SendClaim,
  type WindowClaim,
} from '../../fichier/budget-store.js';
import { UnreachableError } from '../../fichier/errors.js';
import type { RedisHealth } from './connection.js';

/** A windowed call refused while the shared budget is unreachable (maps to 503 with Retry-After). */
export class SharedBudgetUnavailableError extends UnreachableError {
  constructor() {
    super('the shared API budget (Redis) is unreachable, so this listing cannot be sent safely; cached listings are still served');
  }
}

export interface FailoverBudgetOptions {
  /** The Redis store. */
  shared: BudgetStore;
  /** Where the budget lives meanwhile (the account's SQLite store on this machine, or memory). */
  local?: BudgetStore;
  health: RedisHealth;
  /** How many bridges share the account: the local pace is the rate divided by this. >= 1. */
  bridges: number;
  /** After a recovery, ms during which no window is claimed (the bridges write theirs back). Default 1 000. */
  settleMs?: number;
}

/** Mirrored windows beyond this many are swept of those already open. */
const MIRROR_SWEEP_AT = 4096;

export class FailoverBudgetStore implements BudgetStore {
  private readonly shared: BudgetStore;
  private readonly local: BudgetStore;
  private readonly health: RedisHealth;
  private readonly bridges: number;
  /** The last cool-down Redis told us of, and whether a local one must be handed back. */
  private lastShared: CooldownState | undefined;
  private localFloods = false;
  /** Windows as this bridge last knew them (key → opens-at, wall-clock ms). */
  private readonly mirror = new Map<string, number>();
  private settledAt = 0;
  /** When this bridge began pacing its calls alone (Redis lost, or never reached); undefined while Redis paces them. */
  private aloneSince: number | undefined;

  constructor(options: FailoverBudgetOptions) {
    if (!(options.bridges >= 1)) throw new RangeError('bridges must be >= 1');
    this.shared = options.shared;
    this.local = options.local ?? new MemoryBudgetStore();
    this.health = options.health;
    this.bridges = options.bridges;
    this.health.onChange((up) => {
      if (!up) return;
      this.settledAt = Date.now() + (options.settleMs ?? 1_000);
      void this.restore();
    });
  }

  /** Writes back what a restarted Redis may have lost: our windows and cool-down. */
  private async restore(): Promise<void> {
    const now = Date.now();
    try {
      for (const [key, opensAt] of this.mirror) {
        if (opensAt > now) await this.shared.extendWindow(key, opensAt);
        else this.mirror.delete(key);
      }
      const cool = this.lastShared;
      if (cool && cool.until > now) await this.shared.holdUntil(cool.until, cool.startedAt);
      this.localFloods = true; // and any local one, on the next successful call
    } catch {
      // Lost again: the next recovery tries again.
    }
  }

  private remember(key: string, opensAt: number): void {
    if ((this.mirror.get(key) ?? 0) >= opensAt) return;
    this.mirror.set(key, opensAt);
    if (this.mirror.size > MIRROR_SWEEP_AT) {
      const now = Date.now();
      for (const [k, at] of this.mirror) if (at <= now) this.mirror.delete(k);
    }
  }

  /** Runs on Redis; on failure (or while it is known down) runs `fallback` instead. */
  private async either<T>(onShared: () => Promise<T>, fallback: () => Promise<T>): Promise<T> {
    if (this.health.isUp()) {
      try {
        const value = await onShared();
        if (this.localFloods) await this.handBack();
        return value;
      } catch {
        // Down or timed out: the connection's events report it (once); this call falls back.
      }
    }
    return fallback();
  }

  /** A cool-down that started while Redis was down now binds the other bridges too. */
  private async handBack(): Promise<void> {
    this.localFloods = false;
    const local = await this.local.cooldown();
    if (local.until > 0) await this.shared.holdUntil(local.until, local.startedAt).catch(() => (this.localFloods = true));
  }

  async claimSend(now: number, rate: RatePolicy): Promise<SendClaim> {
    return this.either(
      async () => {
        const claim = await this.shared.claimSend(now, rate);
        this.lastShared = claim.cooldown;
        this.aloneSince = undefined;
        return claim;
      },
      async () => {
        if (this.lastShared && this.lastShared.until > now) await this.local.holdUntil(this.lastShared.until, now);
        const local = { ratePerMs: rate.ratePerMs / this.bridges, burst: 1 };
        // The tokens Redis handed out a moment ago still count at 1fichier, and every other bridge
        // falls back at the same moment: a local bucket that starts full would let each of them
        // send at once on top of those. So the first local call waits one local period.
        this.aloneSince ??= now;
        const firstAt = this.aloneSince + Math.ceil(1 / local.ratePerMs);
        if (now < firstAt) return { waitMs: firstAt - now, cooldown: await this.local.cooldown() };
        return this.local.claimSend(now, local);
      },
    );
  }

  async windowOpensAt(key: string): Promise<number> {
    return this.either(() => this.shared.windowOpensAt(key), () => this.local.windowOpensAt(key));
  }

  async claimWindow(key: string, now: number, holdMs: number): Promise<WindowClaim> {
    // Just back: the other bridges are still writing their windows back.
    const settling = this.settledAt - Date.now();
    if (settling > 0 && this.health.isUp()) return { granted: false, waitMs: settling };
    return this.either(
      async () => {
        const claim = await this.shared.claimWindow(key, now, holdMs);
        if (claim.granted) this.remember(key, claim.until);
        return claim;
      },
      () => Promise.reject(new SharedBudgetUnavailableError()),
    );
  }

  async extendWindow(key: string, at: number): Promise<void> {
    this.remember(key, at);
    await this.either(() => this.shared.extendWindow(key, at), async () => {});
  }

  async releaseWindow(key: string, claim: { until: number; previous: number }): Promise<void> {
    if (this.mirror.get(key) === claim.until) this.mirror.set(key, claim.previous);
    await this.either(() => this.shared.releaseWindow(key, claim), async () => {});
  }

  async cooldown(): Promise<CooldownState> {
    return this.either(() => this.shared.cooldown(), () => this.local.cooldown());
  }

  async recordFlood(sentAt: number, now: number, policy: CooldownPolicy): Promise<CooldownState> {
    return this.either(
      () => this.shared.recordFlood(sentAt, now, policy),
      async () => {
        this.localFloods = true;
        return this.local.recordFlood(sentAt, now, policy);
      },
    );
  }

  async holdUntil(until: number, now: number): Promise<CooldownState> {
    return this.either(
      () => this.shared.holdUntil(until, now),
      async () => {
        this.localFloods = true;
        return this.local.holdUntil(until, now);
      },
    );
  }
}
