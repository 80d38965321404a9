/**
 * Writes on or onto a folder tree, journaled so that a crash, a kill -9 or an error answered to the
 * client never leaves a half-deleted tree, a half-merged one, a duplicate or an alias:
 *
 * - DELETE of a folder: the folder is first renamed to a hidden name (one upstream call: done or
 *   not), which is the commit; its content is removed afterwards (files in batches, sub-folders
 *   depth first), and that removal is rolled forward by the journal until the hidden folder is gone.
 * - MOVE or COPY of a folder, and MOVE or COPY of anything onto an existing folder (or of a folder
 *   onto a file): the destination, if any, is first set aside under a hidden name; then the
 *   transfer runs (folder/mv.cgi and a rename; or mkdir and cp.cgi tree by tree). The write
 *   commits when the transfer is complete. Before the commit, settling rolls BACK (a moved folder
 *   goes back to its folder and name, a partial copy is removed, the set-aside destination gets its
 *   name back); after it, settling rolls FORWARD (the local state follows, the set-aside object is
 *   removed).
 *
 * Why these directions: a removal on 1fichier cannot be undone, so nothing is removed before the
 * commit, and after it the only step left is a removal, which can always be finished. A transfer
 * can always be undone (moves reverse, copies can be removed), so a transfer cut midway rolls back.
 *
 * Hidden names start with `.fichier-dav-aside-` and never show in the drive's listings.
 */
import { randomBytes } from 'node:crypto';
import type { FolderCache, FolderContent, UpstreamFile, UpstreamFolder } from './folder-cache.js';
import type { LocalState } from './local-state.js';
import { DriveError } from './types.js';
import type { Upstream } from './upstream.js';
import type { TreeIntent, TreeObject, WriteJournal } from './write-journal.js';

export const ASIDE_PREFIX = '.fichier-dav-aside-';

/** True for the hidden name of an object set aside by a write in progress. */
export function isAsideName(name: string): boolean {
  return name.startsWith(ASIDE_PREFIX);
}

/** A listing without the objects set aside by writes in progress (clients never see them). */
export function hideAside<T extends FolderContent>(content: T): T {
  if (!content.folders.some((folder) => isAsideName(folder.name)) && !content.files.some((file) => isAsideName(file.name))) return content;
  return { ...content, folders: content.folders.filter((folder) => !isAsideName(folder.name)), files: content.files.filter((file) => !isAsideName(file.name)) };
}

export interface TreeWritesOptions {
  upstream: Upstream;
  folders: FolderCache;
  state: LocalState;
  journal: WriteJournal;
  /** Settles record `id` now (the caller holds its paths); false when kept for a background retry. */
  settleHeld: (id: number) => Promise<boolean>;
  invalidateLink: (url: string) => void;
}

/** A definite refusal: the call did nothing upstream. */
function isRefusal(error: unknown): boolean {
  return error instanceof DriveError && ['not-found', 'forbidden', 'bad-request', 'exists', 'conflict', 'not-empty'].includes(error.code);
}

function isGone(error: unknown): boolean {
  return error instanceof DriveError && error.code === 'not-found';
}

export class TreeWrites {
  /**
   * Records whose write is running in this process right now, past its commit: their state is
   * known exactly, so removing what was set aside uses the folder cache (no fresh listing, which
   * at 1fichier's limits could mean waiting out a 30 s window while the client waits).
   */
  private readonly live = new Set<number>();

  constructor(private readonly options: TreeWritesOptions) {}

  /** DELETE of folder `folder` at `path`: set aside (the commit), then removed. */
  async deleteFolder(path: string, folder: { id: number; parentId: number; name: string }): Promise<void> {
    const intent: TreeIntent = { op: 'tree-delete', path, aside: { kind: 'folder', ...folder, hidden: hiddenName() } };
    const id = await this.options.journal.begin(intent);
    await this.step(id, false, () => this.setAside(intent.aside!));
    await this.commit(id, intent);
  }

