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
import { setTimeout as sleep } from 'node:timers/promises';
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
 * connection cannot keep fed. The read-ahead window ahead of the reader is shared out in chunks
 * among up to `lanes` connections: the reader's own transfer keeps the chunk under the reader,
 * each other connection fetches one chunk of what is still missing further on and ends. Chunks
 * never go beyond the window, so parallel streams fetch no byte that one connection would not
 * have fetched (a held ffprobe head costs the same); they only fetch it sooner. `lanes` doubles
 * each PROBE interval in which the reader spent at least half of the time waiting for the link
 * (bytes of its own transfers, not our disk) while none of its transfers waited for it.
 *
 * Waiting for the link does not prove that one connection is the limit: a busy bridge, a busy
 * download host or the client's own line shared by every connection look the same from here. So
 * every change of lanes is a trial, judged on the reader's rate once the change has taken effect:
 * a doubling stays when the rate rose by KEEP_GAIN, else it is undone and the next doubling waits
 * twice as long as the last (TRIAL_BACKOFF to start), the way a congestion window backs off. A
 * kept doubling is checked again later by halving the lanes (a rate measured early, while the
 * connection and the window were still starting, can make a doubling look useful): the halving
 * stays when the rate did not fall by KEEP_GAIN.
 */
const CHUNK = 8 * 1024 * 1024;
/** Rate (bytes per ms) after a doubling of lanes over the rate before it, for the doubling to stay. */
const KEEP_GAIN = 1.3;
/** The same, for a doubling kept after its first judged interval rather than its whole measure. */
const EARLY_GAIN = 1.6;
/**
 * A rate, before and after a change of lanes, is measured over at least this many intervals and
 * over at least two rounds of chunks (every lane fetching twice: chunks arrive in bursts, so one
 * interval alone swings between a stall and a burst).
 */
const TRIAL_INTERVALS = 2;
/** Bytes read before the next trial after one that ended; doubles with each trial that changed nothing. */
const TRIAL_BACKOFF = 32 * 1024 * 1024;
const PROBE = 1024 * 1024;
/**
 * An interval is also at least this long: a client's socket buffers take the first MiB in a burst
 * (a paced player looks link-bound then), and a wait worth a connection is longer than a hiccup.
 */
const PROBE_MS = 250;
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
/**
 * A read served from the cache that comes to a missing block, before its client has shown that it
 * reads on (its window has not grown), opens the upstream GET only once the client has taken every
 * byte the read pushed and then stayed this long without leaving, reading elsewhere in the file, or
 * the block turning up. The cache pushes at disk speed into socket buffers that hold megabytes
 * (their size varies with load), so without this a repeated probe ran past what the first one
 * stored while its client was about to close: an upstream GET for bytes no one consumed.
 */
