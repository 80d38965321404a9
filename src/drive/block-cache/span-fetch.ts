/**
 * One upstream ranged GET over a block-aligned span of a file, through the same resumable reader
 * as uncached reads (invisible resume, link reuse). Every block of the span it has claimed is fed
 * to its BlockFill (readers get bytes as they arrive) and written to disk; blocks of the span that
 * were already cached or claimed by another transfer just pass through. This is what keeps "one
 * client range = one upstream GET" when the range spans several missing blocks.
 *
 * Pacing: the transfer runs only up to `limit` (its reader's position plus the read-ahead window),
 * so a slow client does not make us download the whole file into the cache; readers raise it with
 * `want`. A transfer whose reader finished keeps going to the end of its span (read-ahead), and is
 * cancelled when its reader leaves early or seeks elsewhere.
 */
import type { Readable } from 'node:stream';
import { resumableRead } from '../resumable-read.js';
import { BlockFill, type FillSource } from './block-fill.js';
import type { BlockStore, BlockWriter } from './block-store.js';
import type { CacheStats } from './stats.js';

export type FetchPriority = 'interactive' | 'background';

export interface SpanOpener {
  (range: { start: number; end: number }, context: { attempt: number; signal: AbortSignal; priority: FetchPriority }): Promise<Readable>;
}

/** In-flight blocks of every file, so concurrent readers of one missing block share one transfer. */
export class FillRegistry {
  private readonly files = new Map<string, Map<number, BlockFill>>();

  get(key: string, index: number): BlockFill | undefined {
    return this.files.get(key)?.get(index);
  }

  set(fill: BlockFill): void {
    let blocks = this.files.get(fill.key);
    if (!blocks) this.files.set(fill.key, (blocks = new Map()));
    blocks.set(fill.index, fill);
  }

  /** Removes the entry only if it is still `fill` (a newer transfer may have claimed the block since). */
  delete(fill: BlockFill): void {
    const blocks = this.files.get(fill.key);
    if (blocks?.get(fill.index) !== fill) return;
    blocks.delete(fill.index);
    if (blocks.size === 0) this.files.delete(fill.key);
  }
}

export interface SpanFetchOptions {
  key: string;
  meta: { size: number; urlHash: string };
  blockSize: number;
  firstBlock: number;
  lastBlock: number;
  /** The blocks (within the span) this transfer must produce; others pass through. */
  claimed: number[];
  store: BlockStore;
  registry: FillRegistry;
  stats: CacheStats;
  open: SpanOpener;
  priority: FetchPriority;
  maxResumes: number;
  /** Initial pacing limit (exclusive byte position). */
  limit: number;
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
  private position: number;
  private limit: number;
  private readonly fills = new Map<number, BlockFill>();
  private readonly writers = new Map<number, BlockWriter>();
  private readonly controller = new AbortController();
  private readonly stream: Readable;
  private pendingWrites = 0;
  /** Set by truncate or abandon: the last byte still wanted. */
  private stopAt = Number.MAX_SAFE_INTEGER;
  /** How far readers other than the owner asked this transfer to go (exclusive). */
  private othersWant = 0;
  private paused = false;
  private over = false;
  private resolveDone!: () => void;
  private resolveOpened!: () => void;
  private rejectOpened!: (error: Error) => void;

  constructor(private readonly options: SpanFetchOptions) {
    const { blockSize, meta } = options;
    this.start = options.firstBlock * blockSize;
    this.end = Math.min(meta.size, (options.lastBlock + 1) * blockSize) - 1;
    this.position = this.start;
    this.limit = Math.min(this.end + 1, Math.max(options.limit, this.start + blockSize));
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    this.opened = new Promise((resolve, reject) => {
      this.resolveOpened = resolve;
      this.rejectOpened = reject;
    });
    this.opened.catch(() => {});
    for (const index of options.claimed) {
      const expected = Math.min(blockSize, meta.size - index * blockSize);
      const fill = new BlockFill(options.key, index, expected, this);
      this.fills.set(index, fill);
      options.registry.set(fill);
    }
    options.stats.upstreamRequests += 1;
    if (options.priority === 'background') options.stats.backgroundRequests += 1;
    this.stream = resumableRead({
      start: this.start,
      end: this.end,
      maxResumes: options.maxResumes,
      signal: this.controller.signal,
      open: (part, context) => options.open(part, { attempt: context.attempt, signal: context.signal, priority: options.priority }),
    });
    this.stream.on('data', (chunk: Buffer) => this.onData(chunk));
    this.stream.once('end', () => this.finish(undefined));
    this.stream.once('error', (error: Error) => this.finish(error));
  }