  /**
   * MOVE or COPY of `source` (at `from`) to `to` = `target`, replacing `destination` when given.
   * Resolves once committed (the client may be told 2xx); rejects with the step's error after
   * rolling back (source and destination as they were).
   */
  async transfer(
    op: 'move' | 'copy',
    from: string,
    to: string,
    source: TreeObject,
    target: { parentId: number; name: string },
    destination: TreeObject | undefined,
    depth: 0 | 'infinity' = 'infinity',
  ): Promise<void> {
    const intent: TreeIntent = {
      op: op === 'move' ? 'tree-move' : 'tree-copy',
      path: to,
      from,
      source,
      target,
      ...(op === 'copy' ? { depth } : {}),
      ...(destination ? { aside: { ...destination, hidden: hiddenName() } } : {}),
    };
    const id = await this.options.journal.begin(intent);
    let anyStep = false;
    if (intent.aside) {
      await this.step(id, anyStep, () => this.setAside(intent.aside!));
      anyStep = true;
    }
    if (op === 'move') await this.step(id, anyStep, () => this.moveSource(source, target));
    else {
      await this.step(id, anyStep, async () => {
        if (source.kind === 'file') {
          const [url] = await this.options.upstream.copyFiles([source.url!], target.parentId, target.name);
          const original = this.options.folders.peek(source.parentId)?.files.find((file) => file.url === source.url);
          if (original && url) this.options.folders.addFile(target.parentId, { ...original, url, name: target.name, modified: new Date() });
          else this.options.folders.invalidate(target.parentId);
          return;
        }
        const folder = await this.options.upstream.mkdir(target.parentId, target.name);
        intent.copyId = folder.id;
        await this.options.journal.update(id, intent);
        this.options.folders.addFolder(target.parentId, folder);
        this.options.folders.seedEmpty(folder);
        if (depth === 'infinity') await this.copyFolderContent(source.id!, folder.id);
      });
    }
    await this.commit(id, intent);
  }

  /**
   * Settles a record left by a crash or a failed step (the caller holds its paths): forward when
   * committed, back otherwise. True when done.
   */
  async settle(intent: TreeIntent, id: number): Promise<boolean> {
    if (intent.committed) {
      if (!intent.localDone) await this.carryLocalState(intent, true);
      if (intent.aside) await this.removeAside(intent.aside, this.live.has(id));
      return true;
    }
    if (intent.op === 'tree-move') await this.undoMove(intent);
    if (intent.op === 'tree-copy') await this.undoCopy(intent);
    if (intent.aside) await this.restoreAside(intent.aside);
    return true;
  }

  // ---- forward steps -----------------------------------------------------------------------

  /**
   * Runs one upstream step. When it fails, whatever it (or an earlier step) did is rolled back
   * before the error goes on to the client; a refusal of the very first step did nothing.
   */
  private async step(id: number, earlierSteps: boolean, run: () => Promise<void>): Promise<void> {
    try {
      await run();
    } catch (error) {
      if (isRefusal(error) && !earlierSteps) await this.options.journal.finish(id);
      else await this.options.settleHeld(id);
      throw error;
    }
  }

  /** The commit: from here the write is rolled forward, whatever happens. */
  private async commit(id: number, intent: TreeIntent): Promise<void> {
    intent.committed = true;
    await this.options.journal.update(id, intent);
    await this.carryLocalState(intent, false);
    intent.localDone = true;
    await this.options.journal.update(id, intent);
    // The rest (removing what was set aside) is retried in the background when 1fichier refuses for now.
    this.live.add(id);
    try {
      await this.options.settleHeld(id);
    } finally {
      this.live.delete(id);
    }
  }

  private async setAside(aside: TreeObject & { hidden: string }): Promise<void> {
    const { upstream, folders } = this.options;
    if (aside.kind === 'folder') {
      await upstream.renameFolder(aside.id!, aside.hidden);
      folders.removeFolder(aside.parentId, aside.id!, { keepListing: true });
    } else {
      await upstream.renameFile(aside.url!, aside.hidden);
      folders.removeFile(aside.parentId, aside.url!);
      this.options.invalidateLink(aside.url!);
    }
  }

  private async moveSource(source: TreeObject, target: { parentId: number; name: string }): Promise<void> {
    const { upstream, folders } = this.options;
    if (source.kind === 'folder') {
      if (source.parentId !== target.parentId) await upstream.moveFolder(source.id!, target.parentId);
      if (source.name !== target.name) await upstream.renameFolder(source.id!, target.name);
      const known = folders.peek(source.parentId)?.folders.find((folder) => folder.id === source.id);
      folders.removeFolder(source.parentId, source.id!, { keepListing: true });
      folders.addFolder(target.parentId, { ...(known ?? { id: source.id! }), name: target.name } as UpstreamFolder);
      return;
    }
    const file = folders.peek(source.parentId)?.files.find((candidate) => candidate.url === source.url);
    let url = source.url!;
    if (source.parentId === target.parentId) {
      if (source.name !== target.name) await upstream.renameFile(url, target.name);
    } else url = await upstream.moveFile(url, target.parentId, source.name !== target.name ? target.name : undefined);
    folders.removeFile(source.parentId, source.url!);
    if (file) folders.addFile(target.parentId, { ...file, url, name: target.name });
    else folders.invalidate(target.parentId);
  }

