/**
 * The metadata cache: one entry per upstream folder, holding its sub-folders and files as one
 * `folder/ls.cgi` + `files:1` call returned them. It is what lets a PROPFIND or a library re-scan
 * cost no API call at all.
 *
 * - Fresh for `ttlMs`; then served stale for up to `staleMs` more while one background refresh
 *   (low priority) runs; older than that, a read waits for a new listing, and still gets the old
 *   one when 1fichier is unavailable (flood cool-down, outage).
 * - Concurrent loads of one folder share a single call.
 * - Write-through: our own writes patch the entry from the API's answer instead of re-listing.
 *   Because 1fichier's listings lag (a new file can be missing, a deleted one can linger for a
 *   while), these patches are also kept as an overlay for `overlayMs` and applied on top of the
 *   next listings, so a file we just uploaded never vanishes and a deleted one never comes back.
 */
import { LRUCache } from 'lru-cache';
import { DriveError } from './types.js';

export interface UpstreamFolder {
  id: number;
  /** Decoded (real) name. */
  name: string;
  created?: Date;
}

export interface UpstreamFile {
  url: string;
  /** Decoded (real) name. */
  name: string;
  size: number;
  modified: Date;
  checksum?: string;
  contentType?: string;
  /** Password-protected upstream. */
  protected?: boolean;
}

export interface FolderContent {
  id: number;
  name: string;
  folders: UpstreamFolder[];
  files: UpstreamFile[];
}

export interface CachedFolder extends FolderContent {
  /** When the upstream listing behind this entry was fetched (ms). */
  fetchedAt: number;
}

/**
 * Who waits for a listing: a client's read ('interactive', answered 503 past the read deadline),
 * a write that needs the folder to plan ('write': may wait out a whole listing window, see
 * fichier-upstream.ts), or nobody ('background').
 */
export type LoadPriority = 'interactive' | 'write' | 'background';

export interface FolderCacheOptions {
  ttlMs: number;
  staleMs: number;
  overlayMs: number;
  maxEntries: number;
  load: (folderId: number, priority: LoadPriority) => Promise<FolderContent>;
  now?: () => number;
  /** Reports background refresh failures (they must not surface as unhandled rejections). */
  onBackgroundError?: (folderId: number, error: unknown) => void;
  /**
   * Told of every patch made by our own writes, so other bridges of the account can apply it
   * (`applyRemote`) and see the write at once instead of after their cache expires.
   */
  onPatch?: (patch: FolderPatch) => void;
  /** Told when a fresh listing of a folder that was cached differs from the cached one (changes made elsewhere). */
  onListingChange?: (before: CachedFolder, after: CachedFolder) => void;
}

/** One write-through change of the cache, as `onPatch` reports it and `applyRemote` takes it. */
export type FolderPatch =
  | { op: 'addFile'; folderId: number; file: UpstreamFile }
  | { op: 'removeFile'; folderId: number; url: string }
  | { op: 'addFolder'; folderId: number; folder: UpstreamFolder }
  | { op: 'removeFolder'; folderId: number; childId: number; keepListing?: boolean };

interface Overlay {
  addedFiles: Map<string, { file: UpstreamFile; until: number }>;
  removedFiles: Map<string, number>;
  addedFolders: Map<number, { folder: UpstreamFolder; until: number }>;
  removedFolders: Map<number, number>;
}

export class FolderCache {
  private readonly entries: LRUCache<number, CachedFolder>;
  private readonly loading = new Map<number, Promise<CachedFolder>>();
  /** Whom each listing in `loading` was made for. */
  private readonly loadingFor = new Map<number, LoadPriority>();
  private readonly overlays = new Map<number, Overlay>();
  private readonly now: () => number;
  private readonly counters = { hits: 0, misses: 0 };

  constructor(private readonly options: FolderCacheOptions) {
    this.entries = new LRUCache({ max: options.maxEntries });
    this.now = options.now ?? Date.now;
  }

  /**
   * The folder's content: from cache when fresh or stale-servable, else from upstream, listed for
   * `priority` (a read by default; a write passes 'write').
   */
  async get(folderId: number, priority: 'interactive' | 'write' = 'interactive'): Promise<CachedFolder> {
    const cached = this.entries.get(folderId);
    if (cached) {
      const age = this.now() - cached.fetchedAt;
      if (age <= this.options.ttlMs) {
        this.counters.hits += 1;
        return cached;
      }
      if (age <= this.options.ttlMs + this.options.staleMs) {
        this.counters.hits += 1;
        this.refreshInBackground(folderId);
        return cached;
      }
      this.counters.misses += 1;
      try {
        return await this.load(folderId, priority);
      } catch (error) {
        // 1fichier flooding or down: an old listing beats no listing for a read.
        if (error instanceof DriveError && error.code === 'unavailable') return cached;
        throw error;
      }
    }
    this.counters.misses += 1;
    return this.load(folderId, priority);
  }

