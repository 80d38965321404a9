/**
 * What one CLI process tells the next about the account's API budget. Each command is a new
 * process with a new scheduler, but 1fichier's windows are per account: listing a folder twice
 * within 30 s, or user/info twice within 60 s, is a flood, and a script that runs
 * `mkdir -p /a/b && upload f /a/b` would trip it. So the ledger, a small JSON file in the
 * account's state dir, keeps:
 *
 * - each folder listing with its time (and the listing itself, patched with this CLI's own
 *   writes), so a later process inside the window reuses it instead of listing again (or, when
 *   the content is unknown, waits for the window to pass);
 * - the last user/info answer (60 s window);
 * - when a flood cool-down ends, so the next process does not knock on a locked account.
 *
 * Times are wall-clock ms (processes share no monotonic clock). Best effort by design: two
 * processes running at once may overwrite each other's entries, which costs at most a wait.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FolderContent, UpstreamFile, UpstreamFolder } from '../../drive/folder-cache.js';

interface StoredFile extends Omit<UpstreamFile, 'modified'> {
  modified: number;
}
interface StoredFolder extends Omit<UpstreamFolder, 'created'> {
  created?: number;
}
interface StoredListing {
  at: number;
  /** Absent when the listing can no longer be trusted (a change we could not patch): wait instead. */
  content?: { id: number; name: string; folders: StoredFolder[]; files: StoredFile[] };
}

export interface StoredAccountInfo {
  at: number;
  value: Record<string, unknown>;
}

interface LedgerData {
  version: 1;
  listings: Record<string, StoredListing>;
  userInfo?: StoredAccountInfo;
  floodUntil?: number;
}

export const LEDGER_FILE = 'cli-ledger.json';

export class ApiLedger {
  private writing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private data: LedgerData,
    readonly now: () => number,
  ) {}

  static async open(stateDir: string, now: () => number = Date.now): Promise<ApiLedger> {
    const path = join(stateDir, LEDGER_FILE);
    let data: LedgerData = { version: 1, listings: {} };
    try {
      const parsed = JSON.parse(await readFile(path, 'utf8')) as LedgerData;
      if (parsed && parsed.version === 1 && typeof parsed.listings === 'object' && parsed.listings) data = parsed;
    } catch {
      // No ledger yet, or a damaged one: start empty (the worst case is one wait for a window).
    }
    const ledger = new ApiLedger(path, data, now);
    ledger.prune();
    return ledger;
  }

  /** When the folder was last listed (ms epoch), and its content if still trusted. */
  listing(folderId: number): { at: number; content?: FolderContent } | undefined {
    const entry = this.data.listings[String(folderId)];
    if (!entry) return undefined;
    return { at: entry.at, content: entry.content ? reviveContent(entry.content) : undefined };
  }

  recordListing(content: FolderContent): void {
    this.data.listings[String(content.id)] = { at: this.now(), content: storeContent(content) };
    this.save();
  }

  /** Applies one of our own writes to a saved listing (no-op when that folder is not saved). */
  patch(folderId: number, change: (content: FolderContent) => FolderContent): void {
    const entry = this.data.listings[String(folderId)];
    if (!entry?.content) return;
    entry.content = storeContent(change(reviveContent(entry.content)));
    this.save();
  }

  /** Every saved folder whose listing holds a file with this URL. */
  foldersHoldingFile(url: string): number[] {
    return Object.values(this.data.listings)
      .filter((entry) => entry.content?.files.some((file) => file.url === url))
      .map((entry) => entry.content!.id);
  }

  foldersHoldingFolder(folderId: number): number[] {
    return Object.values(this.data.listings)
      .filter((entry) => entry.content?.folders.some((folder) => folder.id === folderId))
      .map((entry) => entry.content!.id);
  }

  fileIn(folderId: number, url: string): UpstreamFile | undefined {
    return this.listing(folderId)?.content?.files.find((file) => file.url === url);
  }

  folderIn(parentId: number, folderId: number): UpstreamFolder | undefined {
    return this.listing(parentId)?.content?.folders.find((folder) => folder.id === folderId);
  }

  /** The folder changed in a way we cannot patch (e.g. a remote upload lands in it): keep the window, drop the content. */
  distrust(folderId: number): void {
    const entry = this.data.listings[String(folderId)];
    if (!entry) return;
    delete entry.content;
    this.save();
  }

  forget(folderId: number): void {
    if (!(String(folderId) in this.data.listings)) return;
    delete this.data.listings[String(folderId)];
    this.save();
  }

  userInfo(): StoredAccountInfo | undefined {
    return this.data.userInfo;
  }

  recordUserInfo(value: Record<string, unknown>): void {
    this.data.userInfo = { at: this.now(), value };
    this.save();
  }

  floodUntil(): number | undefined {
    const until = this.data.floodUntil;
    return until !== undefined && until > this.now() ? until : undefined;
  }

  recordFlood(until: number): void {
    this.data.floodUntil = until;
    this.save();
  }

  /** Resolves once every change so far is on disk. */
  flush(): Promise<void> {
    return this.writing;
  }

  /** Entries older than an hour cannot matter for any window: drop them so the file stays small. */
  private prune(): void {
    const cutoff = this.now() - 3_600_000;
    for (const [key, entry] of Object.entries(this.data.listings)) if (entry.at < cutoff) delete this.data.listings[key];
    if (this.data.userInfo && this.data.userInfo.at < cutoff) delete this.data.userInfo;
  }

  /** Atomic write (temp file + rename), serialized so the last state wins. */
  private save(): void {
    const snapshot = JSON.stringify(this.data);
    const dir = join(this.path, '..');
    const temp = `${this.path}.${randomBytes(4).toString('hex')}.tmp`;
    this.writing = this.writing
      .then(async () => {
        await mkdir(dir, { recursive: true });
        await writeFile(temp, snapshot, { mode: 0o600 });
        await rename(temp, this.path);
      })
      .catch(() => {
        // The ledger is an optimisation: failing to save it must never fail a command.
      });
  }
}

function storeContent(content: FolderContent): NonNullable<StoredListing['content']> {
  return {
    id: content.id,
    name: content.name,
    folders: content.folders.map((folder) => ({ ...folder, created: folder.created?.getTime() })),
    files: content.files.map((file) => ({ ...file, modified: file.modified.getTime() })),
  };
}

function reviveContent(stored: NonNullable<StoredListing['content']>): FolderContent {
  return {
    id: stored.id,
    name: stored.name,
    folders: stored.folders.map((folder) => ({ ...folder, created: folder.created === undefined ? undefined : new Date(folder.created) })),
    files: stored.files.map((file) => ({ ...file, modified: new Date(file.modified) })),
  };
}