  get isRunning(): boolean {
    return !this.over;
  }

  /**
   * Lets the transfer run at least up to `position` (exclusive). `byOther`: asked by a reader that
   * shares this transfer without owning it; the transfer then outlives its owner up to there.
   */
  want(position: number, byOther = false): void {
    const target = Math.min(this.end + 1, position);
    if (byOther && target > this.othersWant) this.othersWant = target;
    if (target > this.limit) this.limit = target;
    this.maybeResume();
  }

  /**
   * The owner left early (client disconnect): stop now, unless other readers are waiting on this
   * transfer's blocks, in which case it goes on only as far as they asked.
   */
  abandon(): void {
    if (this.over) return;
    if (this.othersWant <= this.position) {
      this.cancel();
      return;
    }
    this.stopAt = Math.min(this.stopAt, this.blockEndOf(this.othersWant - 1));
  }

  /** The reader got all it asked for: finish the span (the rest is read-ahead). */
  release(): void {
    this.want(this.end + 1);
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
    if (stop < this.position) this.cancel('the reader seeked elsewhere');
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

  /** Stops the transfer now; blocks not complete yet are not cached. */
  cancel(reason = 'the reader went away'): void {
    if (this.over) return;
    this.controller.abort();
    this.stream.destroy();
    this.finish(new Error(`read cancelled: ${reason}`));
  }

  private onData(chunk: Buffer): void {
    if (this.over) return;
    this.resolveOpened();
    this.options.stats.bytesFetched += chunk.length;
    const { blockSize } = this.options;
    let offset = 0;
    while (offset < chunk.length) {
      const index = Math.floor(this.position / blockSize);
      const blockEnd = Math.min(this.options.meta.size, (index + 1) * blockSize);
      const piece = chunk.subarray(offset, offset + Math.min(chunk.length - offset, blockEnd - this.position));
      const fill = this.fills.get(index);
      if (fill && fill.state === 'filling') {
        fill.append(piece);
        this.pendingWrites += piece.length;
        this.writerFor(index).write(piece);
        if ((fill.state as string) === 'done') this.complete(fill);
      }
      this.position += piece.length;
      offset += piece.length;
      if (this.position > this.stopAt) {
        this.cancel('the reader seeked elsewhere');
        return;
      }
    }
    // Never pause once the span is complete: the stream must flow to emit its 'end'.
    if (this.position <= this.end && (this.position >= this.limit || this.pendingWrites > 2 * blockSize)) {
      this.paused = true;
      this.stream.pause();
    }
  }

  private writerFor(index: number): BlockWriter {
    let writer = this.writers.get(index);
    if (!writer) {
      writer = this.options.store.createWriter(this.options.key, index, this.options.meta, (bytes) => {
        this.pendingWrites -= bytes;
        this.maybeResume();
      });
      this.writers.set(index, writer);
    }
    return writer;
  }

  private maybeResume(): void {
    if (!this.paused || this.over) return;
    if (this.position < this.limit && this.pendingWrites <= 2 * this.options.blockSize) {
      this.paused = false;
      this.stream.resume();
    }
  }

  /** The block is whole in memory: readers already have it; it leaves the registry once on disk. */
  private complete(fill: BlockFill): void {
    const writer = this.writers.get(fill.index)!;
    this.writers.delete(fill.index);
    this.fills.delete(fill.index);
    void writer.commit().then(
      () => this.options.registry.delete(fill),
      () => this.options.registry.delete(fill),
    );
  }

  private finish(error: Error | undefined): void {
    if (this.over) return;
    this.over = true;
    const failure = error ?? (this.fills.size > 0 ? new Error('the upstream transfer ended before its span') : undefined);
    this.error = failure;
    for (const fill of this.fills.values()) {
      fill.fail(failure ?? new Error('transfer over'));
      this.options.registry.delete(fill);
    }
    this.fills.clear();
    for (const writer of this.writers.values()) writer.abort();
    this.writers.clear();
    if (failure) this.rejectOpened(failure);
    else this.resolveOpened();
    this.resolveDone();
  }
}
