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
import { open } from 'node:fs/promises';
import { LRUCache } from 'lru-cache';
import { Readable } from 'node:stream';
import { BlockCache } from './block-cache/block-cache.js';
import { cacheSettingsFrom, type ReadCacheOptions } from './block-cache/drive-options.js';
import { checkSettings } from './block-cache/options.js';
import type { FetchPriority } from './block-cache/span-fetch.js';
import { emptyStats, type CacheStats } from './block-cache/stats.js';
import { fileIdOf } from './duplicate-names.js';
import { fileEntry, folderEntry, localEntry, rootEntry } from './entries.js';
import { listingChanges, type DriveChange } from './changes.js';
import { FolderCache, type CachedFolder, type FolderPatch, type UpstreamFile, type UpstreamFolder } from './folder-cache.js';
import { LinkCache } from './link-cache.js';
import { ListingMemo } from './listing-memo.js';
import { checkDeadPropertyPatch, resourceBytes, type DeadPropertyLimits } from './dead-property-limits.js';
import { asDiskFull } from './disk-full.js';
import type { LocalState } from './local-state.js';
import { assertFileSize, assertNameLength } from './account-limits.js';
import { leafOf, nameKey, parentOf, splitPath, storedName } from './paths.js';
import { withNormalisedPaths } from './normalised-state.js';
import { ROOT_ID, Resolver, type Resolved } from './resolver.js';
import { resumableReadWhenOpen } from './resumable-read.js';
import { SpoolArea, type LeftoverReport } from './spool.js';
import { InProcessPathLocks, pathsOverlap, type PathLocks, type Release } from './path-locks.js';
import { MemoryWriteJournal, type ReplaceIntent, type TreeObject, type UploadIntent, type WriteJournal } from './write-journal.js';
import { WriteRecovery, hidesOutcome } from './write-recovery.js';
import { hideAside, TreeWrites } from './tree-writes.js';
import { isSystemFileName } from './system-files.js';
import {
  DriveError,
  type CopyOptions,
  type DeadProperty,
  type Drive,
  type DriveEntry,
  type FileById,
  type PropertyPatch,
  type Quota,
  type ReadOptions,
  type StatOptions,
  type TransferOptions,
  type TransferResult,
  type WriteOptions,
  type WriteResult,
} from './types.js';
import { LinkRefusedError, type Upstream } from './upstream.js';
import { DEFAULT_DOWNLOAD_CONNECTIONS, LocalConnectionBudget, type ConnectionBudget } from './connection-budget.js';
import { DEFAULT_CONNECTIONS_PER_FILE, UpstreamConnections } from './upstream-connections.js';

/**
 * How long a download link is reused: below the 5 minutes a token lives upstream. Nominal: a bridge
 * run against a time-scaled simulator scales it as the tokens' life is scaled.
 */
export const LINK_REUSE_MS = 4 * 60_000;

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
  /** Bounds on dead properties (per property, per resource, in total). */
  deadProperties?: DeadPropertyLimits;
  /**
   * Real ms after the last byte of a PUT body was sent upstream within which the client gets its
   * answer; past it, 503 + Retry-After while the bookkeeping finishes in the background. Default 50 000
   * (clients give up after 60-90 s).
   */
  answerDeadlineMs?: number;
  /** Real ms a write waits for an earlier write to the same path before answering 503. Default 50 000. */
  lockWaitMs?: number;
  /** How long an unconfirmed upload's journal record keeps looking for a stray copy (ms). Default 15 min. */
  uploadSettleMs?: number;
  /** Delay between two tries at settling a journal record (ms). Default 30 000. */
  reconcileRetryMs?: number;
  /** The write journal (the account database's, from the bridge); in memory when absent. */
  journal?: WriteJournal;
  /** Per-path ordering of writes; in-process when absent. */
  locks?: PathLocks;
  onBackgroundError?: (error: unknown) => void;
  /** Told of each change our writes make to the folder cache (other bridges apply it: `applyRemoteChange`). */
  onCachePatch?: (patch: FolderPatch) => void;
  /** Changes made on the account by others, found when a folder's fresh listing differs from the cached one. */
  onExternalChanges?: (changes: DriveChange[]) => void;
  /** One line per state change of the read cache (full disk: pass-through; room again). Default: onBackgroundError. */
  onReadCacheNotice?: (message: string, error?: unknown) => void;
  /**
   * The account's budget of upstream download connections (another bridge process may share it,
   * e.g. over Redis). Default: an in-process budget of `downloadConnections`.
   */
  connectionBudget?: ConnectionBudget;
  /** Size of the default in-process connection budget. Default 16 (1fichier allows 30 per premium account). */
  downloadConnections?: number;
  /** Upstream connections one file may hold at once (probes, seeks, parallel read-ahead). Default 6. */
  downloadConnectionsPerFile?: number;
  now?: () => number;
}

/** Retry-After for a write that waits on an earlier write to the same path. */
const RETRY_BUSY_SECONDS = 10;

