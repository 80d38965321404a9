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
import { waitForConsumer } from './consumer-wait.js';
import { chunkSize, LaneTrials } from './lane-trials.js';
import type { FillRegistry, SpanFetch } from './span-fetch.js';
import { StartRamp } from './start-ramp.js';
import type { CacheStats } from './stats.js';

const PIECE = 256 * 1024;
/**
 * Transfers a reader may start without getting a single byte further: more means the blocks keep
 * vanishing or failing before it can read them (a loop, not progress): give up loudly.
 */
const MAX_TRANSFERS_WITHOUT_PROGRESS = 3;
/**
 * How far into a missing block a read must start for its GET to start at the read's own byte
 * (the head of the block then comes from a second GET). Closer to the block's start, one GET from
 * the block's start costs less than a second request.
 */
const SEEK_INTO_BLOCK = 64 * 1024;
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
  /**
   * Starts a transfer from block `from` over the missing blocks up to byte `through` (inclusive).
   * `at`: the byte inside block `from` the upstream GET starts at (the block's head then comes
   * from a second, background GET); default the block's first byte. `requestBound`: no GET of the
   * transfer asks beyond this byte (exclusive; the reader's start-up ramp).
   */
  startFetch(
    from: number,
    through: number,
    limit: number,
    priority?: 'interactive' | 'background',
    at?: number,
    requestBound?: () => number,
  ): SpanFetch;
  /** Upstream connections (parallel streams included) one reader may use at most; 1 = no parallel streams. */
  maxLanes: number;
  /** Whether one more connection for this file could open now without anyone waiting for it, beyond `opening` started and not open yet. */
  mayOpenMore(opening: number): boolean;
  /** Last block any transfer of this read should reach (range end plus read-ahead). */
  extentEnd: number;
  /** Reads of this file begun so far in this process (it moves when the client reads elsewhere in it). */
  readsStarted(): number;
  /** Whether a read of this file that began after this one is in progress (the client reads elsewhere). */
  laterReadInProgress(): boolean;
  /** Whether such a later read is past its first byte's wait (not waiting for a link or a slot). */
  laterReadFlowing(): boolean;
  /** Calls `listener` when another read of this file begins or ends or a block of it is claimed; returns the unsubscribe. */
  watchFile(listener: () => void): () => void;
  /** A video or audio file: what media servers probe again on every library scan. */
  mediaFile: boolean;
  onEnd(outcome: { complete: boolean; position: number; fetches: SpanFetch[] }): void;
}

