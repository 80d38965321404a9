/**
 * How many upstream connections ("lanes") one sequential reader of the block cache uses: parallel
 * ranged streams (like JDownloader's chunks) for a reader that one upstream connection cannot keep
 * fed. The read-ahead window ahead of the reader is shared out in chunks among the lanes (see
 * cached-read.ts for the chunks themselves): chunks never go beyond the window, so more lanes fetch
 * no byte that one connection would not have fetched, only sooner.
 *
 * The reader's progress is cut into PROBE intervals. An interval is *starved* when the reader spent
 * at least half of it waiting for the link (bytes of its own transfers, not our disk) while none of
 * its transfers waited for it. A second lane is tried after two starved intervals in a row, or
 * after one spent nearly all (LINK_BOUND) waiting for the link. Waiting for the link does not prove
 * that one connection is the limit: a busy bridge, a busy download host or the client's own line
 * shared by every connection look the same from here. So every change of lanes is a trial, judged
 * on the reader's rate once the change has taken effect: a doubling stays when the rate rose by
 * KEEP_GAIN (at once when it rose by EARLY_GAIN), else it is undone and the next doubling waits
 * twice as long as the last (TRIAL_BACKOFF to start), the way a congestion window backs off. A
 * doubling kept while the reader still starves is followed at once by the next one (a ramp to a
 * per-connection cap's useful number costs one judged interval per doubling, not two). No doubling
 * starts that the read's end would cut short. A step that is not a doubling (4 to 5 lanes) needs
 * the same share of the most it can give (`gainFor`). Fewer lanes are not measured over bytes
 * that more lanes fetched ahead (a reader that lagged behind them reads those at its own speed): a
 * halving is judged past them, and so is the rate at the lanes left after an undone doubling.
 *
 * A doubling kept while the window was still growing is checked again later by halving the lanes
 * (a rate measured early, while the connection and the window were still starting, can make a
 * doubling look useful): the halving stays when the rate did not fall by KEEP_GAIN. A doubling
 * that nearly doubled the rate (CAP_GAIN), or a halving that nearly halved it, is what a
 * per-connection cap looks like: those lanes are not checked again (each check costs its measure
 * at half rate: bench row M3 lost 30-60 MiB to each).
 *
 * Counters: `parallelTrials` (doublings tried) and `parallelKept` (doublings kept) of CacheStats.
 */
import type { CacheStats } from './stats.js';

/** Largest chunk one lane fetches at a time (bytes). */
export const CHUNK = 8 * 1024 * 1024;
/**
 * Rate (bytes per ms) after a doubling of lanes over the rate before it, for the doubling to stay.
 * This and the two gains below are for a doubling; a step of another size (4 to 5 lanes, when
 * `--parallel-streams` is not a power of two) is judged on the same share of what it could give at
 * most (`gainFor`): a fifth connection can raise the rate by 1.25x at most, never by 1.3x.
 */
const KEEP_GAIN = 1.3;
/** The same, for a doubling kept after its first judged interval rather than its whole measure. */
const EARLY_GAIN = 1.6;
/**
 * A change of lanes that moved the rate by this much (a doubling that nearly doubled it, a halving
 * that nearly halved it) is what a per-connection cap looks like: each connection brings its own
 * share. Such lanes are not checked again by halving (a check costs its measure at half rate).
 */
const CAP_GAIN = 1.8;
/**
 * A rate, before and after a change of lanes, is measured over at least this many intervals and
 * over at least two rounds of chunks (every lane fetching twice: chunks arrive in bursts, so one
 * interval alone swings between a stall and a burst).
 */
const TRIAL_INTERVALS = 2;
/** Bytes read before the next trial after one that ended; doubles with each trial that changed nothing. */
const TRIAL_BACKOFF = 32 * 1024 * 1024;
/** Bytes of one probe interval. */
export const PROBE = 1024 * 1024;
/**
 * An interval is also at least this long: a client's socket buffers take the first MiB in a burst
 * (a paced player looks link-bound then), and a wait worth a connection is longer than a hiccup.
 */
const PROBE_MS = 250;
/** Share of an interval spent waiting for the link above which one interval is enough to try a second lane. */
const LINK_BOUND = 0.9;

/** What the reader must do after a look: nothing, move its own transfer's limit, or also start chunks. */
export type LaneAction = 'none' | 'refetch' | 'refill';

