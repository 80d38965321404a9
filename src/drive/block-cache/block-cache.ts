/**
 * The persistent read cache (issue 9): reads are served from fixed-size blocks on disk, missing
 * blocks come from one upstream ranged GET per client range, concurrent readers of a missing block
 * share its transfer, sequential readers get read-ahead, and media files get their head and tail
 * warmed. See docs/design.md (The block cache) for the design and its costs.
 */
import type { Readable } from 'node:stream';
import { LRUCache } from 'lru-cache';
import pLimit, { type LimitFunction } from 'p-limit';
import { BlockStore } from './block-store.js';
import { CachedRangeStream } from './cached-read.js';
import { exactRead, planExactRead } from './exact-read.js';
import { FileActivity } from './consumer-wait.js';
import { fileKeyOf, urlHashOf, type CachedFileRef } from './file-key.js';
import { isMediaFile } from './media-types.js';
import { CACHE_DEFAULTS, checkSettings, type BlockCacheSettings } from './options.js';
import { ReadAheadTracker } from './read-ahead.js';
import { FillRegistry, SpanFetch, type FetchPriority, type SpanFetchOptions } from './span-fetch.js';
import { AlignedSlots } from './block-memory.js';
import { emptyStats, type CacheStats } from './stats.js';

/** Opens one upstream ranged GET of `file` (the drive's link cache and error translation behind it). */
export interface RangeOpener {
  (
    file: CachedFileRef,
    range: { start: number; end: number },
    context: { attempt: number; signal: AbortSignal; priority: FetchPriority },
  ): Promise<Readable>;
}

export interface BlockCacheHooks {
  open: RangeOpener;
  now?: () => number;
  /** Background failures (warming, disk errors); they never reach a client. */
  onError?: (error: unknown) => void;
  /** State changes worth one log line each (the disk is full: reads pass through; it has room again). */
  onNotice?: (message: string, error?: unknown) => void;
  /**
   * Whether one more upstream connection for `file` could open now without anyone waiting
   * (parallel streams ask), counting `opening` more that were started and have not opened yet.
   */
  mayOpenMore?: (file: CachedFileRef, opening: number) => boolean;
  /** Where a transfer's idle upstream connection is registered (it may be closed for a waiting caller). */
  parking?: (file: CachedFileRef) => SpanFetchOptions['parking'];
  /** Bytes of pooled block buffers (default BLOCK_MEMORY_BYTES; at least 4 blocks): tests make it small. */
  memoryBytes?: number;
}

/**
 * Memory for blocks in flight: 32 one-MiB blocks, enough for a sequential reader's blocks between
 * upstream and disk several times over; beyond it fills keep their chunks (block-fill.ts).
 */
export const BLOCK_MEMORY_BYTES = 32 * 1024 * 1024;

export class BlockCache {
  private readonly registry = new FillRegistry((key) => this.activity.changed(key));
  private readonly counters: CacheStats = emptyStats();
  /** Pooled buffers for blocks in flight (block-memory.ts), created at the first transfer. */
  private memory: AlignedSlots | undefined;
  private readonly readAhead: ReadAheadTracker;
  private readonly background: LimitFunction;
  /** Probe prefetch has its own queue (one at a time) so a big listing never delays read-ahead. */
  private readonly probes: LimitFunction = pLimit(1);
  /** Files already warmed by this process: a listing refresh does not warm them again (API budget). */
  private readonly warmed = new LRUCache<string, true>({ max: 200_000 });
  private readonly active = new Set<SpanFetch>();
  /** Exact reads in progress (exact-read.ts): close() stops them like transfers. */
  private readonly exactReads = new Set<Readable>();
  private readonly warming = new Set<string>();
  /** Reads begun and blocks claimed per file (a read waiting for its consumer watches whether its client reads elsewhere). */
  private readonly activity = new FileActivity();
  private readonly onError: (error: unknown) => void;
  private closed = false;

