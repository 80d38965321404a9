/**
 * One upstream ranged GET over a block-aligned span of a file, through the same resumable reader
 * as uncached reads (invisible resume, link reuse). Every block of the span it has claimed is fed
 * to its BlockFill (readers get bytes as they arrive) and written to disk. This is what keeps "one
 * client range = one upstream GET" when the range spans several missing blocks.
 *
 * Pacing: the transfer runs only up to `limit` (its reader's position plus the read-ahead window),
 * so a slow client does not make us download the whole file into the cache; readers raise it with
 * `want`. A transfer whose reader finished keeps going to the end of its span (read-ahead), and is
 * cancelled when its reader leaves early or seeks elsewhere.
 *
 * Claims follow the pacing limit: a transfer claims a block only once it is allowed to fetch it.
 * A block far ahead of a stalled reader stays unclaimed, so another request for it (ffprobe asking
 * for the tail while its first connection, `bytes=0-`, stays open and unread) starts its own
 * upstream range at once instead of waiting for this transfer to stream the whole file. When the
 * next block to claim is already cached or claimed by another transfer, this one stops before it.
 *
 * Upstream requests of a span that runs to the end of the file (an open-ended read) follow the
 * pacing limit too: each GET asks only up to twice the allowance it had when it opened (limit
 * minus the byte reached, at least a block), and the next GET opens only once a reader raised the
 * limit past it. A paused GET still fills the kernel's socket buffers on both sides
 * (several MiB on loopback, all of it served by the download host): an open-ended request made
 * a held `bytes=0-` head cost those buffers on top of its window.
 */
import type { Readable } from 'node:stream';
import { resumableRead, type ResumableReadOptions } from '../resumable-read.js';
import { BlockFill, type FillSource } from './block-fill.js';
import type { AlignedSlots } from './block-memory.js';
import type { BlockStore } from './block-store.js';
import type { CacheStats } from './stats.js';

/** Cached blocks a transfer streams through again to reach a missing block behind them (rather than open a second GET). */
const PASS_THROUGH_BLOCKS = 8;
/** How long a block that could not be stored waits in memory for the reader behind its transfer. */
const UNSTORED_KEEP_MS = 30_000;

export type FetchPriority = 'interactive' | 'background';

export interface SpanOpener {
  (range: { start: number; end: number }, context: { attempt: number; signal: AbortSignal; priority: FetchPriority }): Promise<Readable>;
}

/** In-flight blocks of every file, so concurrent readers of one missing block share one transfer. */
export class FillRegistry {
  private readonly files = new Map<string, Map<number, BlockFill>>();

  /** @param onClaim told the file key each time a transfer claims a block of it (reads waiting for that block wake). */
  constructor(private readonly onClaim: (key: string) => void = () => {}) {}

  get(key: string, index: number): BlockFill | undefined {
    return this.files.get(key)?.get(index);
  }

  set(fill: BlockFill): void {
    let blocks = this.files.get(fill.key);
    if (!blocks) this.files.set(fill.key, (blocks = new Map()));
    const previous = blocks.get(fill.index);
    if (previous !== fill) {
      blocks.set(fill.index, fill);
      fill.registered = true;
      fill.retain();
      if (previous) {
        previous.registered = false;
        previous.release();
      }
    }
    this.onClaim(fill.key);
  }

  /** Removes the entry only if it is still `fill` (a newer transfer may have claimed the block since). */
  delete(fill: BlockFill): void {
    const blocks = this.files.get(fill.key);
    if (blocks?.get(fill.index) !== fill) return;
    blocks.delete(fill.index);
    if (blocks.size === 0) this.files.delete(fill.key);
    fill.registered = false;
    fill.release();
  }
}