  /** Lookups answered from the cache (fresh or stale) and lookups that had to wait for a listing. */
  stats(): { hits: number; misses: number } {
    return { ...this.counters };
  }

  /** The cached entry, without any upstream call (undefined when not cached). */
  peek(folderId: number): CachedFolder | undefined {
    return this.entries.peek(folderId);
  }

  /**
   * The cached folder listing a file with this id (its URL's `?<id>`), without any upstream call:
   * for links by id (a file keeps its URL across renames and moves). undefined when no cached
   * listing holds it.
   */
  findFile(matches: (file: UpstreamFile) => boolean): { folder: CachedFolder; file: UpstreamFile } | undefined {
    for (const folder of this.entries.values()) {
      const file = folder.files.find(matches);
      if (file) return { folder, file };
    }
    return undefined;
  }

  /** The cached listing holding `folderId` as a sub-folder (its parent), without any upstream call. */
  findParent(folderId: number): { parent: CachedFolder; folder: UpstreamFolder } | undefined {
    for (const parent of this.entries.values()) {
      const folder = parent.folders.find((candidate) => candidate.id === folderId);
      if (folder) return { parent, folder };
    }
    return undefined;
  }

  /**
   * Lists the folder again now, at background priority (behind every waiting client), whatever
   * the age of its cached listing: `--watch` uses it to notice changes made elsewhere.
   */
  refresh(folderId: number): Promise<CachedFolder> {
    return this.load(folderId, 'background');
  }

  /** Forces the next get() to list again. */
  invalidate(folderId: number): void {
    this.entries.delete(folderId);
  }

  /**
   * Forces every folder to be listed again on its next get() (changes were missed: another bridge
   * wrote and we never heard). Overlays of our own writes stay: they are still true.
   */
  invalidateAll(): void {
    this.entries.clear();
  }

  /** Drops a folder and its overlay entirely (the folder was removed upstream). */
  forget(folderId: number): void {
    this.entries.delete(folderId);
    this.overlays.delete(folderId);
  }

  addFile(folderId: number, file: UpstreamFile): void {
    this.own({ op: 'addFile', folderId, file });
  }

  removeFile(folderId: number, url: string): void {
    this.own({ op: 'removeFile', folderId, url });
  }

  addFolder(parentId: number, folder: UpstreamFolder): void {
    this.own({ op: 'addFolder', folderId: parentId, folder });
  }

  /**
   * The folder left `parentId`. Removed upstream (the default), its own listing goes too; moved
   * elsewhere (`keepListing`), its content did not change, so its listing stays valid.
   */
  removeFolder(parentId: number, folderId: number, options: { keepListing?: boolean } = {}): void {
    this.own({ op: 'removeFolder', folderId: parentId, childId: folderId, ...(options.keepListing ? { keepListing: true } : {}) });
  }

  /** A patch made by another bridge's write: applied like ours, and not reported again. */
  applyRemote(patch: FolderPatch): void {
    this.apply(patch);
  }

  private own(patch: FolderPatch): void {
    this.apply(patch);
    this.options.onPatch?.(patch);
  }

  private apply(patch: FolderPatch): void {
    const overlay = this.overlayOf(patch.folderId);
    const until = this.now() + this.options.overlayMs;
    switch (patch.op) {
      case 'addFile': {
        const { file } = patch;
        overlay.removedFiles.delete(file.url);
        overlay.addedFiles.set(file.url, { file, until });
        this.patch(patch.folderId, (entry) => ({ ...entry, files: [...entry.files.filter((f) => f.url !== file.url), file] }));
        return;
      }
      case 'removeFile':
        overlay.addedFiles.delete(patch.url);
        overlay.removedFiles.set(patch.url, until);
        this.patch(patch.folderId, (entry) => ({ ...entry, files: entry.files.filter((f) => f.url !== patch.url) }));
        return;
      case 'addFolder': {
        const { folder } = patch;
        overlay.removedFolders.delete(folder.id);
        overlay.addedFolders.set(folder.id, { folder, until });
        this.patch(patch.folderId, (entry) => ({ ...entry, folders: [...entry.folders.filter((f) => f.id !== folder.id), folder] }));
        return;
      }
      case 'removeFolder':
        overlay.addedFolders.delete(patch.childId);
        overlay.removedFolders.set(patch.childId, until);
        this.patch(patch.folderId, (entry) => ({ ...entry, folders: entry.folders.filter((f) => f.id !== patch.childId) }));
        if (!patch.keepListing) this.forget(patch.childId);
        return;
    }
  }

