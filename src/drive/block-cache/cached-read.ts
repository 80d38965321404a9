/**
 * The stream a client gets for one range: block by block, each from the first source that has it:
 * a transfer in flight (its bytes in memory as they arrive, shared with other readers), the disk,
 * or else a new upstream transfer over every missing block up to the range's end (plus read-ahead)
 * in one GET. Bytes go out as soon as they exist: a miss never waits for a whole block.
 *
 * Destroying the stream before its end (client disconnect) cancels the transfers it started.
 */
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { BlockFill, FillState } from './block-fill.js';
import type { BlockStore } from './block-store.js';
import type { FillRegistry, SpanFetch } from './span-fetch.js';
import type { CacheStats } from './stats.js';

const PIECE = 256 * 1024;
/**
 * Transfers a reader may start without getting a single byte further: more means the blocks keep
 * vanishing or failing before it can read them (a loop, not progress): give up loudly.
 */
const MAX_TRANSFERS_WITHOUT_PROGRESS = 3;
/**
 * Parallel ranged streams (like JDownloader's chunks) for a sequential reader that one upstream
 * connection cannot keep fed: each extra connection fetches one CHUNK ahead of the reader. How
 * many run at once (lanes) grows by one each time the reader spent a PROBE interval starving on a
 * transfer that never had to wait for it (the link, not the reader, is the bottleneck).
 */
const CHUNK = 8 * 1024 * 1024;
const PROBE = 2 * 1024 * 1024;
/**
 * Bytes a reader must have taken before parallel streams are considered: ffprobe's held head
 * "reads" several MiB into socket buffers and then stalls; a chunk fetched ahead for it would be
 * wasted (bench row M1). A player streams far beyond this.
 */
const PARALLEL_AFTER = 16 * 1024 * 1024;
/**
 * Bytes a client may seem to take without reading any: the kernel's socket buffers between us
 * and the client accept that much before pushing back (measured 5.7 MiB on loopback for a client
 * that read 256 KiB and stopped). A held ffprobe head takes them at once and then stalls; only a
 * reader that takes more than this is known to be reading, and only then does its window grow.
 */
const SOCKET_BUFFERS = 8 * 1024 * 1024;

export interface CachedReadContext {
  key: string;
  size: number;
  blockSize: number;
  store: BlockStore;
  registry: FillRegistry;
  stats: CacheStats;
  /** Pacing window at the start, and how far it may grow for a sustained reader. */
  window: number;
  maxWindow: number;
  /** Starts a transfer from block `from` over the missing blocks up to byte `through` (inclusive). */
  startFetch(from: number, through: number, limit: number, priority?: 'interactive' | 'background'): SpanFetch;
  /** Upstream connections (parallel streams included) one reader may use at most; 1 = no parallel streams. */
  maxLanes: number;
  /** Whether one more connection for this file could open now without anyone waiting for it. */
  mayOpenMore(): boolean;
  /** Last block any transfer of this read should reach (range end plus read-ahead). */
  extentEnd: number;
  onEnd(outcome: { complete: boolean; position: number; fetches: SpanFetch[] }): void;
}

export class CachedRangeStream extends Readable {
  private position: number;
  private readonly controller = new AbortController();
  private readonly fetches: SpanFetch[] = [];
  private handle: { index: number; file: FileHandle } | undefined;
  private countedBlock = -1;
  private pumping = false;
  private complete = false;
  private window: number;
  private grownAt: number;
  /** Blocks from the current one to a window ahead, kept from eviction until this reader passes them. */
  private readonly pinned = new Set<number>();
  private pinnedFrom = -1;
  private pinnedWindow = 0;
  private stalledTransfers = 0;
  private stalledAt = -1;
  /** Parallel streams: how many may run, the chunk transfers started, and the current probe interval. */
  private lanes = 1;
  private readonly start: number;
  private readonly chunkFetches: SpanFetch[] = [];
  private probeFrom: number;
  /** Milliseconds this probe interval spent waiting for the link (bytes of its own transfers). */
  private probeStarvedMs = 0;
  private probeStartedAt = Date.now();
  private probeLimitHits = 0;
  private lanesCheckedAt = -1;
  /** Settles once the first byte's source is known: rejects when the upstream refused the read. */
  readonly prepared: Promise<void>;
  private settlePrepared!: (error?: Error | null) => void;