export interface SpanFetchOptions {
  key: string;
  meta: { size: number; urlHash: string };
  blockSize: number;
  firstBlock: number;
  /**
   * Where the upstream GET starts, inside `firstBlock` (default: its first byte). A cold seek starts
   * at the byte it wants; the head of that block then comes from a second, background GET.
   */
  from?: number;
  /** The last block the transfer may reach (it stops earlier at a block that is cached or claimed). */
  lastBlock: number;
  store: BlockStore;
  registry: FillRegistry;
  stats: CacheStats;
  open: SpanOpener;
  priority: FetchPriority;
  maxResumes: number;
  /** Initial pacing limit (exclusive byte position). */
  limit: number;
  /**
   * The read this transfer serves runs to the end of the file (an open-ended client range): its
   * GETs follow the pacing limit even when the span itself ends earlier, at a cached tail.
   * Default: the span reaches the file's last byte.
   */
  openEnded?: boolean;
  /**
   * Exclusive byte position no GET of this transfer asks beyond (the block in progress always may
   * be asked): the start-up ramp of its reader (start-ramp.ts), read when each GET opens.
   */
  requestBound?: () => number;
  /** Where the upstream connection goes while paused, so it can be closed for a waiting caller (upstream-connections.ts). */
  parking?: ResumableReadOptions['parking'];
  /** Pooled block buffers for the bytes in flight (block-memory.ts); none: fills keep the chunks. */
  memory?: AlignedSlots;
  /**
   * A reader owns this transfer and lets go of what it keeps (`passed`, `forget`): whole blocks are
   * kept in memory for it. Default false: a transfer with no reader (tail warming, read-ahead past
   * a read) keeps nothing, since nothing would ever let go of it (a kept block holds its pooled buffer).
   */
  keepForReader?: boolean;
}

export class SpanFetch implements FillSource {
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
  /** Settles when the transfer is over (complete, failed or cancelled); never rejects. */
  readonly done: Promise<void>;
  /** Resolves once the first byte arrived (or the span completed); rejects if the transfer failed before that. */
  readonly opened: Promise<void>;
  /** Why the transfer ended early, if it did (cancellation included). */
  error: Error | undefined;
  /** Times the transfer paused at its pacing limit: its reader, not the link, was the slower one. */
  limitPauses = 0;
  private position: number;
  private limit: number;
  private readonly fills = new Map<number, BlockFill>();
  /**
   * Whole blocks of this transfer its owner has not read past yet. The owner is served them from
   * memory even once they left the registry (stored): reading every block back from disk cost
   * an open, reads and a close per block on a sequential read. At most the pacing window is held.
   */
  private readonly kept = new Map<number, BlockFill>();
  private keeping: boolean;
  /** The head of the first block, when the span starts inside it. */
  private head: Readable | undefined;
  private headPending = false;
  private streamEnded = false;
  private readonly controller = new AbortController();
  /** The upstream GET in progress; undefined between two GETs, or when there was nothing to claim. */
  private stream: Readable | undefined;
  /** Last byte (inclusive) the GET in progress asked for. */
  private requestEnd = -1;
  private pendingWrites = 0;
  /** Set by truncate or abandon: the last byte still wanted. */
  private stopAt = Number.MAX_SAFE_INTEGER;
  /** How far readers other than the owner asked this transfer to go (exclusive). */
  private othersWant = 0;
  private paused = false;
  private over = false;
  private firstByte = false;
  /** The next block to claim (blocks before it are claimed by this transfer, or it stopped before them). */
  private nextClaim: number;
  private resolveDone!: () => void;
  private resolveOpened!: () => void;
  private rejectOpened!: (error: Error) => void;

  constructor(private readonly options: SpanFetchOptions) {
    const { blockSize, meta } = options;
    const firstByte = options.firstBlock * blockSize;
    this.start = options.from !== undefined && options.from > firstByte && options.from < firstByte + blockSize ? options.from : firstByte;
    this.end = Math.min(meta.size, (options.lastBlock + 1) * blockSize) - 1;
    this.position = this.start;
    this.keeping = options.keepForReader ?? false;
    this.limit = Math.min(this.end + 1, Math.max(options.limit, firstByte + blockSize));
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.opened = new Promise((resolve, reject) => {
      this.resolveOpened = resolve;
      this.rejectOpened = reject;
    });
    this.opened.catch(() => {});
    this.nextClaim = options.firstBlock;
    this.claimThrough(this.limit);
    if (this.fills.size === 0) {
      this.stream = undefined;
      this.finish(undefined);
      return;
    }
    this.openRequest();
    const first = this.fills.get(options.firstBlock);
    if (first && first.headBytes > 0) {
      // The head's GET starts once the seek's own GET has its first byte: started together, the two
      // share the link and the download host, and the seek's first byte waited for the head's.
      this.headPending = true;
      this.opened.then(
        () => {
          if (!this.over && this.headPending && this.fills.get(first.index) === first) this.fetchHead(first, firstByte);
        },
        () => {},
      );
    }
  }

