/**
 * The start-up ramp of an open-ended media read: how far its upstream transfers may go in its first
 * moments. A client that takes a little of a `bytes=N-` answer and then holds the connection unread
 * (ffprobe keeps its `bytes=0-` head open while it reads the tail and the middle on other
 * connections) looks to the bridge exactly like a reader until the kernel's socket buffers between
 * them are full: 4-6 MiB on loopback, all of it fetched upstream for nothing. No byte-level signal
 * tells the two apart sooner (TCP tells a sender only that the receiver's buffer is full), so the
 * ramp uses time: the read may go RAMP_FIRST_BYTES past its first byte at once, twice that after
 * each RAMP_DOUBLING_MS, and the ramp is over once the allowance passes RAMP_END_BYTES (beyond what
 * socket buffers hold, back-pressure shows a client that stopped reading).
 *
 * The allowance does not grow while a read of the same file that began after this one is in
 * progress: a client reading elsewhere in the file is not reading this connection (the ffmpeg
 * pattern). Only later reads count, so two open-ended reads of one file never hold each other:
 * the newest one always ramps. A read is held back this way for RAMP_FREEZE_MAX_MS at most in all
 * while later reads stream: a player whose file another client starts streaming a moment later is
 * slowed, never stopped. Time a later read spends waiting for its first byte (a download link the
 * account's API pacing hands out, a connection slot) does not count: during a library scan of
 * many files ffprobe's tail request may wait seconds for its link, and its head must not go on
 * meanwhile. That wait is bounded too (RAMP_WAIT_MAX_MS).
 * See docs/media-reads.md ("A held head goes upstream one block at first").
 */

/** Bytes past its first byte an open-ended media read may fetch at once. */
export const RAMP_FIRST_BYTES = 512 * 1024;
/** Milliseconds (while no later read of the file is in progress) after which the allowance doubles. */
export const RAMP_DOUBLING_MS = 50;
/** Allowance (bytes) at which the ramp is over: more than the socket buffers of a held connection swallow. */
export const RAMP_END_BYTES = 8 * 1024 * 1024;
/**
 * Time (ms, in all) a read's allowance may stand still for later reads of its file; then it grows
 * on time alone. A probe's other reads take tens of ms; a second client streaming the same file
 * would otherwise hold a player's start for as long as it streams.
 */
export const RAMP_FREEZE_MAX_MS = 2_000;
/**
 * Time (ms, in all) a read's allowance may stand still for later reads still waiting for their
 * first byte (not counted in RAMP_FREEZE_MAX_MS): an account's link pacing (2 calls/s) serves a
 * 50-file scan in about 25 s; a flood cool-down would hold the later read for minutes.
 */
export const RAMP_WAIT_MAX_MS = 30_000;

export interface StartRampContext {
  /** Whether a read of the same file that began after this one is in progress. */
  laterReadInProgress(): boolean;
  /**
   * Whether such a later read is past its first byte's wait (streaming, not waiting for a link or a
   * slot); only that time spends RAMP_FREEZE_MAX_MS. Default: every later read counts as streaming.
   */
  laterReadFlowing?(): boolean;
  /** Calls `listener` when a read of the file begins or ends (or a block of it is claimed); returns the unsubscribe. */
  watchFile(listener: () => void): () => void;
  /** Clock (ms); default Date.now. */
  now?: () => number;
}

export class StartRamp {
  /** Growing time accumulated (ms), up to `since`. */
  private activeMs = 0;
  /** When the current growing period began; undefined before the first byte and while frozen. */
  private since: number | undefined;
  /** Frozen time accumulated (ms), up to `frozenSince`; when the current frozen period began. */
  private frozenMs = 0;
  private frozenSince: number | undefined;
  /** Whether the current frozen period spends RAMP_FREEZE_MAX_MS (a later read streams) or RAMP_WAIT_MAX_MS (later reads wait). */
  private spending = true;
  /** Frozen time accumulated (ms) while later reads waited for their first byte. */
  private waitedMs = 0;
  /** The read stood still RAMP_FREEZE_MAX_MS in all: it no longer freezes. */
  private freezeSpent = false;
  private started = false;
  private over = false;
  private unwatch: (() => void) | undefined;
  private readonly waiters = new Set<() => void>();
  private readonly now: () => number;

  /**
   * @param start the read's first byte
   * @param blockSize the cache's block size: limits are block-aligned (a block is fetched whole)
   */
  constructor(
    private readonly start: number,
    private readonly blockSize: number,
    private readonly context: StartRampContext,
  ) {
    this.now = context.now ?? Date.now;
  }

  get isOver(): boolean {
    return this.over;
  }

  /** The read's first byte is ready: the clock starts (the upstream's time to first byte does not count). */
  begin(): void {
    if (this.started || this.over) return;
    this.started = true;
    this.unwatch = this.context.watchFile(() => this.update());
    this.update();
  }