  constructor(
    start: number,
    private readonly end: number,
    private readonly context: CachedReadContext,
    signal?: AbortSignal,
  ) {
    super({ highWaterMark: PIECE });
    this.prepared = new Promise<void>((resolve, reject) => {
      this.settlePrepared = (error) => (error ? reject(error) : resolve());
    });
    this.prepared.catch(() => {});
    // Whoever reads this stream attaches its own listeners; this one only keeps an error raised
    // before that (a refused first transfer) from becoming an uncaught exception.
    this.on('error', () => {});
    this.position = start;
    this.start = start;
    this.probeFrom = start;
    this.window = context.window;
    this.grownAt = start;
    if (signal) {
      if (signal.aborted) this.controller.abort();
      else {
        signal.addEventListener(
          'abort',
          () => {
            // destroy() waits for _construct: abort first so a pending first transfer lets go at once.
            this.controller.abort();
            this.destroy();
          },
          { once: true },
        );
      }
    }
  }

  /** Finds the first byte's source before any byte is promised, so upstream failures still get their status. */
  override _construct(callback: (error?: Error | null) => void): void {
    this.prepareFirst().then(
      () => {
        this.settlePrepared();
        callback();
      },
      (error: Error) => {
        this.settlePrepared(error);
        callback(error);
      },
    );
  }

  override _read(): void {
    if (this.pumping) return;
    this.pumping = true;
    this.pump().catch((error: Error) => {
      this.pumping = false;
      if (!this.destroyed) this.destroy(this.controller.signal.aborted ? undefined : error);
    });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.controller.abort();
    for (const index of this.pinned) this.context.store.unpin(this.context.key, index);
    this.pinned.clear();
    if (!this.complete) for (const fetch of [...this.fetches, ...this.chunkFetches]) fetch.abandon();
    this.context.onEnd({ complete: this.complete, position: this.position, fetches: this.fetches });
    const handle = this.handle;
    this.handle = undefined;
    if (handle) handle.file.close().then(() => callback(error), () => callback(error));
    else callback(error);
  }

  private async prepareFirst(): Promise<void> {
    const { blockSize } = this.context;
    const index = Math.floor(this.position / blockSize);
    if (this.context.registry.get(this.context.key, index)) return;
    if (this.context.store.index.has(this.context.key, index)) return;
    const fetch = this.startFetch(index);
    const signal = this.controller.signal;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        fetch.abandon();
        reject(new Error('read aborted before its first byte'));
      };
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      fetch.opened.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private async pump(): Promise<void> {
    while (!this.destroyed) {
      if (this.position > this.end) {
        this.complete = true;
        await this.closeHandle();
        for (const fetch of this.fetches) fetch.release();
        for (const fetch of this.chunkFetches) fetch.release();
        this.push(null);
        return;
      }
      const piece = await this.nextPiece();
      if (this.destroyed) return;
      this.position += piece.length;
      this.growWindow();
      this.probeLanes();
      if (this.lanes > 1) this.keepLanesBusy();
      if (!this.push(piece)) {
        this.pumping = false;
        return;
      }
    }
  }

