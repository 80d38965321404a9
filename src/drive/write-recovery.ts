/**
 * Finishing or rolling back the writes the journal still holds: at start-up (after a crash, kill -9
 * or restart) and at run time when a step failed (a flood while removing the replaced file, an
 * upload that 1fichier never confirmed). Each record is settled under its path's lock, so a client
 * write to that path waits for it and then runs on a clean account.
 *
 * What settling means, per intent (see write-journal.ts):
 *
 * - upload, confirmed (`newUrl` set): roll forward. The new file is the newest of its name, so it
 *   holds the plain name; the replaced file (`oldUrl`) is removed.
 * - upload whose body never fully left: nothing can be stored upstream; forgotten.
 * - upload sent, not confirmed: roll back. The client was not told 2xx, so any file of that name and
 *   size that appeared in the folder (not listed in `before`, not confirmed by a later write) is
 *   removed. 1fichier's listings can lag behind an upload, so a record that finds nothing is kept
 *   and looked at again until `uploadSettleMs` after its start.
 * - move-replace / copy-replace: when the transfer is known done (or the moved/copied file is seen
 *   at the destination) the replaced file is removed (roll forward); when the client was answered an
 *   error (`rollback`), the transfer is undone instead (a MOVE moves back, a COPY's copy is removed).
 * - tree-delete / tree-move / tree-copy: rolled back before their commit, forward after it
 *   (tree-writes.ts).
 */
import type { FolderCache, UpstreamFile } from './folder-cache.js';
import type { PathLocks } from './path-locks.js';
import { DriveError } from './types.js';
import type { Upstream } from './upstream.js';
import { intentPaths, type JournalRecord, type ReplaceIntent, type TreeIntent, type UploadIntent, type WriteIntent, type WriteJournal } from './write-journal.js';

export interface WriteRecoveryOptions {
  journal: WriteJournal;
  locks: PathLocks;
  upstream: Upstream;
  folders: FolderCache;
  /** URLs this process confirmed as live files (never removed by a rollback). */
  confirmed: { has(url: string): boolean };
  /** How long an unconfirmed upload's record waits for its file to show in a listing (ms). Default 15 min. */
  uploadSettleMs?: number;
  /** Delay before looking at an unsettled record again (ms). Default 30 s (one listing window). */
  retryMs?: number;
  now?: () => number;
  onError?: (error: unknown) => void;
  /** Settles a folder-tree write (tree-writes.ts): true when done and the record may go. */
  settleTree?: (intent: TreeIntent, id: number) => Promise<boolean>;
}

export class WriteRecovery {
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private readonly running = new Set<Promise<void>>();
  private readonly queued = new Set<number>();
  /** Records left unsettled whose rollback still hides what it must give back (see `hidesOutcome`). */
  private readonly undoing = new Map<number, WriteIntent>();
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private closed = false;
  private readonly now: () => number;

