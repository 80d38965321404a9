/**
 * The `Drive` over a 1fichier account. It answers metadata from the folder cache, turns each
 * client range into one upstream ranged GET (with a reused download link and invisible resume),
 * and maps writes onto native 1fichier operations without ever losing a file:
 *
 * - an overwrite uploads the new file, which the client verifies by Whirlpool, and only then
 *   removes the old one, so a failed upload leaves the old file untouched;
 * - empty files and OS housekeeping files live in local state (1fichier cannot store empty files);
 * - MOVE/COPY use rename.cgi, mv.cgi, cp.cgi and folder/mv.cgi, never download + upload.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { BlockCache } from './block-cache/block-cache.js';
import { cacheSettingsFrom, type ReadCacheOptions } from './block-cache/drive-options.js';
import { checkSettings } from './block-cache/options.js';
import type { FetchPriority } from './block-cache/span-fetch.js';
import { emptyStats, type CacheStats } from './block-cache/stats.js';
import { fileEntry, folderEntry, localEntry, rootEntry } from './entries.js';
import { FolderCache, type UpstreamFile } from './folder-cache.js';
import { LinkCache } from './link-cache.js';
import type { LocalState } from './local-state.js';
import { assertFileSize, assertNameLength } from './account-limits.js';
import { leafOf, parentOf, splitPath } from './paths.js';
import { ROOT_ID, Resolver, type Resolved } from './resolver.js';
import { resumableReadWhenOpen } from './resumable-read.js';
import { SpoolArea } from './spool.js';
import { isSystemFileName } from './system-files.js';
import {
  DriveError,
  type CopyOptions,
  type DeadProperty,
  type Drive,
  type DriveEntry,
  type PropertyPatch,
  type Quota,
  type ReadOptions,
  type TransferOptions,
  type TransferResult,
  type WriteOptions,
  type WriteResult,
} from './types.js';
import { LinkRefusedError, type Upstream } from './upstream.js';

export interface FichierDriveOptions extends ReadCacheOptions {
  upstream: Upstream;
  state: LocalState;
  /** Directory for spooling uploads of unknown length. */
  spoolDir: string;
  /** Byte budget of the spool directory. */
  spoolMaxBytes?: number;
  /** A folder listing is fresh this long (ms). */
  folderTtlMs?: number;
  /** ...then served stale this much longer while refreshed in the background (ms). */
  folderStaleMs?: number;
  /** How long our own writes override lagging listings (ms). */
  overlayMs?: number;
  maxCachedFolders?: number;
  /** user/info is asked at most this often (ms). */
  quotaTtlMs?: number;
  /** How long one download link serves Range requests (ms); keep below 5 minutes. */
  linkReuseMs?: number;
  /** Links are single-use (get_token single:1): never reused. */
  singleUseLinks?: boolean;
  /** How many times one read resumes a broken upstream transfer. */
  maxResumes?: number;
  /** Keep OS housekeeping files (._*, .DS_Store, Thumbs.db, desktop.ini) local, never upload them. */
  keepSystemFilesLocal?: boolean;
  onBackgroundError?: (error: unknown) => void;
  /** One line per state change of the read cache (full disk: pass-through; room again). Default: onBackgroundError. */
  onReadCacheNotice?: (message: string, error?: unknown) => void;
  now?: () => number;
}

export class FichierDrive implements Drive {
  readonly folders: FolderCache;
  private readonly links: LinkCache;
  private readonly resolver: Resolver;
  private readonly upstream: Upstream;
  private readonly state: LocalState;
  private readonly spool: SpoolArea;
  private readonly options: Required<Omit<FichierDriveOptions, 'onBackgroundError' | 'onReadCacheNotice' | 'now' | keyof ReadCacheOptions>>;
  /** The read cache (issue 9); undefined when turned off or when its directory could not be opened. */
  private readonly readCache: Promise<BlockCache | undefined>;
  private readonly now: () => number;
  private readonly onBackgroundError: (error: unknown) => void;
  private quotaCache: { value: Quota; at: number } | undefined;
  private quotaRequest: Promise<Quota> | undefined;