  private async nextPiece(): Promise<Buffer> {
    const { key, blockSize, size, registry, store, stats } = this.context;
    for (;;) {
      if (this.controller.signal.aborted) throw new Error('read aborted');
      const index = Math.floor(this.position / blockSize);
      const blockStart = index * blockSize;
      const blockEnd = Math.min(size, blockStart + blockSize) - 1;
      const max = Math.min(PIECE, Math.min(this.end, blockEnd) - this.position + 1);
      this.pinAhead(index);

      const fill = registry.get(key, index);
      if (fill && fill.state !== 'failed') {
        const piece = fill.read(this.position - blockStart, max);
        if (piece) {
          this.count(index, 'fill', fill);
          if (fill.unstored && this.position + piece.length > blockEnd) registry.delete(fill);
          this.keepFetching();
          return piece;
        }
        if (fill.state === 'filling') {
          // Starved by the link, not by our own disk writes falling behind.
          const byLink = this.isOwn(fill) && !fill.source.waitingForDisk;
          fill.source.want(blockEnd + 1, !this.isOwn(fill));
          this.keepFetching();
          const waitFrom = Date.now();
          await fill.changed(this.controller.signal);
          if (byLink) this.probeStarvedMs += Date.now() - waitFrom;
          if ((fill.state as FillState) === 'failed' && this.isOwn(fill)) throw fill.error ?? new Error('the upstream transfer failed');
          continue;
        }
      }
      if (fill?.state === 'failed' && this.isOwn(fill)) throw fill.error ?? new Error('the upstream transfer failed');

      const piece = await this.readDisk(index, this.position - blockStart, max);
      if (piece) {
        this.count(index, 'disk');
        stats.bytesFromCache += piece.length;
        return piece;
      }
      // Another transfer may have claimed (or stored) the block while the disk was asked: look again.
      const claimed = registry.get(key, index);
      if ((claimed && claimed.state !== 'failed') || store.index.has(key, index)) continue;
      // This reader's own transfer claims blocks only as it is allowed to go on: let it reach this one.
      const own = this.fetches[this.fetches.length - 1];
      if (own?.reaches(index)) {
        own.want(blockEnd + 1);
        if (registry.get(key, index)?.source === own) continue;
      }
      // Neither in flight nor on disk (or it vanished): one transfer over what is missing ahead.
      if (this.stalledAt !== this.position) {
        this.stalledAt = this.position;
        this.stalledTransfers = 0;
      }
      if (++this.stalledTransfers > MAX_TRANSFERS_WITHOUT_PROGRESS) {
        throw new Error(`the read cache could not keep block ${index} of a file long enough to serve it`);
      }
      this.startFetch(index);
    }
  }

  private pinAhead(index: number): void {
    if (index === this.pinnedFrom && this.window === this.pinnedWindow) return;
    this.pinnedFrom = index;
    this.pinnedWindow = this.window;
    const { blockSize, store, key } = this.context;
    const last = Math.min(Math.floor(this.end / blockSize), index + Math.ceil(this.window / blockSize));
    for (const pinned of [...this.pinned]) {
      if (pinned < index || pinned > last) {
        this.pinned.delete(pinned);
        store.unpin(key, pinned);
      }
    }
    for (let block = index; block <= last; block += 1) {
      if (this.pinned.has(block)) continue;
      this.pinned.add(block);
      store.pin(key, block);
    }
  }

  private startFetch(index: number): SpanFetch {
    // A reader destroyed while it looked at the disk has already let go of its transfers: start none.
    if (this.controller.signal.aborted) throw new Error('read aborted');
    const fetch = this.context.startFetch(index, this.context.extentEnd, this.position + this.window);
    this.fetches.push(fetch);
    return fetch;
  }

  private isOwn(fill: BlockFill): boolean {
    return this.fetches.some((fetch) => fetch === fill.source) || this.chunkFetches.some((fetch) => fetch === fill.source);
  }

  private limitHits(): number {
    let hits = 0;
    for (const fetch of this.fetches) hits += fetch.limitPauses;
    for (const fetch of this.chunkFetches) hits += fetch.limitPauses;
    return hits;
  }

  /**
   * At the end of each PROBE interval: if the reader waited for bytes of its own transfers while
   * none of them ever paused for it, the upstream link is slower than the reader: one more lane.
   */
  private probeLanes(): void {
    if (this.position - this.probeFrom < PROBE) return;
    const hits = this.limitHits();
    const now = Date.now();
    // Starved: waited for the link at least half of the interval, and no transfer ever waited for the reader.
    const starved = hits === this.probeLimitHits && this.probeStarvedMs * 2 >= now - this.probeStartedAt;
    this.probeFrom = this.position;
    this.probeStartedAt = now;
    this.probeStarvedMs = 0;
    this.probeLimitHits = hits;
    // Not before PARALLEL_AFTER bytes were read (a probe's head never gets there).
    if (this.position - this.start < PARALLEL_AFTER) return;
    // Doubling reaches the useful number of lanes within a few intervals (each costs a TTFB).
    if (starved && this.lanes < this.context.maxLanes && this.end - this.position > 2 * CHUNK) this.lanes = Math.min(this.context.maxLanes, this.lanes * 2);
  }