  private constructor(
    private readonly settings: BlockCacheSettings,
    private readonly store: BlockStore,
    private readonly hooks: BlockCacheHooks,
  ) {
    this.onError = hooks.onError ?? (() => {});
    this.readAhead = new ReadAheadTracker(settings.blockSize, settings.readAheadMaxBytes, () => (this.counters.readAheadCancelled += 1));
    this.background = pLimit(settings.backgroundFetches);
    store.onEvict = (blocks) => (this.counters.evictions += blocks.length);
    store.onCorrupt = () => (this.counters.corruptBlocks += 1);
    store.onNotice = hooks.onNotice ?? ((message, error) => this.onError(error ?? new Error(message)));
  }

  static async open(settings: BlockCacheSettings, hooks: BlockCacheHooks): Promise<BlockCache> {
    checkSettings(settings);
    const onError = hooks.onError ?? (() => {});
    const store = await BlockStore.open(settings, hooks.now ?? Date.now, onError);
    return new BlockCache(settings, store, hooks);
  }

  get blockSize(): number {
    return this.settings.blockSize;
  }

  /** A stream of exactly bytes [start, end] of `file`. */
  read(file: CachedFileRef, range: { start: number; end: number }, signal?: AbortSignal): Readable {
    return this.begin(file, range, signal).stream;
  }

  /**
   * Starts a read: a small closed read that is not sequential is served exactly (exact-read.ts:
   * only its own bytes are fetched, stored as fragments); any other goes block by block.
   */
  private begin(file: CachedFileRef, range: { start: number; end: number }, signal?: AbortSignal): { stream: Readable; prepared: Promise<void> } {
    const key = fileKeyOf(file);
    const meta = { size: file.size, urlHash: urlHashOf(file.url) };
    const { blockSize } = this.settings;
    const plan = this.readAhead.begin(key, range.start, range.end, file.size);
    const readNumber = this.activity.readStarted(key);
    const exactContext = { key, meta, blockSize, store: this.store };
    // A read that continues the previous one, or runs to the end of the file, reads on: whole
    // blocks and read-ahead. A small read elsewhere (a seek, a probe) is fetched exactly. Any read
    // whose bytes are all on disk, fragments included, is served from there.
    const mayFetch = !plan.contiguous && !plan.openEnded;
    const parts = planExactRead(exactContext, range.start, range.end, (index) => this.registry.get(key, index) !== undefined, mayFetch);
    if (parts) {
      if (this.settings.warmTail && range.start < blockSize) this.warmTail(file, key, meta, range.end);
      const exact = exactRead(
        parts,
        {
          ...exactContext,
          stats: this.counters,
          open: (part, context) => this.hooks.open(file, part, context),
          maxResumes: this.settings.maxResumes,
          parking: this.hooks.parking?.(file),
          storing: () => !this.closed,
        },
        signal,
      );
      // In progress until it closes (an earlier open-ended read of the file does not ramp meanwhile).
      exact.stream.once('close', () => this.activity.readEnded(key, readNumber));
      this.exactReads.add(exact.stream);
      exact.stream.once('close', () => this.exactReads.delete(exact.stream));
      // Past its wait for a link and a slot (an earlier read's ramp counts its freeze from here).
      exact.prepared.then(() => this.activity.readFlowing(key, readNumber), () => {});
      return exact;
    }
    const stream = new CachedRangeStream(
      range.start,
      range.end,
      {
        key,
        size: file.size,
        blockSize,
        store: this.store,
        registry: this.registry,
        stats: this.counters,
        window: plan.window,
        maxWindow: Math.max(blockSize, this.settings.readAheadMaxBytes),
        extentEnd: range.end + plan.extension,
        readsStarted: () => this.activity.readsStarted(key),
        laterReadInProgress: () => this.activity.laterReadInProgress(key, readNumber),
        laterReadFlowing: () => this.activity.laterReadFlowing(key, readNumber),
        watchFile: (listener) => this.activity.watch(key, listener),
        mediaFile: isMediaFile(file.name, file.contentType),
        startFetch: (from, through, limit, priority = 'interactive', at, requestBound) =>
          this.startFetch(file, key, meta, from, through, limit, priority, at, requestBound, true),
        maxLanes: plan.sequential ? (this.settings.parallelStreams ?? CACHE_DEFAULTS.parallelStreams) : 1,
        mayOpenMore: (opening) => this.hooks.mayOpenMore?.(file, opening) ?? true,
        onEnd: ({ complete, position, fetches }) => {
          this.activity.readEnded(key, readNumber);
          if (!complete) this.readAhead.stoppedAt(key, position);
          else for (const fetch of fetches) this.readAhead.adopt(key, fetch);
        },
      },
      signal,
    );
    if (this.settings.warmTail && range.start < blockSize) this.warmTail(file, key, meta, range.end);
    // The read needs no transfer of its own (all cached or in flight): read ahead in a GET of its own.
    if (plan.extension > 0 && this.available(key, range.start, range.end)) {
      this.readAheadBeyond(file, key, meta, range.end + 1, range.end + plan.extension);
    }
    stream.prepared.then(() => this.activity.readFlowing(key, readNumber), () => {});
    return { stream, prepared: stream.prepared };
  }