  constructor(options: FichierDriveOptions) {
    this.onBackgroundError = options.onBackgroundError ?? (() => {});
    this.options = {
      spoolMaxBytes: 64 * 1024 ** 3,
      folderTtlMs: 60_000,
      folderStaleMs: 15 * 60_000,
      overlayMs: 10 * 60_000,
      maxCachedFolders: 20_000,
      quotaTtlMs: 5 * 60_000,
      linkReuseMs: 4 * 60_000,
      singleUseLinks: false,
      maxResumes: 5,
      keepSystemFilesLocal: true,
      ...options,
    };
    this.now = options.now ?? Date.now;
    this.upstream = options.upstream;
    this.state = options.state;
    this.spool = new SpoolArea(options.spoolDir, this.options.spoolMaxBytes);
    this.folders = new FolderCache({
      ttlMs: this.options.folderTtlMs,
      staleMs: this.options.folderStaleMs,
      overlayMs: this.options.overlayMs,
      maxEntries: this.options.maxCachedFolders,
      load: (folderId, priority) => this.upstream.listFolder(folderId, priority).then((content) => this.warmListing(content, options)),
      now: this.now,
      onBackgroundError: (_id, error) => options.onBackgroundError?.(error),
    });
    this.links = new LinkCache({ reuseMs: this.options.linkReuseMs, single: this.options.singleUseLinks, now: this.now });
    this.resolver = new Resolver(this.folders);
    this.readCache = this.openReadCache(options);
  }

  // ---- reads -------------------------------------------------------------------------------

  async stat(path: string): Promise<DriveEntry> {
    const local = this.localOnly(path);
    if (local) return local;
    const resolved = await this.resolveForRead(path);
    const name = leafOf(path);
    if (resolved.kind === 'folder') return resolved.id === ROOT_ID ? rootEntry() : folderEntry(resolved.folder);
    if (resolved.kind === 'file') return fileEntry(name, resolved.file);
    const localFile = this.state.file(path);
    if (localFile) return localEntry(name, localFile);
    throw new DriveError('not-found', `${path} does not exist`);
  }

  async list(path: string): Promise<DriveEntry[]> {
    const resolved = await this.resolveForRead(path);
    if (resolved.kind !== 'folder') {
      if (resolved.kind === 'file') throw new DriveError('not-a-folder', `${path} is a file`);
      if (this.state.file(path)) throw new DriveError('not-a-folder', `${path} is a file`);
      throw new DriveError('not-found', `${path} does not exist`);
    }
    const listing = await this.folders.get(resolved.id);
    const entries: DriveEntry[] = listing.folders.map(folderEntry);
    const taken = new Set(listing.folders.map((folder) => folder.name));
    for (const [name, file] of this.resolver.visibleFiles(listing)) {
      entries.push(fileEntry(name, file));
      taken.add(name);
    }
    for (const [name, file] of this.state.filesIn(path)) {
      if (!taken.has(name)) entries.push(localEntry(name, file));
    }
    return entries;
  }

  async read(path: string, options: ReadOptions = {}): Promise<Readable> {
    const local = this.localFileAt(path);
    const resolved = local ? undefined : await this.resolveForRead(path);
    if (!local && resolved?.kind === 'folder') throw new DriveError('is-a-folder', `${path} is a folder`);
    if (local || resolved?.kind === 'missing') {
      const file = local ?? this.state.file(path);
      if (!file) throw new DriveError('not-found', `${path} does not exist`);
      if (file.size === 0) return Readable.from([]);
      return this.state.readSystem(file, options.range);
    }
    const file = (resolved as Extract<Resolved, { kind: 'file' }>).file;
    const range = options.range ?? { start: 0, end: file.size - 1 };
    if (range.end < range.start) return Readable.from([]);
    const cache = await this.readCache;
    if (cache) return cache.readWhenReady(file, range, options.signal);
    return resumableReadWhenOpen({
      start: range.start,
      end: range.end,
      maxResumes: this.options.maxResumes,
      signal: options.signal,
      open: (part, context) => this.openUpstreamRange(file, part, context.signal, context.attempt > 0),
    });
  }

  /** Counters of the read cache (all zero when it is off). */
  cacheStats(): CacheStats {
    return this.openedCache?.stats() ?? emptyStats();
  }

  /** Waits until the read cache has no transfer or disk write in progress and its index is saved. */
  async settleReadCache(): Promise<void> {
    await (await this.readCache)?.settle();
  }