  private async copyFolderContent(sourceId: number, destinationId: number): Promise<void> {
    const { upstream, folders } = this.options;
    const listing = await folders.get(sourceId);
    for (let index = 0; index < listing.files.length; index += 100) {
      const batch = listing.files.slice(index, index + 100);
      const copies = await upstream.copyFiles(
        batch.map((file) => file.url),
        destinationId,
      );
      batch.forEach((file, position) => {
        const url = copies[position];
        if (url) folders.addFile(destinationId, { ...file, url, modified: new Date() });
      });
    }
    for (const sub of listing.folders) {
      const created = await upstream.mkdir(destinationId, sub.name);
      folders.addFolder(destinationId, created);
      folders.seedEmpty(created);
      await this.copyFolderContent(sub.id, created.id);
    }
  }

  /**
   * Empty files and dead properties follow the write (after its commit). On a replay a MOVE's
   * local state is carried only if the source still holds some (the crash may have come between
   * the move of the local state and the journal's note of it; moving again would clear the
   * destination).
   */
  private async carryLocalState(intent: TreeIntent, replay: boolean): Promise<void> {
    const { state } = this.options;
    if (intent.op === 'tree-delete') await state.removeTree(intent.path);
    else if (intent.op === 'tree-copy') await state.copyTree(intent.from!, intent.path, intent.depth ?? 'infinity');
    else if (!replay || hasLocalState(state, intent.from!)) await state.moveTree(intent.from!, intent.path);
    else if (intent.aside) await state.removeTree(intent.path);
  }

  // ---- settling ----------------------------------------------------------------------------

  /** Lists a folder as 1fichier holds it now (never a saved listing: a lost answer may have changed it). */
  private async listFresh(folderId: number): Promise<FolderContent | undefined> {
    const { upstream } = this.options;
    try {
      return await (upstream.listFolderFresh ? upstream.listFolderFresh(folderId) : upstream.listFolder(folderId, 'background'));
    } catch (error) {
      if (isGone(error)) return undefined;
      throw error;
    }
  }

  /** A listing from the folder cache (our own writes patched in); undefined when the folder is gone. */
  private async listCached(folderId: number): Promise<FolderContent | undefined> {
    try {
      const listing = await this.options.folders.get(folderId);
      return { id: folderId, name: '', folders: listing.folders, files: listing.files };
    } catch (error) {
      if (isGone(error)) return undefined;
      throw error;
    }
  }

  /**
   * Removes the set-aside object (a folder tree or a file); one already gone counts as removed.
   * `known`: set aside by this process just now (no need to look whether it is still there).
   */
  private async removeAside(aside: TreeObject & { hidden: string }, known: boolean): Promise<void> {
    const { upstream, folders } = this.options;
    if (aside.kind === 'file') {
      await upstream.removeFiles([aside.url!]).catch((error: unknown) => {
        if (!isGone(error)) throw error;
      });
      folders.removeFile(aside.parentId, aside.url!);
      return;
    }
    if (!known) {
      const still = (await this.listFresh(aside.parentId))?.folders.find((folder) => folder.id === aside.id);
      if (!still || !isAsideName(still.name)) return folders.removeFolder(aside.parentId, aside.id!);
    }
    await this.removeFolderTree(aside.id!, known ? (id) => this.listCached(id) : (id) => this.listFresh(id));
    folders.removeFolder(aside.parentId, aside.id!);
  }

  /** 1fichier removes only empty folders: files first (in batches), sub-folders depth first, then the folder. */
  private async removeFolderTree(folderId: number, list: (id: number) => Promise<FolderContent | undefined> = (id) => this.listFresh(id)): Promise<void> {
    const { upstream, folders } = this.options;
    const listing = await list(folderId);
    if (!listing) return;
    for (const sub of listing.folders) await this.removeFolderTree(sub.id, list);
    const urls = listing.files.map((file) => file.url);
    for (let index = 0; index < urls.length; index += 100) {
      await upstream.removeFiles(urls.slice(index, index + 100)).catch((error: unknown) => {
        if (!isGone(error)) throw error;
      });
      for (const url of urls.slice(index, index + 100)) this.options.invalidateLink(url);
    }
    await upstream.removeFolder(folderId).catch((error: unknown) => {
      if (!isGone(error)) throw error;
    });
    folders.forget(folderId);
  }

