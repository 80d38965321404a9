/**
 * The write journal: an intent record for every multi-step write (an upload that replaces or adds
 * a file, a MOVE or COPY onto an existing file), written BEFORE the first upstream step and
 * updated after each one. A crash, kill -9 or restart between two steps leaves the record behind;
 * at start-up the drive replays it (finishes or rolls back the write, see `write-recovery.ts`), so
 * the account never keeps a duplicate or an alias the client was not told about.
 *
 * `WriteJournal` is the seam: the SQLite implementation lives in the account database (one
 * transaction per change, durable before the upstream step it announces); an in-memory one serves
 * drives without a state directory (unit tests). A shared implementation for several bridges on
 * one account can be given instead.
 */
import type { AccountDb } from '../state/account-db.js';
import { hostTag } from '../state/process-owner.js';

/** An upload of `name` into folder `folderId` for drive path `path` (a PUT, new or overwrite). */
export interface UploadIntent {
  op: 'upload';
  path: string;
  folderId: number;
  /** Stored (decoded) name of the upload. */
  name: string;
  size: number;
  /** URLs of files of that name in the folder before the upload: never ours to remove. */
  before: string[];
  /** The file this upload replaces (removed once the new one is confirmed). */
  oldUrl?: string;
  /** Set once the whole body was handed to the upload node: only from then on can a copy exist upstream. */
  bodySent?: boolean;
  /** Set once 1fichier confirmed the upload (end.pl, checksum verified). */
  newUrl?: string;
}

/** A MOVE or COPY of a file onto a path holding another file (`oldUrl`), which must go afterwards. */
export interface ReplaceIntent {
  op: 'move-replace' | 'copy-replace';
  path: string;
  /** The source: its URL, folder and name before the transfer (to roll a MOVE back). */
  sourceUrl: string;
  sourceFolderId: number;
  sourceName: string;
  folderId: number;
  name: string;
  /** The destination file being replaced. */
  oldUrl: string;
  /** The moved or copied file's URL once the transfer step answered. */
  newUrl?: string;
  /** Set when the client is answered an error: recovery undoes the transfer instead of finishing it. */
  rollback?: boolean;
}

export type WriteIntent = UploadIntent | ReplaceIntent;

export interface JournalRecord {
  id: number;
  intent: WriteIntent;
  /** When the record was begun (ms since the epoch). */
  startedAt: number;
  /**
   * The process that began it (pid, host tag of src/state/process-owner.ts), when the journal is
   * shared by several processes: a record of a live process is that process's write in progress,
   * never a leftover to replay. Absent: a leftover of whoever wrote it.
   */
  owner?: { pid: number; host: string };
}

export interface WriteJournal {
  /** Records the intent durably and returns its id. */
  begin(intent: WriteIntent): number;
  /** Replaces the record's intent (after a step). */
  update(id: number, intent: WriteIntent): void;
  /** The write is complete (or fully undone): forget it. */
  finish(id: number): void;
  /** Every unfinished record, oldest first. */
  pending(): JournalRecord[];
}

/** For drives without a state directory: survives nothing, but keeps the same bookkeeping. */
export class MemoryWriteJournal implements WriteJournal {
  private readonly records = new Map<number, JournalRecord>();
  private next = 1;

  constructor(private readonly now: () => number = Date.now) {}

  begin(intent: WriteIntent): number {
    const id = this.next++;
    this.records.set(id, { id, intent: structuredClone(intent), startedAt: this.now() });
    return id;
  }

  update(id: number, intent: WriteIntent): void {
    const record = this.records.get(id);
    if (record) record.intent = structuredClone(intent);
  }

  finish(id: number): void {
    this.records.delete(id);
  }

  pending(): JournalRecord[] {
    return [...this.records.values()].map((record) => ({ ...record, intent: structuredClone(record.intent) }));
  }
}

/** The journal as the `write_journal` table of the account database (`state.db`). */
export class SqliteWriteJournal implements WriteJournal {
  constructor(
    private readonly account: AccountDb,
    private readonly now: () => number = Date.now,
  ) {
    account.defineSchema({
      name: 'write_journal',
      version: 2,
      migrate: (db, from) => {
        db.exec(`CREATE TABLE IF NOT EXISTS write_journal (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          path TEXT NOT NULL,
          intent TEXT NOT NULL,
          started_at INTEGER NOT NULL
        )`);
        // Version 2: the owning process, so a second serve on the directory leaves it alone.
        if (from < 2) {
          db.exec('ALTER TABLE write_journal ADD COLUMN owner_pid INTEGER');
          db.exec('ALTER TABLE write_journal ADD COLUMN owner_host TEXT');
        }
      },
    });
  }

  begin(intent: WriteIntent): number {
    const result = this.account
      .write(() =>
        this.account.db
          .prepare('INSERT INTO write_journal (path, intent, started_at, owner_pid, owner_host) VALUES (?, ?, ?, ?, ?)')
          .run(intent.path, JSON.stringify(intent), this.now(), process.pid, hostTag()),
      );
    return Number(result.lastInsertRowid);
  }

  update(id: number, intent: WriteIntent): void {
    this.account.write(() => this.account.db.prepare('UPDATE write_journal SET path = ?, intent = ? WHERE id = ?').run(intent.path, JSON.stringify(intent), id));
  }

  finish(id: number): void {
    this.account.write(() => this.account.db.prepare('DELETE FROM write_journal WHERE id = ?').run(id));
  }

  pending(): JournalRecord[] {
    const rows = this.account.db.prepare('SELECT id, intent, started_at, owner_pid, owner_host FROM write_journal ORDER BY id').all() as Array<{
      id: number;
      intent: string;
      started_at: number;
      owner_pid: number | null;
      owner_host: string | null;
    }>;
    return rows.map((row) => ({
      id: row.id,
      intent: JSON.parse(row.intent) as WriteIntent,
      startedAt: row.started_at,
      ...(row.owner_pid !== null && row.owner_host !== null ? { owner: { pid: row.owner_pid, host: row.owner_host } } : {}),
    }));
  }
}