  /** Stops read-ahead and warming, and saves the cache index (call on shutdown). */
  async closeReadCache(): Promise<void> {
    await (await this.readCache)?.close();
  }

  async directUrl(path: string, signal?: AbortSignal): Promise<string> {
    const resolved = await this.resolveForRead(path);
    if (resolved.kind !== 'file') throw new DriveError('not-found', `${path} is not an upstream file`);
    return this.links.get(resolved.file.url, () => this.upstream.downloadLink(resolved.file.url, signal));
  }

  async quota(): Promise<Quota> {
    if (this.quotaCache && this.now() - this.quotaCache.at < this.options.quotaTtlMs) return this.quotaCache.value;
    if (!this.quotaRequest) {
      this.quotaRequest = this.upstream
        .quota()
        .then((value) => {
          this.quotaCache = { value, at: this.now() };
          return value;
        })
        .finally(() => (this.quotaRequest = undefined));
    }
    try {
      return await this.quotaRequest;
    } catch (error) {
      // A stale quota beats a failed PROPFIND: quota is informational.
      if (this.quotaCache) return this.quotaCache.value;
      throw error;
    }
  }

  // ---- writes ------------------------------------------------------------------------------

  async write(path: string, body: Readable, options: WriteOptions = {}): Promise<WriteResult> {
    const name = leafOf(path);
    if (name === '') throw new DriveError('is-a-folder', 'the root is a folder');
    assertNameLength(name);
    assertFileSize(options.size);
    if (this.options.keepSystemFilesLocal && isSystemFileName(name)) {
      const existed = this.state.file(path) !== undefined;
      const file = await this.state.putSystem(path, body);
      return { created: !existed, entry: localEntry(name, file) };
    }
    const parentId = await this.resolver.parentFolderId(parentOf(path));
    const before = await this.resolver.resolve(path);
    if (before.kind === 'folder') throw new DriveError('is-a-folder', `${path} is a folder`);
    const previousLocal = this.state.file(path);
    const created = before.kind === 'missing' && !previousLocal;

    if (options.size === 0) {
      body.resume();
      const file = await this.state.putEmpty(path);
      // Truncating a stored file: the empty version is recorded first, then the old one goes.
      if (before.kind === 'file') await this.removeUpstreamFile(before.parentId, before.file);
      return { created, entry: localEntry(name, file) };
    }

    let source: Readable = body;
    let size = options.size;
    let spooled: Awaited<ReturnType<SpoolArea['spool']>> | undefined;
    if (size === undefined) {
      spooled = await this.spool.spool(body, options.signal);
      size = spooled.size;
      if (size === 0) {
        await spooled.release();
        return this.write(path, Readable.from([]), { ...options, size: 0 });
      }
      source = createReadStream(spooled.path);
    }
    try {
      const realName = before.kind === 'file' ? before.file.name : name;
      const stored = await this.upstream.upload(source, { name: realName, folderId: parentId, size, signal: options.signal });
      this.folders.addFile(parentId, stored);
      // Only now that the new file is stored and verified does the old one go. If that removal
      // fails (a flood, say), the write still succeeded: the new file is the newest, so it holds the
      // plain name, and the old one stays visible as `name [id].ext` rather than being lost.
      if (before.kind === 'file') {
        await this.removeUpstreamFile(before.parentId, before.file).catch(this.onBackgroundError);
      }
      if (previousLocal) await this.state.removeFile(path);
      return { created, entry: fileEntry(name, { ...stored, name: realName }) };
    } finally {
      await spooled?.release();
    }
  }

  async mkdir(path: string): Promise<DriveEntry> {
    const name = leafOf(path);
    if (name === '') throw new DriveError('exists', 'the root exists');
    assertNameLength(name);
    const parentId = await this.resolver.parentFolderId(parentOf(path));
    const existing = await this.resolver.resolve(path);
    if (existing.kind !== 'missing' || this.state.file(path)) throw new DriveError('exists', `${path} already exists`);
    const folder = await this.upstream.mkdir(parentId, name);
    this.folders.addFolder(parentId, folder);
    return folderEntry(folder);
  }