  /**
   * Like read(), but resolves only once the first byte's source is known, and rejects with the
   * upstream's error (vanished file, flood cool-down...) so the client gets its status, not a cut 206.
   */
  async readWhenReady(file: CachedFileRef, range: { start: number; end: number }, signal?: AbortSignal): Promise<Readable> {
    const { stream, prepared } = this.begin(file, range, signal);
    try {
      await prepared;
    } catch (error) {
      stream.destroy();
      throw error;
    }
    return stream;
  }

  /** Warms the head and tail blocks of media files not seen yet (after a folder listing), in the background. */
  warmProbes(files: CachedFileRef[]): void {
    for (const file of files) {
      if (file.size <= 0 || !isMediaFile(file.name, file.contentType)) continue;
      const key = fileKeyOf(file);
      if (this.warming.has(key) || this.warmed.has(key) || this.store.index.has(key, 0) || this.registry.get(key, 0)) continue;
      this.warming.add(key);
      this.warmed.set(key, true);
      const meta = { size: file.size, urlHash: urlHashOf(file.url) };
      const last = Math.floor((file.size - 1) / this.settings.blockSize);
      void this.probes(async () => {
        await this.fetchInBackground(file, key, meta, 0);
        if (last > 0) await this.fetchInBackground(file, key, meta, last);
      })
        .catch(this.onError)
        .finally(() => this.warming.delete(key));
    }
  }

  stats(): CacheStats {
    return {
      ...this.counters,
      storedBlocks: this.store.index.blockCount,
      storedBytes: this.store.index.bytes,
      passThrough: this.store.passThrough ? 1 : 0,
      memoryBuffers: this.memory?.slots ?? 0,
      memoryInUse: this.memory?.inUse ?? 0,
      memoryMisses: this.memory?.misses ?? 0,
    };
  }