  /**
   * One upstream GET from the byte reached: over the whole span when it ends before the file does
   * (a closed client range), else (open-ended) twice the allowance (limit minus the byte reached,
   * at least a block), block-aligned: a sustained reader's window makes few large GETs, a stalled
   * one leaves at most about its window more in flight. (One block past the limit made twice as
   * many GETs and bench row M3 ran at 29 MB/s instead of 50.) Never beyond `requestBound` (the
   * reader's start-up ramp): a held ffprobe head's first GET is one block, not two.
   */
  private openRequest(): void {
    const { blockSize, priority, meta } = this.options;
    // A span short of the file's end is what a client asked for (plus a bounded extension): one GET.
    // An open-ended read whose span stops before a cached tail is still open-ended: paced GETs
    // (one GET to the cached tail cost a repeated AVI probe 26 MiB of range and 4 MiB served).
    const paced = this.options.openEnded ?? this.end === meta.size - 1;
    const allowance = Math.max(blockSize, this.limit - this.position);
    const ahead = paced ? this.blockEndOf(this.position + 2 * allowance - 1) : this.end;
    const bound = this.options.requestBound?.() ?? Number.POSITIVE_INFINITY;
    const ramp = Number.isFinite(bound) ? this.blockEndOf(Math.max(this.position, bound - 1)) : Number.POSITIVE_INFINITY;
    const end = Math.min(this.end, this.stopAt, ahead, ramp);
    const stream = this.upstreamRange(this.position, end, priority, this.options.parking);
    this.stream = stream;
    this.requestEnd = end;
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.once('end', () => this.requestEnded(stream));
    stream.once('error', (error: Error) => {
      if (stream === this.stream) this.finish(error);
    });
  }

  /** A GET delivered all it asked: the span is complete, or the next GET waits for the limit. */
  private requestEnded(stream: Readable): void {
    if (stream !== this.stream || this.over) return;
    this.stream = undefined;
    if (this.position > Math.min(this.end, this.stopAt)) {
      this.streamEnded = true;
      if (!this.headPending) this.finish(undefined);
      return;
    }
    this.paused = true;
    this.maybeResume();
  }

  /** One resumable upstream GET of bytes [start, end] (inclusive), counted in the cache's stats. */
  private upstreamRange(start: number, end: number, priority: FetchPriority, parking?: ResumableReadOptions['parking']): Readable {
    const { stats, open, maxResumes } = this.options;
    stats.upstreamRequests += 1;
    if (priority === 'background') stats.backgroundRequests += 1;
    return resumableRead({
      start,
      end,
      maxResumes,
      signal: this.controller.signal,
      parking,
      open: (part, context) => open(part, { attempt: context.attempt, signal: context.signal, priority }),
    });
  }

  /**
   * The bytes of the first block before the span's start, at background priority: the client's
   * first byte does not wait for them, but the block is stored whole (a repeat of the seek, or a
   * read of the block's start, is then served from disk).
   */
  private fetchHead(fill: BlockFill, firstByte: number): void {
    this.headPending = true;
    // No parking: the head is read at once, never held idle for a reader.
    const head = this.upstreamRange(firstByte, this.start - 1, 'background');
    this.head = head;
    head.on('data', (chunk: Buffer) => {
      if (this.over) return;
      this.options.stats.bytesFetched += chunk.length;
      fill.appendHead(chunk);
      if (fill.state === 'done' && this.fills.get(fill.index) === fill) this.complete(fill);
    });
    const settled = (error?: Error) => {
      if (!this.headPending) return;
      this.headPending = false;
      this.head = undefined;
      if (error) {
        // The block cannot be whole: its main bytes served whoever read them; it is not stored.
        if (this.fills.get(fill.index) === fill) {
          this.fills.delete(fill.index);
          this.pendingWrites -= fill.length;
          fill.fail(error);
          this.options.registry.delete(fill);
          fill.release();
        }
      }
      if (this.streamEnded) this.finish(undefined);
    };
    head.once('end', () => settled());
    head.once('error', (error: Error) => settled(error));
  }

  get waitingForDisk(): boolean {
    return this.paused && !this.over && this.position < this.limit;
  }

  /** The first byte arrived (so its connection holds its slots), or the transfer is over. */
  get hasOpened(): boolean {
    return this.firstByte || this.over;
  }

  get isRunning(): boolean {
    return !this.over;
  }