  /**
   * Keeps up to `lanes` chunk transfers running from the reader's position on: the chunk under
   * the reader at interactive priority, those ahead at background priority and only while the
   * file and the account have a connection to spare.
   */
  private keepLanesBusy(): void {
    const { blockSize, key, registry, store, size } = this.context;
    const index = Math.floor(this.position / blockSize);
    if (index === this.lanesCheckedAt) return;
    this.lanesCheckedAt = index;
    for (let at = this.chunkFetches.length - 1; at >= 0; at -= 1) if (!this.chunkFetches[at].isRunning) this.chunkFetches.splice(at, 1);
    const chunkBlocks = Math.max(1, Math.floor(CHUNK / blockSize));
    const lastByte = Math.min(this.end, this.context.extentEnd, size - 1);
    const lastBlock = Math.floor(lastByte / blockSize);
    const running = () => this.chunkFetches.length + (this.fetches.some((fetch) => fetch.isRunning) ? 1 : 0);
    for (let chunk = 0; chunk < this.lanes && running() < this.lanes; chunk += 1) {
      const first = (Math.floor(index / chunkBlocks) + chunk) * chunkBlocks;
      if (first > lastBlock) return;
      const last = Math.min(lastBlock, first + chunkBlocks - 1);
      let missing = Math.max(first, index);
      while (missing <= last && (store.index.has(key, missing) || registry.get(key, missing))) missing += 1;
      if (missing > last) continue;
      const underReader = missing === index;
      if (!underReader && !this.context.mayOpenMore()) return;
      const through = Math.min(lastByte, (last + 1) * blockSize - 1);
      const fetch = this.context.startFetch(missing, through, through + 1, underReader ? 'interactive' : 'background');
      this.chunkFetches.push(fetch);
    }
  }

  private keepFetching(): void {
    const last = this.fetches[this.fetches.length - 1];
    last?.want(this.position + this.window);
  }

  /**
   * Sustained reading doubles how far ahead the transfer may run, up to the read-ahead limit.
   * Reading is what the consumer took from this stream (not what was pushed into its buffer), and
   * only beyond what socket buffers can hold: before that a stalled client looks like a reader.
   */
  private growWindow(): void {
    if (this.window >= this.context.maxWindow) return;
    const consumed = this.position - this.readableLength;
    if (consumed - this.start < SOCKET_BUFFERS || consumed - this.grownAt < this.window) return;
    this.grownAt = consumed;
    this.window = Math.min(this.context.maxWindow, this.window * 2);
  }

  private count(index: number, source: 'disk' | 'fill', fill?: BlockFill): void {
    if (this.countedBlock === index) return;
    this.countedBlock = index;
    const { stats } = this.context;
    if (source === 'disk') stats.hits += 1;
    else {
      stats.misses += 1;
      if (fill && !this.isOwn(fill)) stats.coalesced += 1;
    }
  }

  private async readDisk(index: number, offset: number, max: number): Promise<Buffer | undefined> {
    if (this.handle?.index !== index) {
      await this.closeHandle();
      const file = await this.context.store.openBlock(this.context.key, index);
      if (!file) return undefined;
      if (this.destroyed) {
        await file.close().catch(() => {});
        return undefined;
      }
      this.handle = { index, file };
    }
    const buffer = Buffer.allocUnsafe(max);
    const { bytesRead } = await this.handle.file.read(buffer, 0, max, offset);
    if (bytesRead === max) return buffer;
    // A block shorter than it should be: forget it and fetch it again.
    await this.closeHandle();
    this.context.store.index.remove(this.context.key, index);
    return undefined;
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.file.close().catch(() => {});
  }
}