/** The reader as the trials see it at the end of a piece. */
export interface LaneReader {
  /** Next byte the reader serves (exclusive end of what it has served). */
  position: number;
  /** Last byte of the read (inclusive). */
  end: number;
  /** Current read-ahead window (bytes). */
  window: number;
  /** Times any of the reader's transfers paused at its pacing limit so far (never goes back). */
  limitHits: number;
  /**
   * Last byte (inclusive) of what the reader will find without waiting for a new transfer: the
   * blocks from its position on that are cached or on their way, and every chunk transfer still
   * running. A rate measured over those bytes is the reader's own (disk, CPU), not the lanes'.
   */
  fetchedThrough(): number;
}

interface Interval {
  bytes: number;
  ms: number;
}

/**
 * The gain a change from `from` to `to` lanes must show, for a `doubling` gain: the same share of
 * the most it could give (`to / from` for more lanes, `from / to` for fewer), so that a doubling
 * keeps `doubling` itself and 4 to 5 lanes (1.25x at most) needs 1 + 0.25 x (doubling - 1).
 */
export function gainFor(doubling: number, from: number, to: number): number {
  const most = Math.max(from, to) / Math.min(from, to);
  return 1 + (doubling - 1) * Math.min(1, most - 1);
}

/** A chunk of the window per lane: a fair share, 1 block to CHUNK (bytes). */
export function chunkSize(window: number, lanes: number, blockSize: number): number {
  const share = Math.floor(window / lanes / blockSize) * blockSize;
  return Math.max(blockSize, Math.min(CHUNK, share));
}

