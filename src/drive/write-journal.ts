/**
 * The write journal: an intent record for every multi-step write (an upload that replaces or adds
 * a file, a MOVE or COPY onto an existing file, a DELETE, MOVE or COPY of or onto a folder tree),
 * written BEFORE the first upstream step and
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
import { hostTag, ownerGone } from '../state/process-owner.js';

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
  /**
   * The source's drive path. A MOVE being rolled back has taken the file away from it: a write
   * there must wait for the record (absent from records written before it was kept).
   */
  from?: string;
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

/** Where an upstream object (a file by URL, a folder by id) sits: its folder and stored name. */
export interface TreeObject {
  kind: 'file' | 'folder';
  parentId: number;
  name: string;
  /** The folder's id. */
  id?: number;
  /** The file's URL. */
  url?: string;
}

/**
 * A write on a folder tree, or onto one (see tree-writes.ts): DELETE of a folder, MOVE or COPY of a
 * folder, MOVE or COPY of anything onto an existing folder (or of a folder onto a file).
 *
 * The object replaced or deleted (`aside`) is first renamed to a hidden name in its folder (one
 * upstream call, so it is there or not, never half), then the transfer runs; the write is
 * `committed` once the transfer is complete, and only then is the set-aside object removed. Before
 * the commit, recovery rolls back (undoes the transfer, renames the set-aside object back); after
 * it, recovery rolls forward (carries the local state along, removes the set-aside object).
 */
export interface TreeIntent {
  op: 'tree-delete' | 'tree-move' | 'tree-copy';
  /** The path deleted, or the destination of a MOVE or COPY. */
  path: string;
  /** The source path of a MOVE or COPY. */
  from?: string;
  /** What the write removes (the deleted folder, the replaced destination), and its hidden name meanwhile. */
  aside?: TreeObject & { hidden: string };
  /** The source of a MOVE or COPY as it was before. */
  source?: TreeObject;
  /** Where a MOVE or COPY puts it. */
  target?: { parentId: number; name: string };
  /** COPY: its depth (a folder copy of depth 0 makes an empty folder). */
  depth?: 0 | 'infinity';
  /** COPY of a folder: the new folder, once mkdir answered. */
  copyId?: number;
  /** The transfer (or, for a DELETE, the setting aside) is complete: roll forward from here. */
  committed?: boolean;
  /** The local state (empty files, dead properties) was carried along. */
  localDone?: boolean;
}

export type WriteIntent = UploadIntent | ReplaceIntent | TreeIntent;

/** The paths a record's settlement must hold (its destination, and a MOVE's or COPY's source). */
export function intentPaths(intent: WriteIntent): string[] {
  const from = intent.op === 'upload' ? undefined : (intent as TreeIntent | ReplaceIntent).from;
  return from ? [intent.path, from] : [intent.path];
}

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

/**
 * Every method resolves once the change is durable (committed to SQLite, or acknowledged by Redis
 * for the shared journal): the drive awaits it before the upstream step it announces.
 */
export interface WriteJournal {
  /** Records the intent durably and resolves with its id. */
  begin(intent: WriteIntent): Promise<number>;
  /** Replaces the record's intent (after a step). */
  update(id: number, intent: WriteIntent): Promise<void>;
  /** The write is complete (or fully undone): forget it. */
  finish(id: number): Promise<void>;
  /**
   * Every unfinished record this process must settle, oldest first: its own, and (for a journal
   * shared by several bridges) those of a bridge that died, once claimed for this process.
   */
  pending(): Promise<JournalRecord[]>;
  /**
   * A journal shared by several bridges: takes over the records whose paths overlap `paths` (the
   * caller holds their path lock), so they become this process's to settle. Resolves with them.
   */
  claimOverlapping?(paths: readonly string[], overlaps: (a: string, b: string) => boolean): Promise<JournalRecord[]>;
  /** A journal shared by several bridges: takes over the records of bridges that died. */
  claimOrphans?(): Promise<JournalRecord[]>;
}

/** For drives without a state directory: survives nothing, but keeps the same bookkeeping. */
export class MemoryWriteJournal implements WriteJournal {
  private readonly records = new Map<number, JournalRecord>();
  private next = 1;

  constructor(private readonly now: () => number = Date.now) {}

  async begin(intent: WriteIntent): Promise<number> {
    const id = this.next++;
    this.records.set(id, { id, intent: structuredClone(intent), startedAt: this.now() });
    return id;
  }

  async update(id: number, intent: WriteIntent): Promise<void> {
    const record = this.records.get(id);
    if (record) record.intent = structuredClone(intent);
  }

  async finish(id: number): Promise<void> {
    this.records.delete(id);
  }

  async pending(): Promise<JournalRecord[]> {
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

  async begin(intent: WriteIntent): Promise<number> {
    const result = this.account
      .write(() =>
        this.account.db
          .prepare('INSERT INTO write_journal (path, intent, started_at, owner_pid, owner_host) VALUES (?, ?, ?, ?, ?)')
          .run(intent.path, JSON.stringify(intent), this.now(), process.pid, hostTag()),
      );
    return Number(result.lastInsertRowid);
  }

  async update(id: number, intent: WriteIntent): Promise<void> {
    this.account.write(() => this.account.db.prepare('UPDATE write_journal SET path = ?, intent = ? WHERE id = ?').run(intent.path, JSON.stringify(intent), id));
  }

  async finish(id: number): Promise<void> {
    this.account.write(() => this.account.db.prepare('DELETE FROM write_journal WHERE id = ?').run(id));
  }

  /**
   * This process's records and those a gone process left (no owner: written by an older version).
   * A live process's records (a second serve on the state directory) are its writes in progress:
   * settling them here would roll back an upload it is about to acknowledge.
   */
  async pending(): Promise<JournalRecord[]> {
    const rows = this.account.db.prepare('SELECT id, intent, started_at, owner_pid, owner_host FROM write_journal ORDER BY id').all() as Array<{
      id: number;
      intent: string;
      started_at: number;
      owner_pid: number | null;
      owner_host: string | null;
    }>;
    return rows
      .filter((row) => row.owner_pid === null || row.owner_host === null || ownerGone(row.owner_pid, row.owner_host))
      .map((row) => ({
        id: row.id,
        intent: JSON.parse(row.intent) as WriteIntent,
        startedAt: row.started_at,
        ...(row.owner_pid !== null && row.owner_host !== null ? { owner: { pid: row.owner_pid, host: row.owner_host } } : {}),
      }));
  }
}