  /** Waits until no transfer, background job or disk write is in progress, and the index is saved. */
  async settle(): Promise<void> {
    for (;;) {
      const busy = [...this.active].map((fetch) => fetch.done);
      const queued = this.background.activeCount + this.background.pendingCount + this.probes.activeCount + this.probes.pendingCount;
      if (busy.length === 0 && queued === 0) break;
      await Promise.all(busy);
      if (busy.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await this.store.settle();
  }

  /** Stops every transfer and background job, then saves the index. */
  async close(): Promise<void> {
    this.closed = true;
    this.background.clearQueue();
    this.probes.clearQueue();
    for (const fetch of this.active) fetch.cancel('the cache is closing');
    for (const stream of this.exactReads) stream.destroy(new Error('the cache is closing'));
    await this.settle();
    this.store.close();
  }

  private warmTail(file: CachedFileRef, key: string, meta: { size: number; urlHash: string }, readEnd: number): void {
    const last = Math.floor((file.size - 1) / this.settings.blockSize);
    if (last === 0 || readEnd >= last * this.settings.blockSize) return;
    if (!isMediaFile(file.name, file.contentType)) return;
    // A fragment there means the tail was read already (exactly): the probe needs no whole block.
    if (this.store.index.has(key, last) || this.registry.get(key, last) || this.store.index.hasFragments(key, last)) return;
    void this.background(() => this.fetchInBackground(file, key, meta, last)).catch(this.onError);
  }

  private available(key: string, start: number, end: number): boolean {
    const { blockSize } = this.settings;
    for (let index = Math.floor(start / blockSize); index <= Math.floor(end / blockSize); index += 1) {
      if (!this.store.index.has(key, index) && !this.registry.get(key, index)) return false;
    }
    return true;
  }

  /** Read-ahead for a reader whose own range needed nothing: fetched in the background, cancelled by a seek. */
  private readAheadBeyond(file: CachedFileRef, key: string, meta: { size: number; urlHash: string }, from: number, through: number): void {
    const { blockSize } = this.settings;
    void this.background(async () => {
      if (this.closed) return;
      let first = Math.floor(from / blockSize);
      const last = Math.floor(Math.min(file.size - 1, through) / blockSize);
      while (first <= last && (this.store.index.has(key, first) || this.registry.get(key, first))) first += 1;
      if (first > last) return;
      const fetch = this.startFetch(file, key, meta, first, through, Number.MAX_SAFE_INTEGER, 'interactive');
      fetch.release();
      this.readAhead.adopt(key, fetch);
      await fetch.done;
    }).catch(this.onError);
  }

  /** One background GET for one block, if it is still missing when its turn comes. */
  private async fetchInBackground(file: CachedFileRef, key: string, meta: { size: number; urlHash: string }, index: number): Promise<void> {
    if (this.closed || this.store.index.has(key, index) || this.registry.get(key, index) || this.store.index.hasFragments(key, index)) return;
    const fetch = this.startFetch(file, key, meta, index, (index + 1) * this.settings.blockSize - 1, Number.MAX_SAFE_INTEGER, 'background');
    await fetch.done;
    if (fetch.error && !this.closed) this.onError(fetch.error);
  }

  private startFetch(
    file: CachedFileRef,
    key: string,
    meta: { size: number; urlHash: string },
    from: number,
    through: number,
    limit: number,
    priority: FetchPriority,
    at?: number,
    requestBound?: () => number,
    forReader = false,
  ): SpanFetch {
    const { blockSize } = this.settings;
    // The span (and so the upstream Range) ends at the last block to fetch: cached blocks after it are read from disk.
    let lastBlock = Math.floor(Math.min(file.size - 1, through) / blockSize);
    while (lastBlock > from && (this.store.index.has(key, lastBlock) || this.registry.get(key, lastBlock)?.state === 'done')) lastBlock -= 1;
    const fetch = new SpanFetch({
      key,
      meta,
      blockSize,
      firstBlock: from,
      from: at,
      lastBlock,
      store: this.store,
      registry: this.registry,
      stats: this.counters,
      open: (range, context) => this.hooks.open(file, range, context),
      parking: this.hooks.parking?.(file),
      priority,
      maxResumes: this.settings.maxResumes,
      limit,
      openEnded: through >= file.size - 1,
      requestBound,
      memory: (this.memory ??= this.blockMemory()),
      keepForReader: forReader,
    });
    this.active.add(fetch);
    void fetch.done.then(() => this.active.delete(fetch));
    return fetch;
  }

  /** The pool of block buffers; when it is empty, a block kept for a reader but already on disk gives its buffer back. */
  private blockMemory(): AlignedSlots {
    const memory = new AlignedSlots(this.settings.blockSize, this.hooks.memoryBytes ?? BLOCK_MEMORY_BYTES, 4);
    memory.reclaim = () => {
      for (const fetch of this.active) if (fetch.releaseStoredKept()) return true;
      return false;
    };
    return memory;
  }
}