/** A definite refusal: the call did nothing upstream (as opposed to a lost answer or an outage). */
function isRefusal(error: unknown): boolean {
  return error instanceof DriveError && ['not-found', 'forbidden', 'bad-request', 'exists', 'conflict', 'not-empty'].includes(error.code);
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

export class FichierDrive implements Drive {
  readonly folders: FolderCache;
  private readonly links: LinkCache;
  private readonly resolver: Resolver;
  /** list() answers kept while their inputs are unchanged (listing-memo.ts). */
  private readonly listings = new ListingMemo();
  private readonly upstream: Upstream;
  private readonly state: LocalState;
  private readonly spool: SpoolArea;
  private readonly options: Required<
    Omit<
      FichierDriveOptions,
      'onBackgroundError' | 'onCachePatch' | 'onExternalChanges' | 'onReadCacheNotice' | 'now' | 'journal' | 'locks' | 'connectionBudget' | keyof ReadCacheOptions
    >
  >;
  /** Every upstream ranged GET takes a slot here (per file and per account) until its connection closes. */
  readonly connections: UpstreamConnections;
  /** The read cache (issue 9); undefined when turned off or when its directory could not be opened. */
  private readonly readCache: Promise<BlockCache | undefined>;
  private readonly now: () => number;
  /** The date of folders that have none and no cached content to date them by. */
  private readonly startedAt: Date;
  private readonly onBackgroundError: (error: unknown) => void;
  private readonly locks: PathLocks;
  private readonly journal: WriteJournal;
  private readonly recovery: WriteRecovery;
  private readonly trees: TreeWrites;
  /**
   * Upload, move and copy results confirmed by this process: never taken for a stray copy. Only a
   * journal record begun before a confirmation can mistake its file for a stray, and such records
   * stop looking after `uploadSettleMs`, so an entry is kept twice that long (and the set is
   * bounded, so a long-running bridge does not grow it with every upload).
   */
  private readonly confirmed: LRUCache<string, true>;
  private quotaCache: { value: Quota; at: number } | undefined;
  /** Bytes of all dead properties, as last counted; undefined until the first PROPPATCH. */
  private deadBytes: number | undefined;
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
      linkReuseMs: LINK_REUSE_MS,
      singleUseLinks: false,
      maxResumes: 5,
      keepSystemFilesLocal: true,
      deadProperties: {},
      answerDeadlineMs: 50_000,
      lockWaitMs: 50_000,
      uploadSettleMs: 15 * 60_000,
      reconcileRetryMs: 30_000,
      downloadConnections: DEFAULT_DOWNLOAD_CONNECTIONS,
      downloadConnectionsPerFile: DEFAULT_CONNECTIONS_PER_FILE,
      ...stripUndefined(options),
    };
    this.connections = new UpstreamConnections({
      budget: options.connectionBudget ?? new LocalConnectionBudget(this.options.downloadConnections),
      perFile: this.options.downloadConnectionsPerFile,
      accountLimit: this.options.downloadConnections,
    });
    this.now = options.now ?? Date.now;
    this.startedAt = new Date(this.now());
    this.upstream = options.upstream;
    this.state = withNormalisedPaths(options.state);
    this.spool = new SpoolArea(options.spoolDir, this.options.spoolMaxBytes);
    this.folders = new FolderCache({
      ttlMs: this.options.folderTtlMs,
      staleMs: this.options.folderStaleMs,
      overlayMs: this.options.overlayMs,
      maxEntries: this.options.maxCachedFolders,
      // Objects a write set aside under a hidden name (tree-writes.ts) never show.
      load: (folderId, priority) => this.upstream.listFolder(folderId, priority).then((content) => this.warmListing(hideAside(content), options)),
      now: this.now,
      onBackgroundError: (_id, error) => options.onBackgroundError?.(error),
      onPatch: options.onCachePatch,
      onListingChange: options.onExternalChanges && ((before, after) => this.reportListingChange(before, after, options.onExternalChanges!)),
    });
    this.links = new LinkCache({ reuseMs: this.options.linkReuseMs, single: this.options.singleUseLinks, now: this.now });
    this.resolver = new Resolver(this.folders);
    this.locks = options.locks ?? new InProcessPathLocks();
    this.journal = options.journal ?? new MemoryWriteJournal(this.now);
    this.confirmed = new LRUCache<string, true>({ max: 100_000, ttl: 2 * (this.options.uploadSettleMs ?? 15 * 60_000) });
    this.recovery = new WriteRecovery({
      journal: this.journal,
      locks: this.locks,
      upstream: this.upstream,
      folders: this.folders,
      confirmed: this.confirmed,
      uploadSettleMs: this.options.uploadSettleMs,
      retryMs: this.options.reconcileRetryMs,
      now: this.now,
      onError: this.onBackgroundError,
      settleTree: (intent, id) => this.trees.settle(intent, id),
    });
    this.trees = new TreeWrites({
      upstream: this.upstream,
      folders: this.folders,
      state: this.state,
      journal: this.journal,
      settleHeld: (id) => this.recovery.settleHeld(id),
      invalidateLink: (url) => this.links.invalidate(url),
    });
    this.readCache = this.openReadCache(options);
  }

  /**
   * Another bridge of the account wrote: its folder-cache change applies here too, and a removed
   * file's download link is dropped (the link would now answer for a file that is gone).
   */
  applyRemoteChange(patch: FolderPatch): void {
    this.folders.applyRemote(patch);
    if (patch.op === 'removeFile') this.links.invalidate(patch.url);
  }

  // ---- reads -------------------------------------------------------------------------------

  async stat(path: string, _signal?: AbortSignal, options: StatOptions = {}): Promise<DriveEntry> {
    // A write about to act on `path` must see it as clients were answered: a rollback still
    // pending there (the set-aside folder hidden, a MOVE's source away) is settled first, or the
    // write is refused for now (503) rather than answered 404 or allowed to make a second object
    // of the name the rollback gives back.
    if (options.forWrite && this.recovery.undoingAt(path, pathsOverlap)) await this.withPaths([path], async () => {});
    const local = this.localOnly(path);
    if (local) return local;
    const resolved = await this.resolveForRead(path, options.forWrite ? 'write' : 'interactive');
    const name = leafOf(path);
    if (resolved.kind === 'folder') return this.folderEntryOf(resolved.folder);
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
    // Read before the local files, so a write landing in between makes the next call rebuild.
    const inputs = {
      path,
      listing,
      stateVersion: this.state.version(),
      subListings: listing.folders.map((folder) => this.folders.peek(folder.id)),
    };
    const known = this.listings.get(inputs);
    if (known) return known as DriveEntry[];
    const entries: DriveEntry[] = listing.folders.map((folder) => this.folderEntryOf(folder));
    const taken = new Set(listing.folders.map((folder) => folder.name));
    for (const [name, file] of this.resolver.visibleFiles(listing)) {
      entries.push(fileEntry(name, file));
      taken.add(name);
    }
    for (const [name, file] of this.state.filesIn(path)) {
      if (!taken.has(name)) entries.push(localEntry(name, file));
    }
    return this.listings.set(inputs, entries) as DriveEntry[];
  }

  /** Drive.propertiesVersion: the local state's version (dead properties live there). */
  propertiesVersion(): string {
    return this.state.version();
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
    return this.readUpstreamFile((resolved as Extract<Resolved, { kind: 'file' }>).file, options);
  }

  /** One upstream file's bytes: through the read cache when on, else one resumable ranged GET. */
  private async readUpstreamFile(file: UpstreamFile, options: ReadOptions): Promise<Readable> {
    const range = options.range ?? { start: 0, end: file.size - 1 };
    if (range.end < range.start) return Readable.from([]);
    const cache = await this.readCache;
    if (cache) return cache.readWhenReady(file, range, options.signal);
    return resumableReadWhenOpen({
      start: range.start,
      end: range.end,
      maxResumes: this.options.maxResumes,
      signal: options.signal,
      parking: { file: file.url, lot: this.connections },
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

  // ---- by id (links that survive renames and moves) ----------------------------------------

  /** The id in the file's 1fichier URL (`https://1fichier.com/?<id>`). Local-only files have none. */
  async fileId(path: string): Promise<string> {
    const ref = await this.upstreamRef(path);
    if (ref.kind === 'folder') throw new DriveError('is-a-folder', `${path} is a folder`);
    if (ref.kind === 'local') throw new DriveError('not-found', `${path} exists only on this machine (empty or housekeeping file), so it has no 1fichier id`);
    return fileIdOf(ref.url).toLowerCase();
  }

  /**
   * The file with that id: from the cached listings when one holds it (0 API calls), else one
   * file/info.cgi call through the scheduler. 'not-found' when 1fichier no longer has it.
   */
  async statById(id: string, signal?: AbortSignal): Promise<FileById> {
    const found = await this.fileById(id, signal);
    return { ...fileEntry(found.name, found.file), ...(found.path !== undefined ? { path: found.path } : {}) };
  }

  async readById(id: string, options: ReadOptions = {}): Promise<Readable> {
    const found = await this.fileById(id, options.signal);
    return this.readUpstreamFile(found.file, options);
  }

  async directUrlById(id: string, signal?: AbortSignal): Promise<string> {
    const { file } = await this.fileById(id, signal);
    return this.links.get(file.url, () => this.upstream.downloadLink(file.url, signal));
  }

  private async fileById(rawId: string, signal?: AbortSignal): Promise<{ file: UpstreamFile; name: string; path?: string }> {
    const id = rawId.toLowerCase();
    // 1fichier's ids are 5 to 20 letters and digits: anything else is answered without an API call.
    if (!/^[a-z0-9]{5,20}$/.test(id)) throw new DriveError('not-found', 'no file has this id');
    const cached = this.folders.findFile((file) => fileIdOf(file.url).toLowerCase() === id);
    if (cached) {
      const visible = [...this.resolver.visibleFiles(cached.folder)].find(([, file]) => file === cached.file)?.[0] ?? cached.file.name;
      const folderPath = this.cachedFolderPath(cached.folder.id);
      return { file: cached.file, name: visible, ...(folderPath !== undefined ? { path: childPath(folderPath, visible) } : {}) };
    }
    if (!this.upstream.fileInfo) throw new DriveError('not-found', 'no file has this id');
    const info = await this.upstream.fileInfo(`https://1fichier.com/?${id}`, signal);
    const folderPath = info.folderPath === undefined ? undefined : info.folderPath === '' ? '/' : `/${info.folderPath}`;
    return { file: info.file, name: info.file.name, ...(folderPath !== undefined ? { path: childPath(folderPath, info.file.name) } : {}) };
  }

  private reportListingChange(before: CachedFolder, after: CachedFolder, report: (changes: DriveChange[]) => void): void {
    const folderPath = this.cachedFolderPath(after.id);
    if (folderPath === undefined) return;
    const changes = listingChanges(folderPath, before, after, new Date(this.now())).filter(
      (change) => !(this.options.keepSystemFilesLocal && isSystemFileName(leafOf(change.path))),
    );
    if (changes.length > 0) report(changes);
  }

  /**
   * Lists `path` and the folders under it again, at background priority, one after the other, at
   * most `maxFolders` of them (a watched library): changes made elsewhere are then reported through
   * `onExternalChanges`. Resolves with the number of folders listed.
   */
  async refreshTree(path: string, maxFolders = 500): Promise<number> {
    const resolved = await this.resolveForRead(path);
    if (resolved.kind !== 'folder') throw new DriveError('not-a-folder', `${path} is not a folder`);
    const queue = [resolved.id];
    let listed = 0;
    while (queue.length > 0 && listed < maxFolders) {
      const listing = await this.folders.refresh(queue.shift()!);
      listed += 1;
      queue.push(...listing.folders.map((folder) => folder.id));
    }
    return listed;
  }

  /** A folder's path from the cached listings alone; undefined when a parent is not cached. */
  private cachedFolderPath(folderId: number): string | undefined {
    const names: string[] = [];
    for (let current = folderId, hops = 0; current !== ROOT_ID; hops += 1) {
      const found = hops < 256 ? this.folders.findParent(current) : undefined;
      if (!found) return undefined;
      names.unshift(found.folder.name);
      current = found.parent.id;
    }
    return '/' + names.join('/');
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
    const release = await this.lockPaths([path]);
    const bodySent = deferred();
    // The job owns the path until its bookkeeping is done, whether or not the client still waits.
    const job = this.writeHeld(path, name, body, options, bodySent.resolve).finally(release);
    return this.answerWithin(job, bodySent.promise, path);
  }

  async mkdir(path: string): Promise<DriveEntry> {
    const name = leafOf(path);
    if (name === '') throw new DriveError('exists', 'the root exists');
    assertNameLength(name);
    // Concurrent MKCOLs of one folder queue here: the first creates it, the others find it (405).
    return this.withPaths([path], async () => {
      const parentId = await this.resolver.parentFolderId(parentOf(path), 'write');
      const existing = await this.resolver.resolve(path, 'write');
      if (existing.kind !== 'missing' || this.state.file(path)) throw new DriveError('exists', `${path} already exists`);
      const folder = await this.upstream.mkdir(parentId, storedName(name));
      this.folders.addFolder(parentId, folder);
      // A new folder is empty: no listing is needed to know it (nor to remove or fill it next).
      this.folders.seedEmpty(folder);
      return this.folderEntryOf(folder);
    });
  }

  async remove(path: string): Promise<void> {
    if (splitPath(path).length === 0) throw new DriveError('forbidden', 'the root cannot be removed');
    await this.withPaths([path], async () => {
      const local = this.localFileAt(path);
      // A path under a missing folder does not exist either: 404, as for a read.
      const resolved = local ? undefined : await this.resolveForRead(path, 'write');
      if (resolved?.kind === 'file') await this.removeUpstreamFile(resolved.parentId, resolved.file);
      else if (resolved?.kind === 'folder') {
        const parentId = resolved.parentId ?? ROOT_ID;
        // A folder known empty goes in one call (atomic: 1fichier refuses it if it is not empty after all).
        if (await this.removeIfEmpty(resolved.id, parentId)) {
          await this.state.removeTree(path);
          return;
        }
        // Journaled: set aside (the commit), then removed, rolled forward across a crash; it carries the local state.
        await this.trees.deleteFolder(path, { id: resolved.id, parentId, name: resolved.folder.name });
        return;
      } else if (!local && !this.state.file(path)) throw new DriveError('not-found', `${path} does not exist`);
      await this.state.removeTree(path);
    });
  }

  async move(from: string, to: string, options: TransferOptions): Promise<TransferResult> {
    assertNameLength(leafOf(to));
    return this.withPaths([from, to], async () => {
      const plan = await this.planTransfer(from, to, options);
      if (plan.source.kind === 'local') {
        await this.clearDestination(plan, to);
        await this.state.moveTree(from, to);
        return { created: plan.created };
      }
      const destinationName = storedName(leafOf(to));
      if (this.isTreeWrite(plan)) {
        await this.trees.transfer('move', from, to, treeSource(plan.source), { parentId: plan.destinationParentId, name: destinationName }, treeDestination(plan.destination, leafOf(to)));
        return { created: plan.created };
      }
      if (plan.source.kind === 'file') {
        const { file, parentId } = plan.source;
        if (plan.destination.kind === 'file') {
          await this.replaceFile('move-replace', from, to, plan.source, plan.destination, plan.destinationParentId);
        } else {
          await this.clearDestination(plan, to);
          const movedUrl = await this.moveUpstreamFile(file, parentId, plan.destinationParentId, destinationName);
          this.folders.removeFile(parentId, file.url);
          this.folders.addFile(plan.destinationParentId, { ...file, url: movedUrl, name: destinationName });
        }
      } else {
        await this.clearDestination(plan, to);
        const { id, parentId, folder } = plan.source;
        if (parentId !== plan.destinationParentId) await this.upstream.moveFolder(id, plan.destinationParentId);
        if (folder.name !== destinationName) await this.upstream.renameFolder(id, destinationName);
        this.folders.removeFolder(parentId, id, { keepListing: true });
        this.folders.addFolder(plan.destinationParentId, { ...folder, name: destinationName });
      }
      await this.state.moveTree(from, to);
      return { created: plan.created };
    });
  }

  async copy(from: string, to: string, options: CopyOptions): Promise<TransferResult> {
    assertNameLength(leafOf(to));
    return this.withPaths([from, to], async () => {
      const plan = await this.planTransfer(from, to, options);
      if (plan.source.kind === 'local') {
        await this.clearDestination(plan, to);
        await this.state.copyTree(from, to, options.depth);
        return { created: plan.created };
      }
      const destinationName = storedName(leafOf(to));
      if (this.isTreeWrite(plan)) {
        const target = { parentId: plan.destinationParentId, name: destinationName };
        await this.trees.transfer('copy', from, to, treeSource(plan.source), target, treeDestination(plan.destination, leafOf(to)), options.depth);
        return { created: plan.created };
      }
      if (plan.source.kind === 'file') {
        if (plan.destination.kind === 'file') {
          await this.replaceFile('copy-replace', from, to, plan.source, plan.destination, plan.destinationParentId);
        } else {
          await this.clearDestination(plan, to);
          const [copyUrl] = await this.upstream.copyFiles([plan.source.file.url], plan.destinationParentId, destinationName);
          this.folders.addFile(plan.destinationParentId, { ...plan.source.file, url: copyUrl, name: destinationName, modified: new Date(this.now()) });
        }
      } else {
        await this.clearDestination(plan, to);
        const folder = await this.upstream.mkdir(plan.destinationParentId, destinationName);
        this.folders.addFolder(plan.destinationParentId, folder);
        this.folders.seedEmpty(folder);
        if (options.depth === 'infinity') await this.copyFolderContent(plan.source.id, folder.id);
      }
      await this.state.copyTree(from, to, options.depth);
      return { created: plan.created };
    });
  }

  /**
   * Start-up: removes the `.part` files a dead process left in the spool (a crash mid-PUT): a
   * directory listing and a few unlinks, so a bridge does it before it takes requests. Resolves
   * once every leftover was tried (see SpoolArea.removeLeftovers for what is left and why).
   */
  async removeSpoolLeftovers(): Promise<LeftoverReport> {
    return this.spool.removeLeftovers();
  }

  /**
   * Start-up, after removeSpoolLeftovers(): settles every write the journal still holds (finishes
   * or rolls it back, see write-recovery.ts). The paths of those writes are locked before this
   * returns its promise, so client writes to them wait.
   */
  recover(): Promise<void> {
    return this.recovery.replayAll();
  }

  /**
   * A journal shared by several bridges: every `everyMs`, the writes of bridges that died are
   * claimed and settled here (see write-recovery.ts).
   */
  sweepOrphanWrites(everyMs: number): void {
    this.recovery.sweepOrphans(everyMs);
  }

  /** Paths whose writes are not settled yet (journal records left for a retry). */
  unsettledWrites(): Promise<string[]> {
    return this.recovery.pendingPaths();
  }

  /** Stops background retries (records stay in the journal for the next start). */
  async closeWrites(): Promise<void> {
    await this.recovery.close();
  }

  async getProperties(path: string): Promise<DeadProperty[]> {
    return this.state.properties(path);
  }

  /** Drive.getPropertiesIn: one query for a listing; the state keys paths by their NFC form. */
  async getPropertiesIn(folder: string, paths: string[]): Promise<DeadProperty[][]> {
    const stored = this.state.propertiesWithin(folder);
    return paths.map((path) => stored.get(nameKey(path)) ?? []);
  }

  /**
   * Checks the dead-property limits before anything is stored (dead-property-limits.ts), then
   * stores. The account's total is kept up to date by the sizes patched here and recounted from
   * the state whenever it would refuse (MOVE, COPY and DELETE change it behind our back).
   */
  async patchProperties(path: string, patches: PropertyPatch[]): Promise<void> {
    await this.stat(path);
    const current = this.state.properties(path);
    let after: number;
    try {
      after = checkDeadPropertyPatch(current, patches, (this.deadBytes ??= this.state.deadPropertyBytes()), this.options.deadProperties);
    } catch {
      this.deadBytes = this.state.deadPropertyBytes();
      after = checkDeadPropertyPatch(current, patches, this.deadBytes, this.options.deadProperties);
    }
    try {
      await this.state.patchProperties(path, patches);
    } catch (error) {
      throw asDiskFull(error, 'the local state');
    }
    this.deadBytes = (this.deadBytes ?? 0) - resourceBytes(current) + after;
  }

  // ---- write internals ---------------------------------------------------------------------

  /** Takes the paths in order with the other writes (path-locks.ts); 503 when they stay busy too long. */
  private async lockPaths(paths: string[]): Promise<Release> {
    const acquiring = this.locks.acquire(paths);
    const waitMs = this.options.lockWaitMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), waitMs)));
    const outcome = await Promise.race([acquiring, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      // Given up: hand the paths back as soon as they come.
      void acquiring.then((release) => release(), () => {});
      throw new DriveError('unavailable', `another write to ${paths.join(' or ')} is still being finished; try again shortly`, RETRY_BUSY_SECONDS);
    }
    // A write left half-done on these paths (ours waiting for a retry, or a dead bridge's) is
    // settled first, so this one never plans against it. One that is still being rolled back
    // (1fichier refusing the undo for now) hides what it must give back: this write is refused
    // for now rather than answered as if the source or destination did not exist.
    try {
      const left = (await this.recovery.settleOverlapping(paths, pathsOverlap)).find(hidesOutcome);
      if (left) {
        throw new DriveError('unavailable', `an earlier write to ${left.path} is still being undone; try again shortly`, RETRY_BUSY_SECONDS);
      }
    } catch (error) {
      outcome();
      throw error;
    }
    return outcome;
  }

  private async withPaths<T>(paths: string[], run: () => Promise<T>): Promise<T> {
    const release = await this.lockPaths(paths);
    try {
      return await run();
    } finally {
      release();
    }
  }

  /**
   * The client's answer: the write's own result, or, when 1fichier has not confirmed the upload
   * `answerDeadlineMs` after the last byte was sent, 503 + Retry-After while the job goes on
   * (clients give up after 60-90 s, and their going away must not cut the bookkeeping short).
   */
  private async answerWithin<T>(job: Promise<T>, bodySent: Promise<void>, path: string): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = bodySent.then(
      () => new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), this.options.answerDeadlineMs))),
    );
    job.catch(() => {}); // answered below, or reported in the background once the client is gone
    try {
      const outcome = await Promise.race([job, late]);
      if (outcome !== 'late') return outcome as T;
    } finally {
      clearTimeout(timer);
    }
    job.catch(this.onBackgroundError);
    throw new DriveError(
      'unavailable',
      `the upload of ${path} was received and 1fichier has not confirmed it yet; it is being finished in the background (a retried PUT replaces it)`,
      RETRY_BUSY_SECONDS,
    );
  }

  private async writeHeld(path: string, name: string, body: Readable, options: WriteOptions, bodySent: () => void): Promise<WriteResult> {
    try {
      // Listings a write needs may wait out a window another bridge holds (fichier-upstream.ts).
      const parentId = await this.resolver.parentFolderId(parentOf(path), 'write');
      const before = await this.resolver.resolve(path, 'write');
      if (before.kind === 'folder') throw new DriveError('is-a-folder', `${path} is a folder`);
      const previousLocal = this.state.file(path);
      const created = before.kind === 'missing' && !previousLocal;
      if (options.size === 0) return await this.writeEmpty(path, name, body, before, created);

      let source: Readable = body;
      let size = options.size;
      let spooled: Awaited<ReturnType<SpoolArea['spool']>> | undefined;
      let spooledSource: Readable | undefined;
      if (size === undefined) {
        spooled = await this.spool.spool(body, options.signal);
        size = spooled.size;
        if (size === 0) {
          await spooled.release();
          return await this.writeEmpty(path, name, Readable.from([]), before, created);
        }
      }
      try {
        // Opened here, not lazily by the stream: a spool file that vanished (removed by hand, by a
        // temp cleaner) is then this PUT's error, not an unhandled stream error that ends the process.
        if (spooled) source = spooledSource = (await open(spooled.path, 'r')).createReadStream();
        const realName = before.kind === 'file' ? before.file.name : storedName(name);
        const old = before.kind === 'file' ? { file: before.file, parentId: before.parentId } : undefined;
        const stored = await this.journaledUpload(source, { path, parentId, name: realName, size, old, signal: options.signal, bodySent });
        if (previousLocal) await this.state.removeFile(path);
        return { created, entry: fileEntry(name, { ...stored, name: realName }) };
      } finally {
        spooledSource?.destroy(); // closes the file if the upload never read it to its end
        await spooled?.release();
      }
    } finally {
      bodySent(); // failures answer at once
    }
  }

  /** An announced length of 0: the body must be empty too; the old upstream file goes only once the empty one is recorded. */
  private async writeEmpty(path: string, name: string, body: Readable, before: Resolved, created: boolean): Promise<WriteResult> {
    let received = 0;
    for await (const chunk of body) received += (chunk as Buffer).length;
    if (received > 0) throw new DriveError('bad-request', `the body has ${received} bytes but its announced length is 0; nothing was changed`);
    const previousLocal = this.state.file(path);
    const file = await this.state.putEmpty(path);
    if (before.kind === 'file') {
      try {
        await this.removeUpstreamFile(before.parentId, before.file);
      } catch (error) {
        // The old content stays: so must the plain name's meaning.
        if (!previousLocal) await this.state.removeFile(path);
        throw error;
      }
    }
    return { created, entry: localEntry(name, file) };
  }

  /**
   * One upload under a journal record: begun before the first byte goes out, marked confirmed
   * once 1fichier verified it, then the replaced file is removed (now, or by the background retry
   * when 1fichier refuses for a while; the listing hides it meanwhile). An upload that fails after
   * its body was sent may still be stored: its record rolls any such copy back.
   */
  private async journaledUpload(
    source: Readable,
    request: { path: string; parentId: number; name: string; size: number; old?: { file: UpstreamFile; parentId: number }; signal?: AbortSignal; bodySent: () => void },
  ): Promise<UpstreamFile> {
    const { path, parentId, name, size, old } = request;
    const listed = this.folders.peek(parentId)?.files ?? [];
    const intent: UploadIntent = {
      op: 'upload',
      path,
      folderId: parentId,
      name,
      size,
      before: listed.filter((file) => file.name === name).map((file) => file.url),
      oldUrl: old?.file.url,
    };
    const id = await this.journal.begin(intent);
    // The client's going away cancels the upload only while its body is still coming.
    const abort = new AbortController();
    let sent = false;
    let marked: Promise<void> | undefined;
    const onClientGone = () => !sent && abort.abort();
    request.signal?.addEventListener('abort', onClientGone, { once: true });
    let stored: UpstreamFile;
    try {
      stored = await this.upstream.upload(source, {
        name,
        folderId: parentId,
        size,
        signal: abort.signal,
        onBodySent: () => {
          sent = true;
          marked = this.journal.update(id, { ...intent, bodySent: true });
          request.bodySent();
        },
      });
    } catch (error) {
      await marked?.catch(() => {});
      if (sent) await this.recovery.settleHeld(id);
      else await this.journal.finish(id);
      throw error;
    } finally {
      request.signal?.removeEventListener('abort', onClientGone);
    }
    this.confirmed.set(stored.url, true);
    await marked;
    await this.journal.update(id, { ...intent, bodySent: true, newUrl: stored.url });
    await this.recovery.protect(path, stored.url);
    this.folders.addFile(parentId, stored);
    if (old) {
      this.folders.removeFile(old.parentId, old.file.url);
      this.links.invalidate(old.file.url);
    }
    await this.recovery.settleHeld(id);
    return stored;
  }

  /**
   * MOVE or COPY of a file onto another file, journaled: the transfer, then the replaced file's
   * removal (retried in the background when 1fichier refuses it for now; hidden meanwhile). When
   * the transfer call itself fails, whatever it may have done upstream is undone before the error
   * is answered, so source and destination stay as they were.
   */
  private async replaceFile(
    op: 'move-replace' | 'copy-replace',
    from: string,
    to: string,
    source: { file: UpstreamFile; parentId: number },
    destination: { file: UpstreamFile; parentId: number },
    destinationParentId: number,
  ): Promise<void> {
    const name = storedName(leafOf(to));
    const intent: ReplaceIntent = {
      op,
      path: to,
      from,
      sourceUrl: source.file.url,
      sourceFolderId: source.parentId,
      sourceName: source.file.name,
      folderId: destinationParentId,
      name,
      oldUrl: destination.file.url,
    };
    const id = await this.journal.begin(intent);
    let newUrl: string;
    try {
      newUrl =
        op === 'move-replace'
          ? await this.moveUpstreamFile(source.file, source.parentId, destinationParentId, name)
          : (await this.upstream.copyFiles([source.file.url], destinationParentId, name))[0];
    } catch (error) {
      if (isRefusal(error)) await this.journal.finish(id);
      else {
        await this.journal.update(id, { ...intent, rollback: true });
        await this.recovery.settleHeld(id);
      }
      throw error;
    }
    this.confirmed.set(newUrl, true);
    await this.journal.update(id, { ...intent, newUrl });
    if (op === 'move-replace') this.folders.removeFile(source.parentId, source.file.url);
    this.folders.addFile(destinationParentId, { ...source.file, url: newUrl, name, modified: op === 'copy-replace' ? new Date(this.now()) : source.file.modified });
    this.folders.removeFile(destination.parentId, destination.file.url);
    this.links.invalidate(destination.file.url);
    await this.recovery.settleHeld(id);
  }

  // ---- internals ---------------------------------------------------------------------------

  /** Dates from the cached listings only: stat never lists a folder just to date it. */
  private folderEntryOf(folder: UpstreamFolder): DriveEntry {
    const listing = this.folders.peek(folder.id);
    return folder.id === ROOT_ID ? rootEntry(listing, this.startedAt) : folderEntry(folder, listing, this.startedAt);
  }

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

  /** Resolves an existing path: a missing parent is 404 (not 409). `priority` 'write' for a write's source. */
  private async resolveForRead(path: string, priority: 'interactive' | 'write' = 'interactive'): Promise<Resolved> {
    try {
      return await this.resolver.resolve(path, priority);
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
      parking: (file) => ({ file: file.url, lot: this.connections }),
      mayOpenMore: (file, opening) => this.connections.hasRoom(file.url, opening),
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

  /**
   * One upstream ranged GET of `file`: a download link (reused), then a connection slot of the
   * file and of the account (interactive before background), held until the body closes.
   */
  private async openUpstreamRange(
    file: UpstreamFile,
    range: { start: number; end: number },
    signal: AbortSignal,
    isResume: boolean,
    priority: FetchPriority = 'interactive',
  ): Promise<Readable> {
    const fetchLink = () => this.upstream.downloadLink(file.url, signal, priority);
    // Asked before the wait for a connection (so a new link is on its way meanwhile) and again
    // after it: a long wait for a slot may outlive the link's reuse window, and a link used past
    // it is refused (a wasted GET). The second ask costs nothing while the link is still fresh.
    // (Single-use links are only asked once the connection is there: each ask is a get_token.)
    if (!this.options.singleUseLinks) await this.links.get(file.url, fetchLink);
    const release = await this.connections.acquire(file.url, priority, signal);
    let body: Readable;
    try {
      const link = await this.links.get(file.url, fetchLink);
      try {
        body = await this.upstream.openRange(link, range, signal);
      } catch (error) {
        // An expired or spent link: one more try with a fresh one. Other errors go to the resume logic.
        if (!(error instanceof LinkRefusedError) && !isResume) throw error;
        this.links.invalidate(file.url, link);
        const fresh = await this.links.get(file.url, fetchLink);
        try {
          body = await this.upstream.openRange(fresh, range, signal);
        } catch (retryError) {
          if (!(retryError instanceof LinkRefusedError)) throw retryError;
          // Twice refused: the client is told to come back (it got a bare 500 before), and the
          // next read asks for a new link.
          this.links.invalidate(file.url, fresh);
          throw new DriveError('unavailable', `1fichier's download host refused two fresh links in a row (${retryError.message}); try again`, 2);
        }
      }
    } catch (error) {
      release();
      throw error;
    }
    body.once('close', release);
    body.once('end', release);
    body.once('error', release);
    return body;
  }

  private async removeUpstreamFile(parentId: number, file: UpstreamFile): Promise<void> {
    await this.upstream.removeFiles([file.url]);
    this.folders.removeFile(parentId, file.url);
    this.links.invalidate(file.url);
  }

  /** Removes a folder whose cached listing is empty; false when it is not known empty or 1fichier says it is not. */
  private async removeIfEmpty(folderId: number, parentId: number): Promise<boolean> {
    const listing = this.folders.peek(folderId);
    if (!listing || listing.files.length > 0 || listing.folders.length > 0) return false;
    try {
      await this.upstream.removeFolder(folderId);
    } catch (error) {
      if (error instanceof DriveError && error.code === 'not-empty') return false;
      throw error;
    }
    this.folders.removeFolder(parentId, folderId);
    return true;
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
    if (nameKey(to).startsWith(nameKey(from) + '/')) throw new DriveError('conflict', 'a folder cannot go inside itself');
    const localSource = this.localFileAt(from) ?? undefined;
    let source: TransferSource;
    if (localSource) source = { kind: 'local' };
    else {
      const resolved = await this.resolveForRead(from, 'write');
      if (resolved.kind === 'file') source = { kind: 'file', file: resolved.file, parentId: resolved.parentId };
      else if (resolved.kind === 'folder') {
        source = { kind: 'folder', id: resolved.id, parentId: resolved.parentId ?? ROOT_ID, folder: resolved.folder };
      } else if (this.state.file(from)) source = { kind: 'local' };
      else throw new DriveError('not-found', `${from} does not exist`);
    }
    const destinationParentId = await this.resolver.parentFolderId(parentOf(to), 'write');
    const resolvedDestination = await this.resolver.resolve(to, 'write');
    let destination: TransferDestination;
    if (resolvedDestination.kind === 'file') {
      destination = { kind: 'file', file: resolvedDestination.file, parentId: resolvedDestination.parentId };
    } else if (resolvedDestination.kind === 'folder') {
      destination = { kind: 'folder', id: resolvedDestination.id, parentId: resolvedDestination.parentId ?? ROOT_ID };
    } else if (this.state.file(to)) destination = { kind: 'local' };
    else destination = { kind: 'none' };
    // `to` differs from `from` only in its Unicode form (NFD ↔ NFC) and so resolves to the source
    // itself: that is a rename of the source, never "replace the destination" (which would remove it).
    if (sameObject(source, destination, from, to)) destination = { kind: 'none' };
    if (destination.kind !== 'none' && !options.overwrite) throw new DriveError('exists', `${to} already exists`);
    return { source, destination, destinationParentId, created: destination.kind === 'none' };
  }

  /**
   * A transfer journaled as a tree write (tree-writes.ts): a folder moved or copied, or anything
   * moved or copied onto a folder. A local-only destination (an empty file) is cleared first, as
   * before: it has no upstream copy to set aside and the local state carries it.
   */
  private isTreeWrite(plan: TransferPlan): plan is TransferPlan & { source: { kind: 'file' | 'folder' } } {
    if (plan.source.kind === 'local' || plan.destination.kind === 'local') return false;
    return plan.source.kind === 'folder' || plan.destination.kind === 'folder';
  }

  /** Removes what a transfer replaces when it cannot be replaced after the fact (folders, local files). */
  private async clearDestination(plan: TransferPlan, to: string): Promise<void> {
    const destination = plan.destination;
    if (destination.kind === 'folder') {
      // A folder's removal is many calls: journaled (set aside in one rename, the commit, then
      // removed, rolled forward across a crash), so a failure before the commit leaves it whole.
      // The journal's commit carries the folder's local state.
      await this.trees.deleteFolder(to, { id: destination.id, parentId: destination.parentId, name: storedName(leafOf(to)) });
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

function treeSource(source: Extract<TransferSource, { kind: 'file' | 'folder' }>): TreeObject {
  if (source.kind === 'file') return { kind: 'file', parentId: source.parentId, name: source.file.name, url: source.file.url };
  return { kind: 'folder', parentId: source.parentId, name: source.folder.name, id: source.id };
}

function treeDestination(destination: TransferDestination, name: string): TreeObject | undefined {
  if (destination.kind === 'file') return { kind: 'file', parentId: destination.parentId, name: destination.file.name, url: destination.file.url };
  if (destination.kind === 'folder') return { kind: 'folder', parentId: destination.parentId, name: storedName(name), id: destination.id };
  return undefined;
}

function childPath(folder: string, name: string): string {
  return folder === '/' ? `/${name}` : `${folder}/${name}`;
}

function sameObject(source: TransferSource, destination: TransferDestination, from: string, to: string): boolean {
  // Local files are keyed by their NFC path (normalised-state.ts).
  if (source.kind === 'local' && destination.kind === 'local') return nameKey(from) === nameKey(to);
  if (source.kind === 'file' && destination.kind === 'file') return source.file.url === destination.file.url;
  if (source.kind === 'folder' && destination.kind === 'folder') return source.id === destination.id;
  return false;
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