export class LaneTrials {
  /** Lanes the reader may run now (1 = its own transfer only). */
  lanes = 1;
  private probeFrom: number;
  /** Milliseconds this probe interval spent waiting for the link (bytes of its own transfers). */
  private probeStarvedMs = 0;
  private probeStartedAt: number;
  private probeLimitHits = 0;
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
        before: Interval[];
        judgeFrom: number;
        /** Bytes the rate after the change is measured over (fixed when the trial starts: the window grows meanwhile). */
        measure: number;
        bytes: number;
        ms: number;
        intervals: number;
      }
    | undefined;
  /** The last intervals at the current lanes (a rate over two is steadier than one). */
  private recent: Interval[] = [];
  /**
   * After more lanes were undone, the first byte the reader's rate at the lanes left is measured
   * from: what the undone lanes fetched ahead is read at the reader's own speed, not the lanes'.
   */
  private recentFrom = 0;
  /** No doubling before the reader reaches this byte; the gap doubles with each undone one. */
  private noGrowthBefore = 0;
  private growthBackoff = TRIAL_BACKOFF;
  /** With more than one lane: when the lanes are next halved on trial; the gap doubles with each confirmation. */
  private recheckAt = 0;
  private recheckGap = 2 * TRIAL_BACKOFF;

  /**
   * @param start first byte of the read
   * @param maxLanes most lanes the reader may use (the `--parallel-streams` setting; 1 = never more)
   * @param maxWindow the read-ahead window's limit (bytes)
   * @param now clock in ms (tests drive it by hand)
   */
  constructor(
    start: number,
    private readonly settings: { maxLanes: number; maxWindow: number; blockSize: number; stats: CacheStats },
    private readonly now: () => number = Date.now,
  ) {
    this.probeFrom = start;
    this.probeStartedAt = now();
  }

  /** The reader waited `ms` milliseconds for bytes of its own transfers (the link, not the disk). */
  starved(ms: number): void {
    this.probeStarvedMs += ms;
  }

  /** A doubling on trial waits for a second connection to run; the reader calls this when one does. */
  connectionsRunning(count: number, position: number): void {
    if (this.trial?.judgeFrom === Number.POSITIVE_INFINITY && count > 1) this.trial.judgeFrom = position + 1;
  }

  /**
   * At the end of each piece the reader served: closes a PROBE interval when one is full, judges
   * the trial on the way, or starts one. Returns what the reader must do about its transfers.
   */
  look(reader: LaneReader): LaneAction {
    const now = this.now();
    if (reader.position - this.probeFrom < PROBE || now - this.probeStartedAt < PROBE_MS) return 'none';
    const hits = reader.limitHits;
    // Starved: waited for the link at least half of the interval, and no transfer ever waited for the reader.
    const starvedMs = hits === this.probeLimitHits ? this.probeStarvedMs : 0;
    const starved = starvedMs * 2 >= now - this.probeStartedAt;
    // Clearly link-bound: waited for the link nearly all of the interval.
    const linkBound = starvedMs >= (now - this.probeStartedAt) * LINK_BOUND;
    const interval = { bytes: reader.position - this.probeFrom, ms: Math.max(1, now - this.probeStartedAt) };
    const probeFrom = this.probeFrom;
    this.probeFrom = reader.position;
    this.probeStartedAt = now;
    this.probeStarvedMs = 0;
    this.probeLimitHits = hits;
    // The first interval holds the connection's start (link, time to first byte): it proves nothing.
    this.probes += 1;
    if (this.probes === 1) return 'none';
    // While a change of lanes is on trial, the intervals judge it and nothing else changes.
    if (this.trial) return this.judge(interval, probeFrom, reader, starved);
    if (probeFrom < this.recentFrom) return 'none';
    this.recent.push(interval);
    trimHistory(this.recent, this.measureBytes(this.lanes, reader.window));
    // Bytes per millisecond the reader took in its last intervals.
    const rate = rateOf(this.recent);
    this.starvedRun = starved ? this.starvedRun + 1 : 0;
    // A second connection only after two starved intervals in a row (a passing slow spell of a
    // loaded machine is not a slow link), or one in which the reader waited for the link nearly
    // all the time; then doubling reaches the useful number within a few.
    const due = this.lanes > 1 || this.starvedRun >= 2 || linkBound;
    if (starved && due && this.mayGrow(reader)) return this.grow(rate, reader);
    if (this.lanes > 1 && reader.position >= this.recheckAt && reader.end - reader.position > 2 * PROBE) {
      return this.tryLanes(Math.max(1, this.lanes >> 1), rate, reader);
    }
    return 'none';
  }

  /**
   * Whether a doubling may be tried now: below the most lanes, past the back-off, and with enough
   * of the read left to judge it (the new lanes' start, then their measure). A trial that the
   * read's end cuts short costs its connections and decides nothing.
   */
  private mayGrow(reader: LaneReader): boolean {
    if (this.lanes >= this.settings.maxLanes || reader.position < this.noGrowthBefore) return false;
    const next = Math.min(this.settings.maxLanes, this.lanes * 2);
    return reader.end - reader.position > Math.max(2 * PROBE, 2 * this.measureBytes(next, reader.window));
  }

  private grow(rateBefore: number, reader: LaneReader): LaneAction {
    this.settings.stats.parallelTrials += 1;
    return this.tryLanes(Math.min(this.settings.maxLanes, this.lanes * 2), rateBefore, reader);
  }

  private tryLanes(lanes: number, rateBefore: number, reader: LaneReader): LaneAction {
    // Fewer lanes: judged from the first interval that starts after everything the lanes fetched
    // ahead, finished chunks included (a reader behind a full window, on a loaded machine, read
    // up to 64 MiB already on disk at its own speed: the halving looked free and stayed, at half
    // the rate for the rest of the read). More lanes: from the first interval after a new lane
    // started a chunk (connectionsRunning), which waits for the window to hold more than the
    // reader's own chunk.
    let judgeFrom = Math.max(reader.position, reader.fetchedThrough()) + 1;
    if (lanes > this.lanes) judgeFrom = Number.POSITIVE_INFINITY;
    this.trial = {
      lanesBefore: this.lanes,
      rateBefore,
      before: [...this.recent],
      judgeFrom,
      measure: this.measureBytes(lanes, reader.window),
      bytes: 0,
      ms: 0,
      intervals: 0,
    };
    this.recent = [];
    this.lanes = lanes;
    return 'refill';
  }

  /**
   * Judges the change of lanes on trial with the interval just measured (from byte `from`), once
   * TRIAL_INTERVALS intervals showed its effect. More lanes stay when they made the reader faster
   * by KEEP_GAIN; fewer lanes stay when the reader did not get slower by as much.
   */
  private judge(interval: Interval, from: number, reader: LaneReader, starved: boolean): LaneAction {
    const trial = this.trial!;
    if (trial.judgeFrom === Number.POSITIVE_INFINITY) {
      // No new lane has run yet: the reader's rate is still the one to beat.
      trial.before.push(interval);
      trimHistory(trial.before, trial.measure);
      trial.rateBefore = rateOf(trial.before);
      return 'none';
    }
    if (from < trial.judgeFrom) return 'none';
    trial.bytes += interval.bytes;
    trial.ms += interval.ms;
    trial.intervals += 1;
    // A doubling that already shows most of what it can give is kept at once: a slow link's
    // reader should not spend its measure at the lower rate (a wrong early call is undone by the
    // later halving check).
    const gain = (doubling: number): number => gainFor(doubling, trial.lanesBefore, this.lanes);
    const early = this.lanes > trial.lanesBefore && rateOf([trial]) >= trial.rateBefore * gain(EARLY_GAIN);
    if (!early && (trial.intervals < TRIAL_INTERVALS || trial.bytes < trial.measure)) return 'none';
    const rate = rateOf([trial]);
    this.trial = undefined;
    this.starvedRun = 0;
    const grew = this.lanes > trial.lanesBefore;
    const helped = grew ? rate >= trial.rateBefore * gain(KEEP_GAIN) : rate * gain(KEEP_GAIN) <= trial.rateBefore;
    if (grew && helped) {
      // Kept: the link was the limit. A rate measured while the window was still growing may be a
      // start-up's (the connection, the window): such a doubling is looked at again later, unless
      // it nearly doubled the rate (each connection brings its own share: a per-connection cap).
      // Once the window is whole, a kept doubling stays (each later check costs its measure at
      // half rate).
      this.settings.stats.parallelKept += 1;
      this.growthBackoff = TRIAL_BACKOFF;
      this.recheckGap = 2 * TRIAL_BACKOFF;
      const settled = reader.window >= this.settings.maxWindow || rate >= trial.rateBefore * gain(CAP_GAIN);
      this.recheckAt = settled ? Number.POSITIVE_INFINITY : reader.position + this.recheckGap;
      // Still waiting for the link at the new lanes: the next doubling is tried at once, judged
      // on its own result (what a ramp to the per-connection cap's useful number needs).
      if (starved && this.mayGrow(reader)) return this.grow(rate, reader);
      return 'refetch';
    }
    if (grew) {
      // More connections did not make the reader faster: the limit is elsewhere. Chunks already
      // running finish (their blocks are claimed); no new one starts beyond the lanes left.
      this.lanes = trial.lanesBefore;
      this.noGrowthBefore = reader.position + this.growthBackoff;
      this.growthBackoff *= 2;
      // What they fetched ahead would make the lanes left look faster than they are, and the next
      // doubling be judged against that (a model reader slowed for 30 MiB then undid a good
      // doubling 120 MiB later: 115-121 MiB more at half the lanes).
      this.recentFrom = Math.max(reader.position, reader.fetchedThrough()) + 1;
      return 'refetch';
    }
    if (helped) {
      // Halving made the reader slower: the lanes were earning their connections. Back to them;
      // for good when halving nearly halved the rate (a per-connection cap).
      this.lanes = trial.lanesBefore;
      this.recheckGap *= 2;
      this.recheckAt = rate * gain(CAP_GAIN) <= trial.rateBefore ? Number.POSITIVE_INFINITY : reader.position + this.recheckGap;
      return 'refill';
    }
    // As fast with half the connections: stay there, and grow again only after a while.
    this.noGrowthBefore = reader.position + this.growthBackoff;
    this.growthBackoff *= 2;
    this.recheckAt = reader.position + this.recheckGap;
    return 'refetch';
  }

  /** Bytes a rate at `lanes` lanes is measured over at least: a round of chunks (one probe interval with one lane). */
  private measureBytes(lanes: number, window: number): number {
    if (lanes === 1) return PROBE;
    return lanes * chunkSize(window, lanes, this.settings.blockSize);
  }
}

/** Bytes per millisecond over measured intervals. */
function rateOf(intervals: Interval[]): number {
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
function trimHistory(intervals: Interval[], bytes: number): void {
  let held = 0;
  for (const interval of intervals) held += interval.bytes;
  while (intervals.length > TRIAL_INTERVALS && held - intervals[0]!.bytes >= bytes) held -= intervals.shift()!.bytes;
}