  constructor(private readonly options: WriteRecoveryOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Settles every record left in the journal by a process that is gone (start-up). Records of a
   * live process (a second serve on the same state directory) are its writes in progress, which
   * the journal's `pending()` leaves out: rolling them back would remove an upload it is about to
   * acknowledge. Resolves once each was tried once.
   */
  async replayAll(): Promise<void> {
    const { journal } = this.options;
    const records = [...(await journal.pending()), ...((await journal.claimOrphans?.()) ?? [])];
    await Promise.all(records.map((record) => this.settleLocked(record.id, record)));
  }

  /**
   * A journal shared by several bridges: every `everyMs`, claims the records of bridges that died
   * and settles them in the background (writes to their paths settle them sooner, see
   * `settleOverlapping`).
   */
  sweepOrphans(everyMs: number): void {
    const claimOrphans = this.options.journal.claimOrphans?.bind(this.options.journal);
    if (!claimOrphans || this.closed) return;
    const timer = setInterval(() => {
      if (this.closed) return clearInterval(timer);
      claimOrphans().then(
        (records) => records.forEach((record) => this.schedule(record.id)),
        (error: unknown) => this.options.onError?.(error),
      );
    }, everyMs);
    timer.unref?.();
    this.sweeper = timer;
  }

  /**
   * An upload to `path` was confirmed as `url`: older upload records of that path still looking
   * for a stray copy must never take it for theirs (whichever process settles them later).
   */
  async protect(path: string, url: string): Promise<void> {
    for (const record of await this.options.journal.pending()) {
      const intent = record.intent;
      if (intent.op !== 'upload' || intent.path !== path || intent.newUrl || intent.before.includes(url)) continue;
      await this.options.journal.update(record.id, { ...intent, before: [...intent.before, url] });
    }
  }

  /** Settles one record in the background, now and then again after `retryMs` until it is gone. */
  schedule(id: number, delayMs = 0): void {
    if (this.closed || this.queued.has(id)) return;
    this.queued.add(id);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.queued.delete(id);
      const run = this.settleLocked(id).catch(this.options.onError ?? (() => {})).finally(() => this.running.delete(run));
      this.running.add(run);
    }, delayMs);
    timer.unref?.();
    this.timers.add(timer);
  }

  /**
   * Settles record `id` under the lock of its path, the caller already holding it (the write that
   * failed a step). Returns true when the record is gone (settled), false when it is kept for later.
   */
  async settleHeld(id: number): Promise<boolean> {
    const record = (await this.options.journal.pending()).find((entry) => entry.id === id);
    if (!record) {
      this.undoing.delete(id);
      return true;
    }
    try {
      if (await this.settle(record)) {
        await this.options.journal.finish(id);
        this.undoing.delete(id);
        return true;
      }
    } catch (error) {
      this.options.onError?.(error);
    }
    if (hidesOutcome(record.intent)) this.undoing.set(id, record.intent);
    this.schedule(id, this.options.retryMs ?? 30_000);
    return false;
  }

  /**
   * Whether a write this process left unsettled, still being rolled back, overlaps `path`: what
   * the path shows now is not what clients were answered, so a write must not look at it before
   * that record is settled (see `hidesOutcome`). In memory, no journal read.
   */
  undoingAt(path: string, overlaps: (a: string, b: string) => boolean): boolean {
    for (const intent of this.undoing.values()) if (intentPaths(intent).some((held) => overlaps(held, path))) return true;
    return false;
  }

  /** Stops the retries (shutdown); records stay in the journal for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }

  /** Paths of the records not settled yet. */
  async pendingPaths(): Promise<string[]> {
    return (await this.options.journal.pending()).map((record) => record.intent.path);
  }

  /**
   * Settles, under the lock the caller already holds on `paths`, every record overlapping them
   * that this process may settle (its own left for a retry, or a dead bridge's it just claimed), so
   * a new write never plans against a half-done one. Resolves with the intents that stay unsettled
   * (kept for a background retry); an upload still watching for a stray copy is not among them.
   */
  async settleOverlapping(paths: readonly string[], overlaps: (a: string, b: string) => boolean): Promise<WriteIntent[]> {
    const left: WriteIntent[] = [];
    await this.options.journal.claimOverlapping?.(paths, overlaps);
    const pending = await this.options.journal.pending();
    // A record settled elsewhere (a background retry, another bridge that took it over) no longer hides anything here.
    for (const id of this.undoing.keys()) if (!pending.some((record) => record.id === id)) this.undoing.delete(id);
    for (const record of pending) {
      if (!intentPaths(record.intent).some((held) => paths.some((path) => overlaps(held, path)))) continue;
      const intent = record.intent;
      // An upload still watching for a stray copy needs a listing and may keep watching for
      // minutes: it goes on in the background (the new write's confirmed file is protected from
      // it, see `protect`), so the new write does not wait for it.
      if (intent.op === 'upload' && intent.bodySent && !intent.newUrl) {
        this.schedule(record.id);
        continue;
      }
      if (!(await this.settleHeld(record.id))) left.push(intent);
    }
    return left;
  }

  private async settleLocked(id: number, known?: JournalRecord): Promise<void> {
    const record = known ?? (await this.options.journal.pending()).find((entry) => entry.id === id);
    if (!record || this.closed) return;
    const release = await this.options.locks.acquire(intentPaths(record.intent));
    try {
      await this.settleHeld(id);
    } finally {
      release();
    }
  }

  /** One attempt; true when the record is settled and may be forgotten. */
  private async settle(record: JournalRecord): Promise<boolean> {
    const intent = record.intent;
    if (intent.op === 'upload') return this.settleUpload(intent, record.startedAt);
    if (intent.op === 'move-replace' || intent.op === 'copy-replace') return this.settleReplace(intent as ReplaceIntent);
    if (!this.options.settleTree) return false;
    return this.options.settleTree(intent as TreeIntent, record.id);
  }

  private async settleUpload(intent: UploadIntent, startedAt: number): Promise<boolean> {
    if (intent.newUrl) {
      if (intent.oldUrl) await this.removeFile(intent.folderId, intent.oldUrl);
      return true;
    }
    // A body cut before its end is never stored by the upload node.
    if (!intent.bodySent) return true;
    const listing = await this.options.upstream.listFolder(intent.folderId, 'background');
    const strays = listing.files.filter(
      (file) =>
        file.name === intent.name &&
        file.size === intent.size &&
        !intent.before.includes(file.url) &&
        !this.options.confirmed.has(file.url),
    );
    for (const file of strays) await this.removeFile(intent.folderId, file.url);
    if (strays.length > 0) return true;
    // Nothing seen yet: the upload may never have reached 1fichier, or its listing lags.
    return this.now() - startedAt > (this.options.uploadSettleMs ?? 15 * 60_000);
  }

  private async settleReplace(intent: ReplaceIntent): Promise<boolean> {
    const newUrl = intent.newUrl ?? (await this.findTransferred(intent))?.url;
    if (!newUrl) return true; // the transfer never happened: nothing to finish or undo
    if (intent.rollback) {
      await this.undoTransfer(intent, newUrl);
      return true;
    }
    await this.removeFile(intent.folderId, intent.oldUrl);
    return true;
  }

  private async findTransferred(intent: ReplaceIntent): Promise<UpstreamFile | undefined> {
    const listing = await this.options.upstream.listFolder(intent.folderId, 'background');
    return listing.files.find((file) => file.name === intent.name && file.url !== intent.oldUrl);
  }

  /**
   * Undoes a transfer that reached the destination: a COPY's copy is removed, a MOVE's file goes
   * back to its folder and name. Resolves with the file's URL at the source again (MOVE) or undefined.
   */
  async undoTransfer(intent: ReplaceIntent, url: string): Promise<string | undefined> {
    const { upstream, folders } = this.options;
    if (intent.op === 'copy-replace') {
      await this.removeFile(intent.folderId, url);
      return undefined;
    }
    let back = url;
    if (intent.folderId === intent.sourceFolderId) await upstream.renameFile(url, intent.sourceName);
    else back = await upstream.moveFile(url, intent.sourceFolderId, intent.name !== intent.sourceName ? intent.sourceName : undefined);
    folders.removeFile(intent.folderId, url);
    return back;
  }

  /** Removes one file; one already gone counts as removed. */
  private async removeFile(folderId: number, url: string): Promise<void> {
    try {
      await this.options.upstream.removeFiles([url]);
    } catch (error) {
      if (!(error instanceof DriveError && error.code === 'not-found')) throw error;
    }
    this.options.folders.removeFile(folderId, url);
  }
}

/**
 * Whether a write left unsettled keeps its paths showing something other than what the clients
 * were answered, so that no other write may plan against them yet. A write being rolled back (a
 * tree write before its commit, a MOVE or COPY onto a file answered an error) has not given back
 * yet the source or the destination it took: the source of a MOVE is not at its path, the set-aside
 * destination is hidden. A write there would answer as if they did not exist (a DELETE 404, a
 * MKCOL 201 that makes a second folder of the name the rollback then gives back). A write rolled
 * forward already shows its outcome; only removals of hidden or replaced objects remain.
 */
export function hidesOutcome(intent: WriteIntent): boolean {
  if (intent.op === 'upload') return false;
  if (intent.op === 'move-replace' || intent.op === 'copy-replace') return Boolean((intent as ReplaceIntent).rollback) || !(intent as ReplaceIntent).newUrl;
  const tree = intent as TreeIntent;
  return !tree.committed || !tree.localDone;
}