  /**
   * A folder we just created is empty: its listing is known without asking 1fichier (whose
   * per-folder window would make the next look at it wait up to 30 s). Later writes patch it.
   */
  seedEmpty(folder: UpstreamFolder): void {
    if (this.entries.has(folder.id)) return;
    this.entries.set(folder.id, this.applyOverlay({ id: folder.id, name: folder.name, folders: [], files: [], fetchedAt: this.now() }));
  }

  private patch(folderId: number, change: (entry: CachedFolder) => CachedFolder): void {
    const entry = this.entries.peek(folderId);
    if (entry) this.entries.set(folderId, change(entry));
  }

  private overlayOf(folderId: number): Overlay {
    let overlay = this.overlays.get(folderId);
    if (!overlay) {
      overlay = { addedFiles: new Map(), removedFiles: new Map(), addedFolders: new Map(), removedFolders: new Map() };
      this.overlays.set(folderId, overlay);
    }
    return overlay;
  }

  private refreshInBackground(folderId: number): void {
    if (this.loading.has(folderId)) return;
    this.load(folderId, 'background').catch((error: unknown) => this.options.onBackgroundError?.(folderId, error));
  }

  private load(folderId: number, priority: LoadPriority): Promise<CachedFolder> {
    const pending = this.loading.get(folderId);
    // A write joining a read's listing keeps its own patience: when the read gives up (503 past
    // its deadline), the write lists again for itself.
    if (pending && priority === 'write' && this.loadingFor.get(folderId) !== 'write') {
      return pending.catch((error: unknown) => {
        if (error instanceof DriveError && error.code === 'unavailable') return this.load(folderId, priority);
        throw error;
      });
    }
    if (pending) return pending;
    const request = this.options
      .load(folderId, priority)
      .then((content) => {
        const entry = this.applyOverlay({ ...content, fetchedAt: this.now() });
        const before = this.entries.peek(folderId);
        this.entries.set(folderId, entry);
        if (before && this.options.onListingChange) {
          try {
            this.options.onListingChange(before, entry);
          } catch (error) {
            this.options.onBackgroundError?.(folderId, error);
          }
        }
        return entry;
      })
      .finally(() => {
        this.loading.delete(folderId);
        this.loadingFor.delete(folderId);
      });
    this.loading.set(folderId, request);
    this.loadingFor.set(folderId, priority);
    return request;
  }

  /** Merges our recent writes into a fresh listing that may not show them yet. */
  private applyOverlay(entry: CachedFolder): CachedFolder {
    const overlay = this.overlays.get(entry.id);
    if (!overlay) return entry;
    const now = this.now();
    const listedFiles = new Set(entry.files.map((file) => file.url));
    const listedFolders = new Set(entry.folders.map((folder) => folder.id));
    let files = entry.files;
    let folders = entry.folders;

    for (const [url, until] of overlay.removedFiles) {
      if (until < now || !listedFiles.has(url)) overlay.removedFiles.delete(url);
    }
    for (const [url, added] of overlay.addedFiles) {
      if (added.until < now || listedFiles.has(url)) overlay.addedFiles.delete(url);
    }
    for (const [id, until] of overlay.removedFolders) {
      if (until < now || !listedFolders.has(id)) overlay.removedFolders.delete(id);
    }
    for (const [id, added] of overlay.addedFolders) {
      if (added.until < now || listedFolders.has(id)) overlay.addedFolders.delete(id);
    }

    if (overlay.removedFiles.size > 0) files = files.filter((file) => !overlay.removedFiles.has(file.url));
    if (overlay.addedFiles.size > 0) files = [...files, ...[...overlay.addedFiles.values()].map((added) => added.file)];
    if (overlay.removedFolders.size > 0) folders = folders.filter((folder) => !overlay.removedFolders.has(folder.id));
    if (overlay.addedFolders.size > 0) {
      folders = [...folders, ...[...overlay.addedFolders.values()].map((added) => added.folder)];
    }
    const empty =
      overlay.addedFiles.size + overlay.removedFiles.size + overlay.addedFolders.size + overlay.removedFolders.size === 0;
    if (empty) this.overlays.delete(entry.id);
    return { ...entry, files, folders };
  }
}