  async remove(path: string): Promise<void> {
    if (splitPath(path).length === 0) throw new DriveError('forbidden', 'the root cannot be removed');
    const local = this.localFileAt(path);
    const resolved = local ? undefined : await this.resolver.resolve(path);
    if (resolved?.kind === 'file') await this.removeUpstreamFile(resolved.parentId, resolved.file);
    else if (resolved?.kind === 'folder') await this.removeFolderTree(resolved.id, resolved.parentId ?? ROOT_ID);
    else if (!local && !this.state.file(path)) throw new DriveError('not-found', `${path} does not exist`);
    await this.state.removeTree(path);
  }

  async move(from: string, to: string, options: TransferOptions): Promise<TransferResult> {
    assertNameLength(leafOf(to));
    const plan = await this.planTransfer(from, to, options);
    if (plan.source.kind === 'local') {
      await this.clearDestination(plan, to);
      await this.state.moveTree(from, to);
      return { created: plan.created };
    }
    const destinationName = leafOf(to);
    if (plan.source.kind === 'file') {
      if (plan.destination.kind !== 'file') await this.clearDestination(plan, to);
      const { file, parentId } = plan.source;
      const movedUrl = await this.moveUpstreamFile(file, parentId, plan.destinationParentId, destinationName);
      this.folders.removeFile(parentId, file.url);
      this.folders.addFile(plan.destinationParentId, { ...file, url: movedUrl, name: destinationName });
      // The moved file may be older than the one it replaces, so the old one must go for the
      // plain name to point at the moved file.
      if (plan.destination.kind === 'file') await this.removeUpstreamFile(plan.destination.parentId, plan.destination.file);
    } else {
      await this.clearDestination(plan, to);
      const { id, parentId, folder } = plan.source;
      if (parentId !== plan.destinationParentId) await this.upstream.moveFolder(id, plan.destinationParentId);
      if (folder.name !== destinationName) await this.upstream.renameFolder(id, destinationName);
      this.folders.removeFolder(parentId, id);
      this.folders.addFolder(plan.destinationParentId, { ...folder, name: destinationName });
    }
    await this.state.moveTree(from, to);
    return { created: plan.created };
  }

  async copy(from: string, to: string, options: CopyOptions): Promise<TransferResult> {
    assertNameLength(leafOf(to));
    const plan = await this.planTransfer(from, to, options);
    if (plan.source.kind === 'local') {
      await this.clearDestination(plan, to);
      await this.state.copyTree(from, to, options.depth);
      return { created: plan.created };
    }
    const destinationName = leafOf(to);
    if (plan.source.kind === 'file') {
      if (plan.destination.kind !== 'file') await this.clearDestination(plan, to);
      const { file } = plan.source;
      const [copyUrl] = await this.upstream.copyFiles([file.url], plan.destinationParentId, destinationName);
      this.folders.addFile(plan.destinationParentId, {
        ...file,
        url: copyUrl,
        name: destinationName,
        modified: new Date(this.now()),
      });
      if (plan.destination.kind === 'file') await this.removeUpstreamFile(plan.destination.parentId, plan.destination.file);
    } else {
      await this.clearDestination(plan, to);
      const folder = await this.upstream.mkdir(plan.destinationParentId, destinationName);
      this.folders.addFolder(plan.destinationParentId, folder);
      if (options.depth === 'infinity') await this.copyFolderContent(plan.source.id, folder.id);
    }
    await this.state.copyTree(from, to, options.depth);
    return { created: plan.created };
  }

  async getProperties(path: string): Promise<DeadProperty[]> {
    return this.state.properties(path);
  }

  async patchProperties(path: string, patches: PropertyPatch[]): Promise<void> {
    await this.stat(path);
    await this.state.patchProperties(path, patches);
  }

  // ---- internals ---------------------------------------------------------------------------

  /** Housekeeping files are answered from local state alone: looking them up never calls the API. */
  private localOnly(path: string): DriveEntry | undefined {
    const name = leafOf(path);
    if (!this.options.keepSystemFilesLocal || !isSystemFileName(name)) return undefined;
    const file = this.state.file(path);
    if (!file) throw new DriveError('not-found', `${path} does not exist`);
    return localEntry(name, file);
  }

  private localFileAt(path: string) {
    const name = leafOf(path);
    if (this.options.keepSystemFilesLocal && isSystemFileName(name)) {
      const file = this.state.file(path);
      if (!file) throw new DriveError('not-found', `${path} does not exist`);
      return file;
    }
    return undefined;
  }

