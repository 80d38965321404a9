/**
 * The last listing of each folder and the last user/info answer, kept in the account's state
 * database so that every process of the account (a restarted serve, the CLI next to a serve) can
 * answer from them inside 1fichier's windows instead of calling again:
 *
 * - 1fichier lists a folder at most once per 30 s and answers user/info at most once per 60 s;
 *   a second process (or the same one after a restart) inside that window must not call again.
 *   The window itself is in the API budget (budget-db.ts); what was listed is here.
 * - Each listing is patched with the writes made through any process of this machine
 *   (snapshot-upstream.ts), so it stays what 1fichier would answer. A change that cannot be
 *   patched drops the content and keeps only the time ("distrusted": wait, then list).
 *
 * Times are wall-clock ms. Every change is one transaction.
 */
import type { FolderContent, UpstreamFile, UpstreamFolder } from '../drive/folder-cache.js';
import type { AccountDb } from './account-db.js';

interface StoredFile extends Omit<UpstreamFile, 'modified'> {
  modified: number;
}
interface StoredFolder extends Omit<UpstreamFolder, 'created'> {
  created?: number;
}
interface StoredContent {
  id: number;
  name: string;
  folders: StoredFolder[];
  files: StoredFile[];
}

export interface StoredAccountInfo {
  at: number;
  value: Record<string, unknown>;
}

export const SNAPSHOT_SCHEMA = {
  name: 'listing-snapshots',
  version: 1,
  migrate(db: AccountDb['db']): void {
    db.exec(`
      CREATE TABLE IF NOT EXISTS listing_snapshots (folder_id INTEGER PRIMARY KEY, at REAL NOT NULL, content TEXT);
      CREATE TABLE IF NOT EXISTS account_info_snapshot (id INTEGER PRIMARY KEY CHECK (id = 1), at REAL NOT NULL, value TEXT NOT NULL);
    `);
  },
};

/**
 * A listing is reused only inside its 30 s window; older ones are dropped, so that a write (which
 * looks for the folders holding a file) reads a handful of recent listings, not an hour of them.
 */
const KEEP_MS = 300_000;

export class ListingSnapshots {
  private readonly sql;

  constructor(
    private readonly account: AccountDb,
    readonly now: () => number = Date.now,
  ) {
    account.defineSchema(SNAPSHOT_SCHEMA);
    const db = account.db;
    this.sql = {
      get: db.prepare('SELECT at, content FROM listing_snapshots WHERE folder_id = ?'),
      put: db.prepare('INSERT INTO listing_snapshots (folder_id, at, content) VALUES (?, ?, ?) ON CONFLICT(folder_id) DO UPDATE SET at = excluded.at, content = excluded.content'),
      setContent: db.prepare('UPDATE listing_snapshots SET content = ? WHERE folder_id = ?'),
      forget: db.prepare('DELETE FROM listing_snapshots WHERE folder_id = ?'),
      distrustBefore: db.prepare('UPDATE listing_snapshots SET content = NULL WHERE at < ?'),
      prune: db.prepare('DELETE FROM listing_snapshots WHERE at < ?'),
      all: db.prepare('SELECT folder_id AS id, content FROM listing_snapshots WHERE content IS NOT NULL'),
      info: db.prepare('SELECT at, value FROM account_info_snapshot WHERE id = 1'),
      putInfo: db.prepare('INSERT INTO account_info_snapshot (id, at, value) VALUES (1, ?, ?) ON CONFLICT(id) DO UPDATE SET at = excluded.at, value = excluded.value'),
    };
    account.write(() => this.sql.prune.run(this.now() - KEEP_MS));
  }

  /** When the folder was last listed (wall-clock ms), and its content if still trusted. */
  listing(folderId: number): { at: number; content?: FolderContent } | undefined {
    const row = this.sql.get.get(folderId) as { at: number; content: string | null } | undefined;
    if (!row) return undefined;
    return { at: row.at, content: row.content ? reviveContent(JSON.parse(row.content) as StoredContent) : undefined };
  }

  /** Saves a listing just received (or known, like a new empty folder), timed now. */
  recordListing(content: FolderContent, at = this.now()): void {
    this.account.write(() => {
      this.sql.prune.run(this.now() - KEEP_MS);
      this.sql.put.run(content.id, at, JSON.stringify(storeContent(content)));
    });
  }

  /** Applies one of our own writes to a saved listing (no-op when that folder is not saved). */
  patch(folderId: number, change: (content: FolderContent) => FolderContent): void {
    // Read, change and write in one transaction: another process may patch the same folder.
    this.account.write(() => {
      const content = this.listing(folderId)?.content;
      if (content) this.sql.setContent.run(JSON.stringify(storeContent(change(content))), folderId);
    });
  }

  /** Every saved folder whose listing holds a file with this URL. */
  foldersHoldingFile(url: string): number[] {
    return this.contents()
      .filter((content) => content.files.some((file) => file.url === url))
      .map((content) => content.id);
  }

  foldersHoldingFolder(folderId: number): number[] {
    return this.contents()
      .filter((content) => content.folders.some((folder) => folder.id === folderId))
      .map((content) => content.id);
  }

  fileIn(folderId: number, url: string): UpstreamFile | undefined {
    return this.listing(folderId)?.content?.files.find((file) => file.url === url);
  }

  folderIn(parentId: number, folderId: number): UpstreamFolder | undefined {
    return this.listing(parentId)?.content?.folders.find((folder) => folder.id === folderId);
  }

  /** The folder changed in a way we cannot patch (e.g. a remote upload lands in it): keep the time, drop the content. */
  distrust(folderId: number): void {
    this.account.write(() => this.sql.setContent.run(null, folderId));
  }

  /** Changes made before `at` (wall-clock ms) may be missing from every listing saved earlier. */
  distrustBefore(at: number): void {
    this.account.write(() => this.sql.distrustBefore.run(at));
  }

  forget(folderId: number): void {
    this.account.write(() => this.sql.forget.run(folderId));
  }

  userInfo(): StoredAccountInfo | undefined {
    const row = this.sql.info.get() as { at: number; value: string } | undefined;
    return row ? { at: row.at, value: JSON.parse(row.value) as Record<string, unknown> } : undefined;
  }

  recordUserInfo(value: Record<string, unknown>, at = this.now()): void {
    this.account.write(() => this.sql.putInfo.run(at, JSON.stringify(value)));
  }

  private contents(): StoredContent[] {
    return (this.sql.all.all() as Array<{ content: string }>).map((row) => JSON.parse(row.content) as StoredContent);
  }
}

function storeContent(content: FolderContent): StoredContent {
  return {
    id: content.id,
    name: content.name,
    folders: content.folders.map((folder) => ({ ...folder, created: folder.created?.getTime() })),
    files: content.files.map((file) => ({ ...file, modified: file.modified.getTime() })),
  };
}

function reviveContent(stored: StoredContent): FolderContent {
  return {
    id: stored.id,
    name: stored.name,
    folders: stored.folders.map((folder) => ({ ...folder, created: folder.created === undefined ? undefined : new Date(folder.created) })),
    files: stored.files.map((file) => ({ ...file, modified: new Date(file.modified) })),
  };
}