  /** Bytes past the read's start its transfers may fetch now. */
  allowance(): number {
    if (this.over) return Number.POSITIVE_INFINITY;
    this.spendFreeze(this.now());
    const active = this.activeMs + (this.since === undefined ? 0 : this.now() - this.since);
    return RAMP_FIRST_BYTES * 2 ** (active / RAMP_DOUBLING_MS);
  }

  /**
   * How far (exclusive byte position) the read's upstream transfers may go now: the read's start
   * plus the allowance, rounded up to a block's end (so at least the block the read starts in).
   * Infinity once the ramp is over.
   */
  limit(): number {
    const allowance = this.allowance();
    if (allowance >= RAMP_END_BYTES) {
      this.finish();
      return Number.POSITIVE_INFINITY;
    }
    return Math.ceil((this.start + allowance) / this.blockSize) * this.blockSize;
  }

  /**
   * How far (exclusive byte position) an upstream GET opened now may ask: twice the allowance past
   * the read's start, rounded up to a block's end (one block for a read's first GET at a block's
   * start), so the GETs of a reader that reads on grow with the ramp instead of one per step.
   * Infinity once the ramp is over.
   */
  requestLimit(): number {
    const allowance = this.allowance();
    if (allowance >= RAMP_END_BYTES) return this.limit();
    return Math.ceil((this.start + 2 * allowance) / this.blockSize) * this.blockSize;
  }

  /**
   * Resolves once `limit()` is past byte `position` (or the ramp is over); rejects with "read
   * aborted" when `signal` aborts. Sleeps on a timer set for the moment the allowance gets there,
   * and on the file's reads beginning or ending (which freeze or resume the growth).
   */
  async reach(position: number, signal: AbortSignal): Promise<void> {
    while (this.limit() <= position) {
      if (signal.aborted) throw new Error('read aborted');
      await new Promise<void>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        const wake = (): void => {
          clearTimeout(timer);
          this.waiters.delete(wake);
          signal.removeEventListener('abort', wake);
          resolve();
        };
        this.waiters.add(wake);
        signal.addEventListener('abort', wake, { once: true });
        if (this.frozenSince !== undefined) {
          // Frozen: wakes on the file's reads, or when the freeze (or the wait) is spent.
          const left = this.spending ? RAMP_FREEZE_MAX_MS - this.frozenMs : RAMP_WAIT_MAX_MS - this.waitedMs;
          const ms = left - (this.now() - this.frozenSince);
          timer = setTimeout(wake, Math.max(1, Math.ceil(ms)));
        } else if (this.since !== undefined) {
          // The allowance must pass the start of the block holding `position`.
          const needed = Math.floor(position / this.blockSize) * this.blockSize - this.start + 1;
          const active = this.activeMs + (this.now() - this.since);
          const ms = RAMP_DOUBLING_MS * Math.log2(Math.max(needed, RAMP_FIRST_BYTES) / RAMP_FIRST_BYTES) - active;
          timer = setTimeout(wake, Math.max(1, Math.ceil(ms)));
        }
      });
    }
  }

  /** The read ended: stop watching the file, wake whoever waits (they then see the abort). */
  close(): void {
    this.finish();
  }

  /** A read of the file began or ended: growth stops or resumes. */
  private update(): void {
    if (this.over || !this.started) return;
    const now = this.now();
    this.spendFreeze(now);
    if (this.since !== undefined) this.activeMs += now - this.since;
    if (this.frozenSince !== undefined) {
      if (this.spending) this.frozenMs += now - this.frozenSince;
      else this.waitedMs += now - this.frozenSince;
    }
    const frozen = !this.freezeSpent && this.context.laterReadInProgress();
    this.spending = this.context.laterReadFlowing?.() ?? true;
    this.since = frozen ? undefined : now;
    this.frozenSince = frozen ? now : undefined;
    for (const wake of [...this.waiters]) wake();
  }

  /**
   * A freeze that has lasted RAMP_FREEZE_MAX_MS in all while later reads streamed, or
   * RAMP_WAIT_MAX_MS while they waited, ends where it reached that: growth from there.
   */
  private spendFreeze(now: number): void {
    if (this.frozenSince === undefined) return;
    const [spent, most] = this.spending ? [this.frozenMs, RAMP_FREEZE_MAX_MS] : [this.waitedMs, RAMP_WAIT_MAX_MS];
    if (spent + (now - this.frozenSince) < most) return;
    this.since = this.frozenSince + (most - spent);
    if (this.spending) this.frozenMs = most;
    else this.waitedMs = most;
    this.frozenSince = undefined;
    this.freezeSpent = true;
  }

  private finish(): void {
    if (this.over) return;
    this.over = true;
    this.since = undefined;
    this.frozenSince = undefined;
    this.unwatch?.();
    this.unwatch = undefined;
    for (const wake of [...this.waiters]) wake();
  }
}