export class CachedRangeStream extends Readable {
  private position: number;
  private readonly controller = new AbortController();
  private readonly fetches: SpanFetch[] = [];
  private handle: { index: number; file: FileHandle } | undefined;
  private countedBlock = -1;
  private passedBlock = -1;
  private pumping = false;
  private complete = false;
  private window: number;
  private grownAt: number;
  /** Where this read started (growth counts what the client took from here). */
  private readonly start: number;
  /** Blocks from the current one to a window ahead, kept from eviction until this reader passes them. */
  private readonly pinned = new Set<number>();
  private pinnedFrom = -1;
  private pinnedWindow = 0;
  private stalledTransfers = 0;
  private stalledAt = -1;
  /** The missing block this read last waited for its consumer at (it waits once per block). */
  private waitedAt = -1;
  /** Set while the read waits for its consumer (consumer-wait.ts). */
  private onTaken: (() => void) | undefined;
  /** Parallel streams: how many lanes may run (lane-trials.ts), and the chunk transfers started. */
  private readonly trials: LaneTrials;
  private readonly chunkFetches: SpanFetch[] = [];
  private lanesCheckedAt = -1;
  /** Limit pauses of chunk transfers that ended (so the count never goes back). */
  private retiredLimitPauses = 0;
  /** How far upstream an open-ended media read may go in its first moments (start-ramp.ts); undefined: no ramp. */
  private readonly ramp: StartRamp | undefined;
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
    this.trials = new LaneTrials(start, context);
    this.window = context.window;
    this.grownAt = start;
    this.start = start;
    // A client that takes a little of an open-ended answer and then holds it unread (ffprobe's head)
    // cannot be told from a reader until socket buffers fill: its upstream follows a ramp instead.
    // Only for a read from the file's first block (where a probe starts; a player's seek is not
    // slowed), and not for a sequential follow-on read (its window grew: the client has been reading).
    if (
      context.mediaFile &&
      start < context.blockSize &&
      end === context.size - 1 &&
      end - start + 1 > context.blockSize &&
      this.window <= context.blockSize
    ) {
      this.ramp = new StartRamp(start, context.blockSize, {
        laterReadInProgress: () => context.laterReadInProgress(),
        laterReadFlowing: () => context.laterReadFlowing(),
        watchFile: (listener) => context.watchFile(listener),
      });
    }
    if (signal) {
      if (signal.aborted) this.controller.abort();
      else {
        const onAbort = (): void => {
          // destroy() waits for _construct: abort first so a pending first transfer lets go at once.
          this.controller.abort();
          this.destroy();
        };
        signal.addEventListener('abort', onAbort, { once: true });
        // The request's signal outlives this part of it (a multi-range GET reads many): let go on close.
        this.once('close', () => signal.removeEventListener('abort', onAbort));
      }
    }
  }

  /** Finds the first byte's source before any byte is promised, so upstream failures still get their status. */
  override _construct(callback: (error?: Error | null) => void): void {
    this.prepareFirst().then(
      () => {
        this.settlePrepared();
        this.ramp?.begin();
        callback();
      },
      (error: Error) => {
        this.settlePrepared(error);
        callback(error);
      },
    );
  }

  /** Every take of the consumer (flowing or not, Readable calls read()) wakes a read waiting for it. */
  override read(size?: number): any {
    const chunk: unknown = super.read(size);
    this.onTaken?.();
    return chunk;
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
    this.ramp?.close();
    for (const index of this.pinned) this.context.store.unpin(this.context.key, index);
    this.pinned.clear();
    if (!this.complete) for (const fetch of [...this.fetches, ...this.chunkFetches]) fetch.abandon();
    else for (const fetch of [...this.fetches, ...this.chunkFetches]) fetch.forget();
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
      this.lookAtLanes();
      if (this.lanes > 1) this.keepLanesBusy(false);
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
      // Whatever source serves this block, held blocks behind the reader are released here.
      this.enterBlock(index);

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
          if (byLink) this.trials.starved(Date.now() - waitFrom);
          if ((fill.state as FillState) === 'failed' && this.isOwn(fill)) throw fill.error ?? new Error('the upstream transfer failed');
          continue;
        }
      }
      if (fill?.state === 'failed' && this.isOwn(fill)) throw fill.error ?? new Error('the upstream transfer failed');
      const kept = this.keptFill(index);
      if (kept) {
        const piece = kept.read(this.position - blockStart, max);
        if (piece) {
          this.count(index, 'fill', kept);
          this.keepFetching();
          return piece;
        }
      }

      const piece = await this.readDisk(index, this.position - blockStart, max);
      if (piece) {
        this.count(index, 'disk');
        stats.bytesFromCache += piece.length;
        return piece;
      }
      // Another transfer may have claimed (or stored) the block while the disk was asked: look again.
      const claimed = registry.get(key, index);
      if ((claimed && claimed.state !== 'failed') || store.index.has(key, index)) continue;
      // In its first moments an open-ended read goes upstream only as far as its ramp allows.
      if (this.ramp && blockStart >= this.ramp.limit()) {
        await this.ramp.reach(blockStart, this.controller.signal);
        continue;
      }
      // This reader's own transfer claims blocks only as it is allowed to go on: let it reach this one.
      const own = this.fetches[this.fetches.length - 1];
      if (own?.reaches(index)) {
        own.want(blockEnd + 1);
        if (registry.get(key, index)?.source === own) continue;
      }
      // Neither in flight nor on disk: a read that came here from the cache first makes sure its
      // client wants these bytes.
      if (this.mayNotNeed(index)) {
        this.waitedAt = index;
        await waitForConsumer(this, {
          blockPresent: () => registry.get(key, index) !== undefined || store.index.has(key, index),
          readsStarted: () => this.context.readsStarted(),
          watchFile: (listener) => this.context.watchFile(listener),
          watchTaken: (listener) => {
            this.onTaken = listener;
            return () => (this.onTaken = undefined);
          },
          signal: this.controller.signal,
        });
        continue;
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

  /**
   * Whether the upstream GET for missing block `index` could be for bytes this read's client never
   * takes: a media file (probed again on every library scan), the read got here past its first
   * byte (its client is not waiting for a first byte) and
   * its client has not shown that it reads on (window not grown: it took less than what socket
   * buffers hold, or it is not a sequential follow-on read).
   */
  private mayNotNeed(index: number): boolean {
    if (!this.context.mediaFile || index === this.waitedAt || this.position <= this.start) return false;
    return this.window <= this.context.blockSize;
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
    // A reader far into a block (a seek) starts its GET at its own byte: its first byte does not
    // wait for the block's head, which a background GET fetches so the block is still stored whole.
    const into = this.position - index * this.context.blockSize;
    const at = into >= SEEK_INTO_BLOCK ? this.position : undefined;
    const ramp = this.ramp;
    const bound = ramp && !ramp.isOver ? () => ramp.requestLimit() : undefined;
    const fetch = this.context.startFetch(index, this.context.extentEnd, this.aheadLimit(), 'interactive', at, bound);
    this.fetches.push(fetch);
    return fetch;
  }

  /**
   * A block one of this reader's own transfers fetched and still holds for it (stored or not).
   * Only the paced transfers keep blocks: chunk transfers of parallel streams forget theirs.
   */
  private keptFill(index: number): BlockFill | undefined {
    for (const fetch of this.fetches) {
      const fill = fetch.keptFill(index);
      if (fill) return fill;
    }
    return undefined;
  }

  /** The reader moved into block `index`: its transfers let go of the blocks it left behind. */
  private enterBlock(index: number): void {
    if (index === this.passedBlock) return;
    this.passedBlock = index;
    for (const fetch of this.fetches) fetch.passed(index);
  }

  private isOwn(fill: BlockFill): boolean {
    return this.fetches.some((fetch) => fetch === fill.source) || this.chunkFetches.some((fetch) => fetch === fill.source);
  }

  private limitHits(): number {
    let hits = this.retiredLimitPauses;
    for (const fetch of this.fetches) hits += fetch.limitPauses;
    for (const fetch of this.chunkFetches) hits += fetch.limitPauses;
    return hits;
  }

  /** At the end of each piece: the lane trials look at the reader's progress, and the reader follows their call. */
  private lookAtLanes(): void {
    const action = this.trials.look({
      position: this.position,
      end: this.end,
      window: this.window,
      limitHits: this.limitHits(),
      fetchedThrough: () => this.fetchedThrough(),
    });
    if (action === 'none') return;
    this.keepFetching();
    if (action === 'refill') this.keepLanesBusy(true);
  }

  /** Last byte (inclusive) this reader finds cached or on its way from its position on, running chunks included. */
  private fetchedThrough(): number {
    const { blockSize, key, registry, store, size } = this.context;
    const last = Math.min(this.end, size - 1);
    let index = Math.floor(this.position / blockSize);
    while (index * blockSize <= last && (store.index.has(key, index) || registry.get(key, index))) index += 1;
    let through = Math.min(last, index * blockSize - 1);
    for (const fetch of this.chunkFetches) if (fetch.isRunning) through = Math.max(through, fetch.end);
    return through;
  }

  private get lanes(): number {
    return this.trials.lanes;
  }

  /** Bytes one connection fetches at a time when several share the window. */
  private chunkSize(): number {
    return chunkSize(this.window, this.lanes, this.context.blockSize);
  }

  /** How far ahead of the reader its own transfer may run: the window, or with parallel streams one chunk of it. */
  private ownWindow(): number {
    return this.lanes > 1 ? Math.min(this.window, this.chunkSize()) : this.window;
  }

  /**
   * Keeps up to `lanes` transfers running for this reader: its own (the chunk under the reader)
   * and chunk transfers over the first missing blocks of the window ahead, at background priority
   * and only while the file and the account have a connection to spare (interactive when the
   * missing block is the reader's). Runs when the reader enters a block, when a chunk ends
   * (`force`) and when the lanes grow.
   */
  private keepLanesBusy(force: boolean): void {
    if (this.destroyed || this.complete || this.controller.signal.aborted) return;
    const { blockSize, key, registry, store, size } = this.context;
    const index = Math.floor(this.position / blockSize);
    if (!force && index === this.lanesCheckedAt) return;
    this.lanesCheckedAt = index;
    for (let at = this.chunkFetches.length - 1; at >= 0; at -= 1) {
      if (this.chunkFetches[at].isRunning) continue;
      this.retiredLimitPauses += this.chunkFetches[at].limitPauses;
      this.chunkFetches.splice(at, 1);
    }
    // One lane (again, after an undone trial) is the reader's own transfer: nextPiece starts it.
    if (this.lanes === 1) return;
    const chunkBlocks = Math.max(1, Math.floor(this.chunkSize() / blockSize));
    // Never beyond the read-ahead window (nor the read's extent): the bound on bytes fetched for nothing.
    const lastByte = Math.min(this.end, this.context.extentEnd, size - 1, this.position + this.window - 1);
    const lastBlock = Math.floor(lastByte / blockSize);
    const finalBlock = Math.floor(Math.min(this.end, this.context.extentEnd, size - 1) / blockSize);
    const own = this.fetches.some((fetch) => fetch.isRunning) ? 1 : 0;
    let missing = index;
    let yielded = false;
    while (this.chunkFetches.length + own < this.lanes) {
      // Chunks started a moment ago hold no slot yet: count them, or a burst of starts overshoots.
      const room = this.context.mayOpenMore(this.chunkFetches.filter((fetch) => !fetch.hasOpened).length);
      if (room && !yielded) {
        // The reader's own transfer keeps one chunk ahead of the reader; what it claimed beyond
        // goes to the lanes (only when a lane can take it: else it stays on one connection).
        for (const fetch of this.fetches) fetch.yieldAfter(this.position + this.ownWindow());
        yielded = true;
      }
      while (missing <= lastBlock && (store.index.has(key, missing) || registry.get(key, missing))) missing += 1;
      if (missing > lastBlock) return;
      const underReader = missing === index;
      if (!underReader && !room) return;
      const last = Math.min(lastBlock, missing + chunkBlocks - 1);
      // A lane that keeps ahead of its reader finds, each time the reader enters a block, one more
      // missing block at the window's edge: a GET per block (a 1 GiB read on loopback made 400-670
      // GETs). A chunk the window's edge cuts short waits until the reader has moved a whole chunk.
      if (!underReader && last === lastBlock && last - missing + 1 < chunkBlocks && lastBlock < finalBlock) return;
      const through = Math.min(lastByte, (last + 1) * blockSize - 1);
      const fetch = this.context.startFetch(missing, through, through + 1, underReader ? 'interactive' : 'background');
      // Chunks run unpaced within the window: their blocks are read back from disk rather than held
      // in memory for this reader (which could hold a whole window per reader).
      fetch.forget();
      this.chunkFetches.push(fetch);
      // A doubling on trial takes effect once two connections run for this reader: the interval
      // under way holds the new connection's start, so judging begins with the next one.
      this.trials.connectionsRunning(own + this.chunkFetches.filter((chunk) => chunk.isRunning).length, this.position);
      void fetch.done.then(() => this.keepLanesBusy(true));
      missing = last + 1;
    }
  }

  private keepFetching(): void {
    const last = this.fetches[this.fetches.length - 1];
    last?.want(this.aheadLimit());
  }

  /** How far (exclusive) this reader's own transfer may run now: its window ahead, within the start-up ramp. */
  private aheadLimit(): number {
    return Math.min(this.position + this.ownWindow(), this.ramp?.limit() ?? Number.POSITIVE_INFINITY);
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