  /** The set-aside object gets its own name back (when it was set aside at all). */
  private async restoreAside(aside: TreeObject & { hidden: string }): Promise<void> {
    const { upstream, folders } = this.options;
    const parent = await this.listFresh(aside.parentId);
    if (!parent) return;
    if (aside.kind === 'folder') {
      const folder = parent.folders.find((candidate) => candidate.id === aside.id);
      if (folder && folder.name !== aside.name) {
        await upstream.renameFolder(aside.id!, aside.name);
        folders.addFolder(aside.parentId, { ...folder, name: aside.name });
      }
      return;
    }
    const file = parent.files.find((candidate) => candidate.url === aside.url);
    if (file && file.name !== aside.name) {
      await upstream.renameFile(aside.url!, aside.name);
      folders.addFile(aside.parentId, { ...file, name: aside.name });
    }
  }

  /** A MOVE cut before its commit: the source goes back to its folder and name. */
  private async undoMove(intent: TreeIntent): Promise<void> {
    const { upstream, folders } = this.options;
    const source = intent.source!;
    const target = intent.target!;
    if (source.kind === 'folder') {
      const inTarget = (await this.listFresh(target.parentId))?.folders.find((folder) => folder.id === source.id);
      if (inTarget && target.parentId !== source.parentId) {
        await upstream.moveFolder(source.id!, source.parentId);
        folders.removeFolder(target.parentId, source.id!, { keepListing: true });
      }
      const home = (await this.listFresh(source.parentId))?.folders.find((folder) => folder.id === source.id);
      if (home && home.name !== source.name) await upstream.renameFolder(source.id!, source.name);
      if (home) folders.addFolder(source.parentId, { ...home, name: source.name });
      return;
    }
    // A file: once the destination name was freed (set aside, or never taken), a file of that name there is ours.
    const moved = (await this.listFresh(target.parentId))?.files.find((file) => file.name === target.name);
    if (!moved || (moved.url === source.url && source.parentId === target.parentId && source.name === target.name)) return;
    let back: UpstreamFile = moved;
    if (target.parentId === source.parentId) await upstream.renameFile(moved.url, source.name);
    else back = { ...moved, url: await upstream.moveFile(moved.url, source.parentId, moved.name !== source.name ? source.name : undefined) };
    folders.removeFile(target.parentId, moved.url);
    folders.addFile(source.parentId, { ...back, name: source.name });
  }

  /**
   * A COPY cut before its commit: whatever it made at the destination is removed. Never the
   * destination it replaces: when setting that aside failed (or was cut), it still has the target's
   * name, and matching by name alone removed it (a failed COPY onto a folder lost its content).
   */
  private async undoCopy(intent: TreeIntent): Promise<void> {
    const { upstream, folders } = this.options;
    const target = intent.target!;
    const listing = await this.listFresh(target.parentId);
    if (!listing) return;
    const aside = intent.aside;
    if (intent.source!.kind === 'file') {
      const copies = listing.files.filter((file) => file.name === target.name && !(aside?.kind === 'file' && file.url === aside.url));
      if (copies.length > 0) {
        await upstream.removeFiles(copies.map((file) => file.url));
        for (const file of copies) folders.removeFile(target.parentId, file.url);
      }
      return;
    }
    const made = listing.folders.filter(
      (folder) => (folder.id === intent.copyId || folder.name === target.name) && !(aside?.kind === 'folder' && folder.id === aside.id),
    );
    for (const folder of made) {
      await this.removeFolderTree(folder.id);
      folders.removeFolder(target.parentId, folder.id);
    }
  }
}

function hiddenName(): string {
  return ASIDE_PREFIX + randomBytes(6).toString('hex');
}

/** Whether the local state holds anything at or directly under `path` (empty files, properties). */
function hasLocalState(state: LocalState, path: string): boolean {
  return state.file(path) !== undefined || state.filesIn(path).length > 0 || state.properties(path).length > 0;
}
