/**
 * The account's local state: ONE SQLite database per account (`state.db` in the state directory),
 * shared by every process of that account on this machine (serve, the account CLI, several serves).
 *
 * Why SQLite (better-sqlite3) and not JSON files: the write journal, the persisted API windows,
 * virtual empty files and dead properties must survive kill -9 and be updated by several processes
 * at once. A rewritten JSON file gives neither cheaply (last writer wins, and every change rewrites
 * everything). SQLite in WAL mode gives atomic, durable transactions, readers that never block the
 * writer, and cross-process locking (`BEGIN IMMEDIATE` + busy timeout) for free.
 *
 * Each part of the state owns its tables and declares them through `defineSchema` in its own file
 * (journal, API windows, local files, properties, locks, links...). Schemas are idempotent
 * (`CREATE TABLE IF NOT EXISTS`), so adding a part never needs a central migration list; a part
 * that changes its tables later bumps its own version in the `schema_parts` table.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export type Db = Database.Database;

/** One part of the state: its name, version and the statements that create (or upgrade) its tables. */
export interface SchemaPart {
  name: string;
  version: number;
  /** Runs inside a transaction when the stored version is lower than `version` (0 = never created). */
  migrate(db: Db, fromVersion: number): void;
}

export const STATE_DB_FILE = 'state.db';

export interface AccountDbOptions {
  /**
   * How long (real ms) a write waits for another process holding the database's write lock before
   * it fails with SQLITE_BUSY. Default 10 000: writers hold the lock for microseconds, so only a
   * stuck process could make this wait.
   */
  busyTimeoutMs?: number;
}

/**
 * Opens (creating it when missing) the state database in `dir`.
 *
 * - WAL journal, `synchronous = FULL`: a committed transaction survives a process crash and a
 *   power loss (the write journal promises "no write acknowledged that was not stored").
 * - Foreign keys on.
 *
 * Throws the SQLite error (with its `code`, e.g. SQLITE_CANTOPEN, SQLITE_FULL, SQLITE_CORRUPT) when
 * the folder cannot hold a database; callers turn it into a message naming the folder.
 */
export function openAccountDb(dir: string, options: AccountDbOptions = {}): AccountDb {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const db = new Database(join(dir, STATE_DB_FILE));
  try {
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 10_000))}`);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.exec('CREATE TABLE IF NOT EXISTS schema_parts (name TEXT PRIMARY KEY, version INTEGER NOT NULL)');
  } catch (error) {
    db.close();
    throw error;
  }
  return new AccountDb(db, dir);
}

export class AccountDb {
  constructor(
    /** The raw connection, for the parts' prepared statements. */
    readonly db: Db,
    /** The state directory (blobs and spool live beside the database). */
    readonly dir: string,
  ) {}

  /**
   * Creates or upgrades one part's tables (idempotent; safe when several processes open the same
   * database at once: the check and the migration run in one IMMEDIATE transaction).
   */
  defineSchema(part: SchemaPart): void {
    const run = this.db.transaction(() => {
      const row = this.db.prepare('SELECT version FROM schema_parts WHERE name = ?').get(part.name) as { version: number } | undefined;
      const current = row?.version ?? 0;
      if (current >= part.version) return;
      part.migrate(this.db, current);
      this.db.prepare('INSERT INTO schema_parts (name, version) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET version = excluded.version').run(part.name, part.version);
    });
    run.immediate();
  }

  /**
   * Runs `fn` in one IMMEDIATE transaction (takes the write lock at once, so two processes doing
   * read-modify-write on the same rows serialise instead of failing with SQLITE_BUSY mid-way).
   */
  write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