const CONSUMER_GRACE_MS = 500;
/** How often a read waiting for its consumer looks again. */
const CONSUMER_POLL_MS = 25;

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
   * from a second, background GET); default the block's first byte.
   */
  startFetch(from: number, through: number, limit: number, priority?: 'interactive' | 'background', at?: number): SpanFetch;
  /** Upstream connections (parallel streams included) one reader may use at most; 1 = no parallel streams. */
  maxLanes: number;
  /** Whether one more connection for this file could open now without anyone waiting for it, beyond `opening` started and not open yet. */
  mayOpenMore(opening: number): boolean;
  /** Last block any transfer of this read should reach (range end plus read-ahead). */
  extentEnd: number;
  /** Reads of this file begun so far in this process (it moves when the client reads elsewhere in it). */
  readsStarted(): number;
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
  /** Parallel streams: how many may run, the chunk transfers started, and the current probe interval. */
  private lanes = 1;
  private readonly chunkFetches: SpanFetch[] = [];
  private probeFrom: number;
  /** Milliseconds this probe interval spent waiting for the link (bytes of its own transfers). */
  private probeStarvedMs = 0;
  private probeStartedAt = Date.now();
  private probeLimitHits = 0;
  private lanesCheckedAt = -1;
  private probes = 0;
  private starvedRun = 0;
  /**
   * A change of lanes on trial: the lanes before it, the reader's rate then (bytes per ms), and the
   * first byte of the first interval that shows its effect (what earlier lanes fetched ahead and
   * the new connections' start are not judged).
   */
  private trial:
    | {
        lanesBefore: number;
        rateBefore: number;
        before: Array<{ bytes: number; ms: number }>;
        judgeFrom: number;
        /** Bytes the rate after the change is measured over (fixed when the trial starts: the window grows meanwhile). */
        measure: number;
        bytes: number;
        ms: number;
        intervals: number;
      }
    | undefined;
  /** The last intervals at the current lanes, bytes and ms (a rate over two is steadier than one). */
  private recent: Array<{ bytes: number; ms: number }> = [];
  /** No doubling before the reader reaches this byte; the gap doubles with each undone one. */
  private noGrowthBefore = 0;
  private growthBackoff = TRIAL_BACKOFF;
  /** With more than one lane: when the lanes are next halved on trial; the gap doubles with each confirmation. */
  private recheckAt = 0;
  private recheckGap = 2 * TRIAL_BACKOFF;
  /** Limit pauses of chunk transfers that ended (so the count never goes back). */
  private retiredLimitPauses = 0;
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
    this.probeFrom = start;
    this.window = context.window;
    this.grownAt = start;
    this.start = start;
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
      this.probeLanes();
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
          if (byLink) this.probeStarvedMs += Date.now() - waitFrom;
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
      // This reader's own transfer claims blocks only as it is allowed to go on: let it reach this one.
      const own = this.fetches[this.fetches.length - 1];
      if (own?.reaches(index)) {
        own.want(blockEnd + 1);
        if (registry.get(key, index)?.source === own) continue;
      }
      // Neither in flight nor on disk: a read that came here from the cache first makes sure its
      // client wants these bytes.
      if (this.mayNotNeed(index)) {
        await this.waitForConsumer(index);
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

  /**
   * Waits until this read's consumer has taken every byte pushed (a client that stopped reading
   * never gets a GET for bytes it does not take), then CONSUMER_GRACE_MS more, restarted whenever
   * another read of the file begins (ffmpeg reads elsewhere while it holds this connection, and
   * closes it afterwards). Returns early when the block turns up; throws when the read is destroyed.
   */
  private async waitForConsumer(index: number): Promise<void> {
    this.waitedAt = index;
    const { key, registry, store } = this.context;
    const signal = this.controller.signal;
    let reads = this.context.readsStarted();
    // Counted in looks rather than by the clock: each look comes after the event loop has handled
    // pending I/O (a client's close), so a loop stalled for seconds (load, GC) does not end the
    // grace in one step before it sees that the client left.
    const looks = Math.ceil(CONSUMER_GRACE_MS / CONSUMER_POLL_MS);
    let idle = -1;
    while (!signal.aborted && !this.destroyed) {
      if (registry.get(key, index) || store.index.has(key, index)) return;
      const started = this.context.readsStarted();
      // Bytes still in this stream, or a pipe paused by its destination (the last piece waits in
      // the response's buffer): the client is not taking what it has.
      if (this.readableLength > 0 || (this.readableFlowing === false && this.listenerCount('data') > 0)) idle = -1;
      else if (idle < 0 || started !== reads) {
        idle = 0;
        reads = started;
      } else if (++idle >= looks) return;
      await sleep(CONSUMER_POLL_MS, undefined, { signal }).catch(() => {});
    }
    throw new Error('read aborted');
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
    const fetch = this.context.startFetch(index, this.context.extentEnd, this.position + this.ownWindow(), 'interactive', at);
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

  /**
   * At the end of each PROBE interval: if the reader waited for bytes of its own transfers while
   * none of them ever paused for it, the upstream link is slower than the reader: one more lane.
   */
  private probeLanes(): void {
    const now = Date.now();
    if (this.position - this.probeFrom < PROBE || now - this.probeStartedAt < PROBE_MS) return;
    const hits = this.limitHits();
    // Starved: waited for the link at least half of the interval, and no transfer ever waited for the reader.
    const starved = hits === this.probeLimitHits && this.probeStarvedMs * 2 >= now - this.probeStartedAt;
    const interval = { bytes: this.position - this.probeFrom, ms: Math.max(1, now - this.probeStartedAt) };
    const probeFrom = this.probeFrom;
    this.probeFrom = this.position;
    this.probeStartedAt = now;
    this.probeStarvedMs = 0;
    this.probeLimitHits = hits;
    // The first interval holds the connection's start (link, time to first byte): it proves nothing.
    this.probes += 1;
    if (this.probes === 1) return;
    // While a change of lanes is on trial, the intervals judge it and nothing else changes.
    if (this.trial) return this.judgeTrial(interval, probeFrom);
    this.recent.push(interval);
    trimHistory(this.recent, this.measureBytes(this.lanes));
    // Bytes per millisecond the reader took in its last intervals.
    const rate = rateOf(this.recent);
    this.starvedRun = starved ? this.starvedRun + 1 : 0;
    // A second connection only after two starved intervals in a row (a passing slow spell of a
    // loaded machine is not a slow link); then doubling reaches the useful number within a few.
    if (
      this.starvedRun >= (this.lanes === 1 ? 2 : 1) &&
      this.lanes < this.context.maxLanes &&
      this.end - this.position > 2 * PROBE &&
      this.position >= this.noGrowthBefore
    ) {
      this.tryLanes(Math.min(this.context.maxLanes, this.lanes * 2), rate);
      this.context.stats.parallelTrials += 1;
    } else if (this.lanes > 1 && this.position >= this.recheckAt && this.end - this.position > 2 * PROBE) {
      this.tryLanes(Math.max(1, this.lanes >> 1), rate);
    }
  }

  private tryLanes(lanes: number, rateBefore: number): void {
    // Fewer lanes: judged from the first interval that starts after everything the lanes fetched
    // ahead. More lanes: from the first interval after a new lane started a chunk (keepLanesBusy),
    // which waits for the window to hold more than the reader's own chunk.
    let judgeFrom = this.position + 1;
    for (const fetch of this.chunkFetches) if (fetch.isRunning) judgeFrom = Math.max(judgeFrom, fetch.end + 1);
    if (lanes > this.lanes) judgeFrom = Number.POSITIVE_INFINITY;
    this.trial = { lanesBefore: this.lanes, rateBefore, before: [...this.recent], judgeFrom, measure: this.measureBytes(lanes), bytes: 0, ms: 0, intervals: 0 };
    this.recent = [];
    this.lanes = lanes;
    this.keepFetching();
    this.keepLanesBusy(true);
  }

  /**
   * Judges the change of lanes on trial with the interval just measured (from byte `from`), once
   * TRIAL_INTERVALS intervals showed its effect. More lanes stay when they made the reader faster
   * by KEEP_GAIN; fewer lanes stay when the reader did not get slower by as much.
   */
  private judgeTrial(interval: { bytes: number; ms: number }, from: number): void {
    const trial = this.trial!;
    if (trial.judgeFrom === Number.POSITIVE_INFINITY) {
      // No new lane has run yet: the reader's rate is still the one to beat.
      trial.before.push(interval);
      trimHistory(trial.before, trial.measure);
      trial.rateBefore = rateOf(trial.before);
      return;
    }
    if (from < trial.judgeFrom) return;
    trial.bytes += interval.bytes;
    trial.ms += interval.ms;
    trial.intervals += 1;
    // A doubling that already shows most of what it can give is kept at once: a slow link's
    // reader should not spend its measure at the lower rate (a wrong early call is undone by the
    // later halving check).
    const early = this.lanes > trial.lanesBefore && rateOf([trial]) >= trial.rateBefore * EARLY_GAIN;
    if (!early && (trial.intervals < TRIAL_INTERVALS || trial.bytes < trial.measure)) return;
    const rate = rateOf([trial]);
    this.trial = undefined;
    this.starvedRun = 0;
    const grew = this.lanes > trial.lanesBefore;
    const helped = grew ? rate >= trial.rateBefore * KEEP_GAIN : rate * KEEP_GAIN <= trial.rateBefore;
    if (grew && helped) {
      // Kept: the link was the limit. A rate measured while the window was still growing may be a
      // start-up's (the connection, the window): such a doubling is looked at again later. Once
      // the window is whole, a kept doubling stays (each later check costs its measure at half rate).
      this.context.stats.parallelKept += 1;
      this.growthBackoff = TRIAL_BACKOFF;
      this.recheckGap = 2 * TRIAL_BACKOFF;
      this.recheckAt = this.window < this.context.maxWindow ? this.position + this.recheckGap : Number.POSITIVE_INFINITY;
    } else if (grew) {
      // More connections did not make the reader faster: the limit is elsewhere. Chunks already
      // running finish (their blocks are claimed); no new one starts beyond the lanes left.
      this.lanes = trial.lanesBefore;
      this.noGrowthBefore = this.position + this.growthBackoff;
      this.growthBackoff *= 2;
    } else if (helped) {
      // Halving made the reader slower: the lanes were earning their connections. Back to them.
      this.lanes = trial.lanesBefore;
      this.recheckGap *= 2;
      this.recheckAt = this.position + this.recheckGap;
      this.keepLanesBusy(true);
    } else {
      // As fast with half the connections: stay there, and grow again only after a while.
      this.noGrowthBefore = this.position + this.growthBackoff;
      this.growthBackoff *= 2;
      this.recheckAt = this.position + this.recheckGap;
    }
    this.keepFetching();
  }

  /** Bytes a rate at `lanes` lanes is measured over at least: a round of chunks (one probe interval with one lane). */
  private measureBytes(lanes: number): number {
    if (lanes === 1) return PROBE;
    const { blockSize } = this.context;
    const share = Math.floor(this.window / lanes / blockSize) * blockSize;
    return lanes * Math.max(blockSize, Math.min(CHUNK, share));
  }

  /** Bytes one connection fetches at a time when several share the window: a fair share of it, 1 block to CHUNK. */
  private chunkSize(): number {
    const { blockSize } = this.context;
    const share = Math.floor(this.window / this.lanes / blockSize) * blockSize;
    return Math.max(blockSize, Math.min(CHUNK, share));
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
      const through = Math.min(lastByte, (last + 1) * blockSize - 1);
      const fetch = this.context.startFetch(missing, through, through + 1, underReader ? 'interactive' : 'background');
      // Chunks run unpaced within the window: their blocks are read back from disk rather than held
      // in memory for this reader (which could hold a whole window per reader).
      fetch.forget();
      this.chunkFetches.push(fetch);
      // A doubling on trial takes effect once two connections run for this reader: the interval
      // under way holds the new connection's start, so judging begins with the next one.
      if (this.trial?.judgeFrom === Number.POSITIVE_INFINITY && own + this.chunkFetches.filter((chunk) => chunk.isRunning).length > 1) {
        this.trial.judgeFrom = this.position + 1;
      }
      void fetch.done.then(() => this.keepLanesBusy(true));
      missing = last + 1;
    }
  }

  private keepFetching(): void {
    const last = this.fetches[this.fetches.length - 1];
    last?.want(this.position + this.ownWindow());
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

/** Bytes per millisecond over measured intervals. */
function rateOf(intervals: Array<{ bytes: number; ms: number }>): number {
  let bytes = 0;
  let ms = 0;
  for (const interval of intervals) {
    bytes += interval.bytes;
    ms += interval.ms;
  }
  return bytes / Math.max(1, ms);
}

/**
 * Keeps the last intervals that together hold at least `bytes` (and at least TRIAL_INTERVALS of
 * them): the span a rate is measured over.
 */
function trimHistory(intervals: Array<{ bytes: number; ms: number }>, bytes: number): void {
  let held = 0;
  for (const interval of intervals) held += interval.bytes;
  while (intervals.length > TRIAL_INTERVALS && held - intervals[0]!.bytes >= bytes) held -= intervals.shift()!.bytes;
}