  /** Whether this transfer, still running, will pass through block `index` if allowed to go on. */
  reaches(index: number): boolean {
    const blockStart = index * this.options.blockSize;
    return !this.over && blockStart >= this.position - (this.position % this.options.blockSize) && blockStart <= Math.min(this.end, this.stopAt);
  }

  /**
   * Lets the transfer run at least up to `position` (exclusive). `byOther`: asked by a reader that
   * shares this transfer without owning it; the transfer then outlives its owner up to there.
   */
  want(position: number, byOther = false): void {
    const target = Math.min(this.end + 1, position);
    if (byOther && target > this.othersWant) this.othersWant = target;
    if (target > this.limit) {
      this.limit = target;
      this.claimThrough(target);
    }
    this.maybeResume();
  }

  /**
   * Claims the blocks up to the one holding byte `position - 1`. It stops before a block another
   * transfer is fetching (bytes are never fetched twice at once) and before a cached block, unless
   * a missing block follows within a few blocks: passing those cached bytes through again costs
   * less than a second GET.
   */
  private claimThrough(position: number): void {
    if (this.over) return;
    const { blockSize, key, meta, registry, store } = this.options;
    const last = Math.min(this.options.lastBlock, Math.floor((Math.min(position, this.end + 1) - 1) / blockSize));
    for (; this.nextClaim <= last; this.nextClaim += 1) {
      const index = this.nextClaim;
      if (this.stopAt < index * blockSize) return;
      if (this.claimedElsewhere(index)) return this.stopBefore(index);
      if (this.isAvailable(index)) {
        const next = this.nextMissingAfter(index);
        if (next === undefined || this.claimedElsewhere(next)) return this.stopBefore(index);
        this.nextClaim = next - 1;
        continue;
      }
      // Bytes of this block already went by (a block is only ever filled from its first byte, or
      // from the span's start for its first block): it cannot be claimed by this transfer.
      if (this.position > Math.max(this.start, index * blockSize)) continue;
      const headBytes = index === this.options.firstBlock ? this.start - index * blockSize : 0;
      const fill = new BlockFill(key, index, Math.min(blockSize, meta.size - index * blockSize), this, headBytes, this.options.memory);
      fill.retain();
      this.fills.set(index, fill);
      registry.set(fill);
    }
  }

  /** Another transfer is fetching this block now. */
  private claimedElsewhere(index: number): boolean {
    const other = this.options.registry.get(this.options.key, index);
    return other !== undefined && other.state === 'filling' && other.source !== this;
  }

  /** Cached, or whole in memory on its way to disk. */
  private isAvailable(index: number): boolean {
    return this.options.store.index.has(this.options.key, index) || this.options.registry.get(this.options.key, index)?.state === 'done';
  }

  /** The first block after `index` (within the span and PASS_THROUGH_BLOCKS) that is not cached. */
  private nextMissingAfter(index: number): number | undefined {
    const last = Math.min(this.options.lastBlock, index + PASS_THROUGH_BLOCKS);
    for (let next = index + 1; next <= last; next += 1) if (!this.isAvailable(next)) return next;
    return undefined;
  }

  private stopBefore(index: number): void {
    this.stopAt = Math.min(this.stopAt, index * this.options.blockSize - 1);
    this.limit = Math.min(this.limit, this.stopAt + 1);
    // Already there (paused at its limit or between two GETs, every claimed block whole): no byte
    // will come to end it, so end it now, or it holds an idle connection (and a lane) until its
    // reader ends, and whoever settles the cache waits for it.
    if (this.position > this.stopAt) queueMicrotask(() => this.stop());
  }

  /**
   * The owner left early (client disconnect): stop now, unless other readers are waiting on this
   * transfer's blocks, in which case it goes on only as far as they asked.
   */
  abandon(): void {
    this.forget();
    if (this.over) return;
    // The block in progress holds the last bytes the reader got: finish it so a repeat of the same
    // read (a media server probing the file again) is served from disk. The block after it too
    // when the GET in progress already asked for it: the download host has mostly sent those
    // bytes already (they sit in the socket buffers between us, paid for), and a repeat whose
    // client's buffers swallow a little more than this time's then still finds them on disk.
    // At most two blocks more, and never a new GET.
    const { blockSize } = this.options;
    const current = this.position % blockSize === 0 ? this.position - 1 : this.blockEndOf(this.position);
    const next = this.stream && current + 1 <= this.end ? this.blockEndOf(current + 1) : -1;
    const inFlight = next >= 0 && this.requestEnd >= next ? next : -1;
    const stop = Math.max(current, inFlight, this.othersWant > this.position ? this.blockEndOf(this.othersWant - 1) : -1);
    if (stop < this.position) {
      this.cancelKeepingHead('the reader went away');
      return;
    }
    this.stopAt = Math.min(this.stopAt, stop);
    this.want(stop + 1);
  }

