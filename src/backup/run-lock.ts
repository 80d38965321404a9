/**
 * One backup run at a time per backup name and account: a row in the account's state database
 * (table `backup_runs`) names the process that holds the name.
 *
 * Why a database row and not a lock file: the check and the take-over of a stale holder happen in
 * one IMMEDIATE transaction, so two runs that find the same dead holder cannot both take over (a
 * lock file would need a remove-then-create that races). The row survives a crash: the next run
 * sees that the holder's process is gone (same host, no such pid) and takes the name over.
 * A holder on another host (a state directory on a shared disk) is never presumed dead.
 */
import { hostname } from 'node:os';
import { openAccountDb, type AccountDb } from '../state/account-db.js';
import { processAlive } from '../state/process-owner.js';

export interface LockHolder {
  pid: number;
  host: string;
  /** When the holder started (ms since the epoch). */
  since: number;
}

export type LockAttempt = { acquired: true; lock: RunLock; tookOverFrom?: LockHolder } | { acquired: false; holder: LockHolder };

const SCHEMA = {
  name: 'backup-runs',
  version: 1,
  migrate(db: AccountDb['db']): void {
    db.exec('CREATE TABLE IF NOT EXISTS backup_runs (name TEXT PRIMARY KEY, pid INTEGER NOT NULL, host TEXT NOT NULL, since INTEGER NOT NULL)');
  },
};

export { processAlive };

export class RunLock {
  private released = false;

  private constructor(
    private readonly db: AccountDb,
    readonly name: string,
    private readonly owner: LockHolder,
  ) {}

  /**
   * Takes the lock of backup `name` in the state directory `stateDir`, or reports who holds it.
   * `alive` is the liveness test (tests pass their own to simulate a crashed holder).
   */
  static acquire(stateDir: string, name: string, alive: (pid: number) => boolean = processAlive): LockAttempt {
    const db = openAccountDb(stateDir);
    try {
      db.defineSchema(SCHEMA);
      const me: LockHolder = { pid: process.pid, host: hostname(), since: Date.now() };
      const outcome = db.write((): { holder?: LockHolder; stale?: LockHolder } => {
        const row = db.db.prepare('SELECT pid, host, since FROM backup_runs WHERE name = ?').get(name) as LockHolder | undefined;
        const stale = row && row.host === me.host && (row.pid === me.pid || !alive(row.pid)) ? row : undefined;
        if (row && !stale) return { holder: row };
        db.db.prepare('INSERT INTO backup_runs (name, pid, host, since) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO UPDATE SET pid = excluded.pid, host = excluded.host, since = excluded.since').run(name, me.pid, me.host, me.since);
        return { stale };
      });
      if (outcome.holder) {
        db.close();
        return { acquired: false, holder: outcome.holder };
      }
      return { acquired: true, lock: new RunLock(db, name, me), tookOverFrom: outcome.stale };
    } catch (error) {
      db.close();
      throw error;
    }
  }

  /** Frees the name (only if this process still holds it). Safe to call twice. */
  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      this.db.write(() => this.db.db.prepare('DELETE FROM backup_runs WHERE name = ? AND pid = ? AND host = ?').run(this.name, this.owner.pid, this.owner.host));
    } finally {
      this.db.close();
    }
  }
}