  private async resolveForRead(path: string): Promise<Resolved> {
    try {
      return await this.resolver.resolve(path);
    } catch (error) {
      if (error instanceof DriveError && error.code === 'conflict') throw new DriveError('not-found', error.message);
      throw error;
    }
  }

  private openedCache: BlockCache | undefined;

  private openReadCache(options: FichierDriveOptions): Promise<BlockCache | undefined> {
    const settings = cacheSettingsFrom({ ...options, maxResumes: this.options.maxResumes });
    if (!settings) return Promise.resolve(undefined);
    const notice = (message: string, error?: unknown): void => {
      if (options.onReadCacheNotice) options.onReadCacheNotice(message, error);
      else options.onBackgroundError?.(error ?? new Error(message));
    };
    checkSettings(settings);
    return BlockCache.open(settings, {
      open: (file, range, context) =>
        this.openUpstreamRange(file as UpstreamFile, range, context.signal, context.attempt > 0, context.priority),
      now: this.now,
      onError: (error) => notice('read cache: a background read or a disk write failed', error),
      onNotice: notice,
    }).then(
      (cache) => (this.openedCache = cache),
      (error: unknown) => {
        // A cache that cannot open (unwritable directory...) must not take reads down: go direct.
        notice('read cache: cannot open its directory; reads go straight to 1fichier', error);
        return undefined;
      },
    );
  }

  /** With prefetchProbes, each fresh listing warms the head and tail of its new media files. */
  private warmListing<T extends { files: UpstreamFile[] }>(content: T, options: FichierDriveOptions): T {
    if (options.prefetchProbes && content.files.length > 0) {
      void this.readCache
        .then((cache) => cache?.warmProbes(content.files.filter((file) => !file.protected)))
        .catch((error: unknown) => options.onBackgroundError?.(error));
    }
    return content;
  }

  private async openUpstreamRange(
    file: UpstreamFile,
    range: { start: number; end: number },
    signal: AbortSignal,
    isResume: boolean,
    priority: FetchPriority = 'interactive',
  ): Promise<Readable> {
    const fetchLink = () => this.upstream.downloadLink(file.url, signal, priority);
    const link = await this.links.get(file.url, fetchLink);
    try {
      return await this.upstream.openRange(link, range, signal);
    } catch (error) {
      // An expired or spent link: one more try with a fresh one. Other errors go to the resume logic.
      if (!(error instanceof LinkRefusedError) && !isResume) throw error;
      this.links.invalidate(file.url, link);
      const fresh = await this.links.get(file.url, fetchLink);
      return this.upstream.openRange(fresh, range, signal);
    }
  }

  private async removeUpstreamFile(parentId: number, file: UpstreamFile): Promise<void> {
    await this.upstream.removeFiles([file.url]);
    this.folders.removeFile(parentId, file.url);
    this.links.invalidate(file.url);
  }

  /** 1fichier removes only empty folders: files first (in batches), sub-folders depth first, then the folder. */
  private async removeFolderTree(folderId: number, parentId: number): Promise<void> {
    const listing = await this.folders.get(folderId);
    for (const sub of listing.folders) await this.removeFolderTree(sub.id, folderId);
    const urls = listing.files.map((file) => file.url);
    for (let index = 0; index < urls.length; index += 100) {
      await this.upstream.removeFiles(urls.slice(index, index + 100));
    }
    await this.upstream.removeFolder(folderId);
    this.folders.removeFolder(parentId, folderId);
  }

  private async copyFolderContent(sourceId: number, destinationId: number): Promise<void> {
    const listing = await this.folders.get(sourceId);
    const urls = listing.files.map((file) => file.url);
    for (let index = 0; index < urls.length; index += 100) {
      const batch = listing.files.slice(index, index + 100);
      const copies = await this.upstream.copyFiles(
        batch.map((file) => file.url),
        destinationId,
      );
      batch.forEach((file, position) => {
        const url = copies[position];
        if (url) this.folders.addFile(destinationId, { ...file, url, modified: new Date(this.now()) });
      });
    }
    for (const sub of listing.folders) {
      const created = await this.upstream.mkdir(destinationId, sub.name);
      this.folders.addFolder(destinationId, created);
      await this.copyFolderContent(sub.id, created.id);
    }
  }

