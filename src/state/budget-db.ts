/**
 * The account's API budget in the state database: the rate bucket, the windows (per-folder
 * listings, all files, user/info) and the flood cool-down, shared by every process of the
 * account on this machine (serve, the CLI, several serves) and kept across restarts.
 *
 * Each BudgetStore method is one IMMEDIATE transaction (the database's write lock is taken at
 * BEGIN), so two processes claiming the same window or the last token serialise: one wins, the
 * other is told how long to wait. Times are wall-clock ms as the BudgetStore contract says.
 */
import {
  escalateCooldown,
  NO_COOLDOWN,
  takeFromBucket,
  type BudgetStore,
  type CooldownPolicy,
  type CooldownState,
  type RatePolicy,
  type SendClaim,
  type WindowClaim,
} from '../fichier/budget-store.js';
import type { AccountDb } from './account-db.js';

export const BUDGET_SCHEMA = {
  name: 'api-budget',
  version: 1,
  migrate(db: AccountDb['db']): void {
    db.exec(`
      CREATE TABLE IF NOT EXISTS api_bucket (id INTEGER PRIMARY KEY CHECK (id = 1), tokens REAL NOT NULL, last REAL NOT NULL);
      CREATE TABLE IF NOT EXISTS api_windows (key TEXT PRIMARY KEY, opens_at REAL NOT NULL);
      CREATE TABLE IF NOT EXISTS api_cooldown (id INTEGER PRIMARY KEY CHECK (id = 1), until REAL NOT NULL, started_at REAL NOT NULL, level REAL NOT NULL);
    `);
  },
};

/** Windows that opened this long ago cannot matter (the longest, all files, is one hour). */
const FORGET_AFTER_MS = 2 * 3_600_000;

export class SqliteBudgetStore implements BudgetStore {
  private readonly sql;

  constructor(private readonly account: AccountDb) {
    account.defineSchema(BUDGET_SCHEMA);
    const db = account.db;
    this.sql = {
      bucket: db.prepare('SELECT tokens, last FROM api_bucket WHERE id = 1'),
      saveBucket: db.prepare('INSERT INTO api_bucket (id, tokens, last) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET tokens = excluded.tokens, last = excluded.last'),
      window: db.prepare('SELECT opens_at FROM api_windows WHERE key = ?'),
      saveWindow: db.prepare('INSERT INTO api_windows (key, opens_at) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET opens_at = excluded.opens_at'),
      forgetWindows: db.prepare('DELETE FROM api_windows WHERE opens_at < ?'),
      cooldown: db.prepare('SELECT until, started_at AS startedAt, level FROM api_cooldown WHERE id = 1'),
      saveCooldown: db.prepare(
        'INSERT INTO api_cooldown (id, until, started_at, level) VALUES (1, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET until = excluded.until, started_at = excluded.started_at, level = excluded.level',
      ),
    };
    // A long-running account accumulates one row per folder ever listed.
    account.write(() => this.sql.forgetWindows.run(Date.now() - FORGET_AFTER_MS));
  }

  private readCooldown(): CooldownState {
    return (this.sql.cooldown.get() as CooldownState | undefined) ?? NO_COOLDOWN;
  }

  private opensAt(key: string): number {
    return (this.sql.window.get(key) as { opens_at: number } | undefined)?.opens_at ?? 0;
  }

  async claimSend(now: number, rate: RatePolicy): Promise<SendClaim> {
    return this.account.write(() => {
      const cooldown = this.readCooldown();
      if (now < cooldown.until) return { waitMs: cooldown.until - now, cooldown };
      const saved = this.sql.bucket.get() as { tokens: number; last: number } | undefined;
      const { waitMs, state } = takeFromBucket(saved, now, rate);
      this.sql.saveBucket.run(state.tokens, state.last);
      return { waitMs, cooldown };
    });
  }

  async windowOpensAt(key: string): Promise<number> {
    return this.opensAt(key);
  }

  async claimWindow(key: string, now: number, holdMs: number): Promise<WindowClaim> {
    return this.account.write((): WindowClaim => {
      const previous = this.opensAt(key);
      if (previous > now) return { granted: false, waitMs: previous - now };
      this.sql.saveWindow.run(key, now + holdMs);
      return { granted: true, until: now + holdMs, previous };
    });
  }

  async extendWindow(key: string, at: number): Promise<void> {
    this.account.write(() => {
      if (this.opensAt(key) < at) this.sql.saveWindow.run(key, at);
    });
  }

  async releaseWindow(key: string, claim: { until: number; previous: number }): Promise<void> {
    this.account.write(() => {
      if (this.opensAt(key) === claim.until) this.sql.saveWindow.run(key, claim.previous);
    });
  }

  async cooldown(): Promise<CooldownState> {
    return this.readCooldown();
  }

  async recordFlood(sentAt: number, now: number, policy: CooldownPolicy): Promise<CooldownState> {
    return this.account.write(() => {
      const previous = this.readCooldown();
      const next = escalateCooldown(previous, sentAt, now, policy);
      if (next !== previous) {
        this.sql.saveCooldown.run(next.until, next.startedAt, next.level);
        this.sql.saveBucket.run(0, now);
      }
      return next;
    });
  }

  async holdUntil(until: number, now: number): Promise<CooldownState> {
    return this.account.write(() => {
      const previous = this.readCooldown();
      if (until <= previous.until) return previous;
      const next = { ...previous, until, startedAt: now };
      this.sql.saveCooldown.run(next.until, next.startedAt, next.level);
      return next;
    });
  }
}