  /**
   * Parallel streams: gives back the blocks claimed beyond byte `position` (rounded up to its
   * block's end; never the block in progress nor what other readers asked for) that no byte has
   * reached yet, so other connections can fetch them; this transfer then ends after what it keeps.
   */
  yieldAfter(position: number): void {
    if (this.over) return;
    const keep = Math.max(this.blockEndOf(Math.max(position - 1, this.position)), this.othersWant > 0 ? this.blockEndOf(this.othersWant - 1) : -1);
    if (keep >= Math.min(this.stopAt, this.end)) return;
    const { blockSize, registry } = this.options;
    for (const [index, fill] of this.fills) {
      if (index * blockSize <= keep || fill.length > 0) continue;
      this.fills.delete(index);
      registry.delete(fill);
      // A reader other than the owner waiting on it looks again and finds the new transfer.
      fill.fail(new Error('handed to another connection'));
      fill.release();
    }
    this.stopAt = keep;
    this.limit = Math.min(this.limit, keep + 1);
    if (this.stream && this.position > this.stopAt) queueMicrotask(() => this.stop());
  }

  /** The reader got all it asked for: finish the span (the rest is read-ahead). */
  release(): void {
    this.forget();
    this.want(this.end + 1);
  }

  /** A whole block of this transfer still held for its owner, if any. */
  keptFill(index: number): BlockFill | undefined {
    return this.kept.get(index);
  }

  /** The owner reads block `index` now: the blocks before it are let go. */
  passed(index: number): void {
    for (const [block, fill] of this.kept) {
      if (block >= index) continue;
      this.kept.delete(block);
      fill.release();
    }
  }

  /**
   * The pool of block buffers is empty: lets go of the kept block furthest ahead of the reader
   * that is on disk already and held by nothing else (the reader reads it from disk when it gets
   * there). A slow reader's read-ahead would otherwise hold the whole pool. Returns true if one was let go.
   */
  releaseStoredKept(): boolean {
    let furthest: BlockFill | undefined;
    for (const fill of this.kept.values()) if (fill.stored && fill.pooled && fill.holders === 1 && (!furthest || fill.index > furthest.index)) furthest = fill;
    if (!furthest) return false;
    this.kept.delete(furthest.index);
    furthest.release();
    return true;
  }

  /** The owner is gone or done: hold nothing more for it. */
  forget(): void {
    this.keeping = false;
    for (const fill of this.kept.values()) fill.release();
    this.kept.clear();
  }

  /**
   * Stops the read-ahead at the end of the block in progress (it may hold the end of what a reader
   * just got: finishing it keeps that block cached). Returns true when blocks were given up.
   */
  truncate(): boolean {
    if (this.over) return false;
    const current = Math.min(this.end, Math.ceil(this.position / this.options.blockSize) * this.options.blockSize - 1);
    const stop = Math.max(current, this.othersWant > 0 ? this.blockEndOf(this.othersWant - 1) : -1);
    const givesUp = stop < this.end;
    if (stop < this.position) this.cancelKeepingHead('the reader seeked elsewhere');
    else {
      this.stopAt = Math.min(this.stopAt, stop);
      this.want(stop + 1);
    }
    return givesUp;
  }

  private blockEndOf(position: number): number {
    const { blockSize } = this.options;
    return Math.min(this.end, (Math.floor(position / blockSize) + 1) * blockSize - 1);
  }

  /** Ends the transfer where it was asked to stop; only blocks claimed beyond that point fail. */
  private stop(): void {
    if (this.over) return;
    if (this.headPending) {
      // The span's last wanted byte arrived while the head of its first block is still coming.
      this.streamEnded = true;
      const stream = this.stream;
      this.stream = undefined;
      stream?.destroy();
      return;
    }
    this.controller.abort();
    this.stream?.destroy();
    this.finish(undefined);
  }