  private async moveUpstreamFile(file: UpstreamFile, fromId: number, toId: number, newName: string): Promise<string> {
    if (fromId === toId) {
      // 1fichier's mv.cgi does not rename within a folder; rename.cgi does.
      if (file.name !== newName) await this.upstream.renameFile(file.url, newName);
      return file.url;
    }
    // Since 2024 mv.cgi refuses a `rename` equal to the current name: send it only when it changes.
    return this.upstream.moveFile(file.url, toId, file.name !== newName ? newName : undefined);
  }

  private async planTransfer(from: string, to: string, options: TransferOptions): Promise<TransferPlan> {
    if (splitPath(from).length === 0) throw new DriveError('forbidden', 'the root cannot be moved or copied');
    if (splitPath(to).length === 0) throw new DriveError('forbidden', 'nothing can replace the root');
    if (to === from) throw new DriveError('forbidden', 'source and destination are the same');
    if (to.startsWith(from + '/')) throw new DriveError('conflict', 'a folder cannot go inside itself');
    const localSource = this.localFileAt(from) ?? undefined;
    let source: TransferSource;
    if (localSource) source = { kind: 'local' };
    else {
      const resolved = await this.resolveForRead(from);
      if (resolved.kind === 'file') source = { kind: 'file', file: resolved.file, parentId: resolved.parentId };
      else if (resolved.kind === 'folder') {
        source = { kind: 'folder', id: resolved.id, parentId: resolved.parentId ?? ROOT_ID, folder: resolved.folder };
      } else if (this.state.file(from)) source = { kind: 'local' };
      else throw new DriveError('not-found', `${from} does not exist`);
    }
    const destinationParentId = await this.resolver.parentFolderId(parentOf(to));
    const resolvedDestination = await this.resolver.resolve(to);
    let destination: TransferDestination;
    if (resolvedDestination.kind === 'file') {
      destination = { kind: 'file', file: resolvedDestination.file, parentId: resolvedDestination.parentId };
    } else if (resolvedDestination.kind === 'folder') {
      destination = { kind: 'folder', id: resolvedDestination.id, parentId: resolvedDestination.parentId ?? ROOT_ID };
    } else if (this.state.file(to)) destination = { kind: 'local' };
    else destination = { kind: 'none' };
    if (destination.kind !== 'none' && !options.overwrite) throw new DriveError('exists', `${to} already exists`);
    return { source, destination, destinationParentId, created: destination.kind === 'none' };
  }

  /** Removes what a transfer replaces when it cannot be replaced after the fact (folders, local files). */
  private async clearDestination(plan: TransferPlan, to: string): Promise<void> {
    const destination = plan.destination;
    if (destination.kind === 'folder') {
      await this.removeFolderTree(destination.id, destination.parentId);
      await this.state.removeTree(to);
    } else if (destination.kind === 'file' && plan.source.kind !== 'file') {
      await this.removeUpstreamFile(destination.parentId, destination.file);
    } else if (destination.kind === 'local') {
      await this.state.removeTree(to);
    }
  }

  /**
   * What a path is upstream, without any write: a file's public 1fichier URL, or a folder's id.
   * Local-only files (empty, housekeeping) have neither. For tools (the CLI's `link`, `remote-upload`).
   */
  async upstreamRef(path: string): Promise<{ kind: 'file'; url: string; size: number } | { kind: 'folder'; id: number } | { kind: 'local' }> {
    if (this.localFileAt(path)) return { kind: 'local' };
    const resolved = await this.resolveForRead(path);
    if (resolved.kind === 'file') return { kind: 'file', url: resolved.file.url, size: resolved.file.size };
    if (resolved.kind === 'folder') return { kind: 'folder', id: resolved.id };
    if (this.state.file(path)) return { kind: 'local' };
    throw new DriveError('not-found', `${path} does not exist`);
  }
}

type TransferSource =
  | { kind: 'local' }
  | { kind: 'file'; file: UpstreamFile; parentId: number }
  | { kind: 'folder'; id: number; parentId: number; folder: { id: number; name: string; created?: Date } };

type TransferDestination =
  | { kind: 'none' }
  | { kind: 'local' }
  | { kind: 'file'; file: UpstreamFile; parentId: number }
  | { kind: 'folder'; id: number; parentId: number };

interface TransferPlan {
  source: TransferSource;
  destination: TransferDestination;
  destinationParentId: number;
  created: boolean;
}