  /**
   * Cancels, except for the head of the first block when the rest of that block is already here:
   * the head is less than a block and makes the block the reader just got whole and stored.
   */
  private cancelKeepingHead(reason: string): void {
    if (this.headPending && this.fills.get(this.options.firstBlock)?.mainComplete) {
      this.stopAt = Math.min(this.stopAt, this.position - 1);
      this.stop();
      return;
    }
    this.cancel(reason);
  }

  /** Stops the transfer now; blocks not complete yet are not cached. */
  cancel(reason = 'the reader went away'): void {
    if (this.over) return;
    this.controller.abort();
    this.stream?.destroy();
    this.head?.destroy();
    this.finish(new Error(`read cancelled: ${reason}`));
  }

  private onData(chunk: Buffer): void {
    if (this.over) return;
    this.firstByte = true;
    this.resolveOpened();
    this.options.stats.bytesFetched += chunk.length;
    const { blockSize } = this.options;
    let offset = 0;
    while (offset < chunk.length) {
      const index = Math.floor(this.position / blockSize);
      const blockEnd = Math.min(this.options.meta.size, (index + 1) * blockSize);
      const piece = chunk.subarray(offset, offset + Math.min(chunk.length - offset, blockEnd - this.position));
      let fill = this.fills.get(index);
      // A chunk that straddles the pacing limit brings the first bytes of the next, unclaimed block:
      // claim it now (if no one else has it) rather than drop them. A block claimed after its first
      // bytes went by could never be whole, and its reader would wait for them forever.
      if (!fill && index >= this.nextClaim && this.position === index * blockSize) {
        this.claimThrough(blockEnd);
        fill = this.fills.get(index);
      }
      if (fill && fill.state === 'filling') {
        fill.append(piece);
        this.pendingWrites += piece.length;
        if ((fill.state as string) === 'done') this.complete(fill);
      }
      this.position += piece.length;
      offset += piece.length;
      if (this.position > this.stopAt) {
        this.stop();
        return;
      }
    }
    // Never pause once the span is complete: the stream must flow to emit its 'end'.
    if (this.position <= this.end && (this.position >= this.limit || this.pendingWrites > 2 * blockSize)) {
      if (this.position >= this.limit) this.limitPauses += 1;
      this.paused = true;
      this.stream?.pause();
    }
  }

  private maybeResume(): void {
    if (!this.paused || this.over || this.streamEnded) return;
    if (this.position < this.limit && this.pendingWrites <= 2 * this.options.blockSize) {
      this.paused = false;
      if (this.stream) this.stream.resume();
      else this.openRequest();
    }
  }

  /** The block is whole in memory: readers already have it; it leaves the registry once on disk. */
  private complete(fill: BlockFill): void {
    this.fills.delete(fill.index);
    if (this.keeping && !this.kept.has(fill.index)) {
      fill.retain();
      this.kept.set(fill.index, fill);
    }
    fill.retain();
    const { key, meta, store } = this.options;
    void store.storeBlock(key, fill.index, meta, fill.chunks(), fill.pooled).then((stored) => {
      this.pendingWrites -= fill.length;
      this.maybeResume();
      fill.stored = stored;
      if (stored) this.options.registry.delete(fill);
      else this.keepUnstored(fill);
      fill.release();
    });
    // The transfer's own hold (taken at the claim); the store, kept map and registry hold it now.
    fill.release();
  }

  /**
   * A block that could not be stored (full disk: pass-through) stays in memory for the readers
   * behind this transfer (at most a window ahead of them); the reader that passes it lets it go,
   * and a timer drops it if no reader comes.
   */
  private keepUnstored(fill: BlockFill): void {
    fill.unstored = true;
    // Kept for a while, but not in a pooled buffer: the pool is for blocks in flight (block-fill.ts).
    fill.unpool();
    setTimeout(() => this.options.registry.delete(fill), UNSTORED_KEEP_MS).unref();
  }

  private finish(error: Error | undefined): void {
    if (this.over) return;
    this.over = true;
    const failure = error ?? (this.fills.size > 0 ? new Error('the upstream transfer ended before its span') : undefined);
    this.error = failure;
    for (const fill of this.fills.values()) {
      fill.fail(failure ?? new Error('transfer over'));
      this.options.registry.delete(fill);
      fill.release();
    }
    this.fills.clear();
    this.head?.destroy();
    this.head = undefined;
    this.headPending = false;
    if (failure) this.rejectOpened(failure);
    else this.resolveOpened();
    this.resolveDone();
  }
}
