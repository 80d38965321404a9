/**
 * The request scheduler: one per account. Every upstream API call goes through it, so the
 * account's budget (fichier-api.md §6) is respected whatever the callers do:
 * - a token bucket paces calls (default 2/s, at most 3/s, the documented ceiling);
 * - "windows": the same folder is listed at most once per 30 s, all files (-1) once per hour,
 *   user/info once per 60 s. A call inside a window waits for it, or gets the answer of the
 *   identical call that just finished (if nothing was written since);
 * - concurrency caps for API calls, uploads and downloads;
 * - two priorities: interactive work is dispatched before background work;
 * - single-flight: identical reads in flight share one upstream call;
 * - a flood answer cools the whole account down (nothing is sent meanwhile); repeated floods
 *   double the cool-down up to a maximum;
 * - retries with jittered exponential back-off for transient failures.
 *
 * All durations are nominal (real-service) values multiplied by `timeScale`, except `jitterMs`:
 * the delay between sending a call and 1fichier counting it (timers firing late, a loaded machine,
 * the network) is real time and does not shrink with the scale. With `jitterMs` J, a window gets
 * a margin of at least J and calls are at least J/2 apart, so a call counted up to J late neither
 * lands inside the window it follows nor bunches with the calls after it (docs/rate-limits.md).
 *
 * The bucket, the windows and the cool-down live in a `BudgetStore` (budget-store.ts): in memory
 * by default, or shared by every process of the account (the state database), so a restart or a
 * second process resumes them instead of starting afresh. The scheduler keeps a local mirror of
 * the cool-down (for metrics and Retry-After) and a per-key queue so its own calls on one window
 * wait in line instead of polling the store.
 */
import pLimit, { type LimitFunction } from 'p-limit';
import { realClock, sleep, abortReason, type Clock } from './clock.js';
import { escalateCooldown, MemoryBudgetStore, type BudgetStore, type CooldownPolicy, type CooldownState, type RatePolicy } from './budget-store.js';
import { AbortedError, AccountLockedError, FichierError, FloodError, UnreachableError } from './errors.js';

export type Priority = 'interactive' | 'background';

export interface SchedulerOptions {
  /** Multiplies every duration (tests run the simulator and the client with the same scale). Default 1. */
  timeScale?: number;
  /** Sustained API calls per second. Default 2; values above 3 are refused. */
  ratePerSecond?: number;
  /** Token bucket capacity. Default 1 (calls evenly spaced). */
  burst?: number;
  /** API calls in flight at once. Default 4. */
  apiConcurrency?: number;
  /** Uploads at once. Default 4 (rclone --transfers). */
  uploadConcurrency?: number;
  /** Direct-link downloads at once. Default 8 (well under the 30 connections premium cap). */
  downloadConcurrency?: number;
  /** Same folder listed at most once per this. Default 30 000 ms. */
  listingIntervalMs?: number;
  /** file/ls folder_id -1 at most once per this. Default 3 600 000 ms. */
  allFilesIntervalMs?: number;
  /** user/info at most once per this. Default 60 000 ms. */
  userInfoIntervalMs?: number;
  /** First flood cool-down. Default 30 000 ms (rclone sleeps 30 s). */
  floodCooldownMs?: number;
  /** Cool-down ceiling. Default 300 000 ms (JDownloader backs off 5 min). */
  floodCooldownMaxMs?: number;
  /** A flood this long after the last cool-down ended starts again from floodCooldownMs. Default 600 000 ms. */
  floodResetMs?: number;
  /** Tries per call, the first included (rclone --low-level-retries). Default 10. */
  maxAttempts?: number;
  /** First retry delay. Default 500 ms. */
  retryBaseMs?: number;
  /** Retry delay ceiling. Default 5 000 ms (rclone's pacer maxSleep). */
  retryMaxMs?: number;
  /** Extra margin added to each window, as a fraction of the window. Default 0.02. */
  windowMargin?: number;
  /** Minimum margin in real (unscaled) ms, for timer and network jitter. Default 5. */
  windowMarginMinMs?: number;
  /**
   * Real (unscaled) ms of lag between sending a call and its being counted that must never cause
   * a flood: each window's margin is at least this, and calls are at least half of it apart.
   * Default 0 (none beyond `windowMarginMinMs`). Matters only for time-scaled runs: at scale 1 the
   * 2 % margins and the 500 ms spacing exceed any value up to 600 ms.
   */
  jitterMs?: number;
  clock?: Clock;
  /** Random source in [0, 1) for jitter. */
  random?: () => number;
  /** Where the budget lives; default: this scheduler's own memory (shared by nothing else). */
  budget?: BudgetStore;
  /** Wall-clock ms minus `clock.now()` for a clock without `wallOffset` (fake clocks). Default 0. */
  wallClockOffsetMs?: number;
}

type OwnOptions = Required<Omit<SchedulerOptions, 'clock' | 'random' | 'budget' | 'wallClockOffsetMs'>>;

export const SCHEDULER_DEFAULTS = {
  timeScale: 1,
  ratePerSecond: 2,
  burst: 1,
  apiConcurrency: 4,
  uploadConcurrency: 4,
  downloadConcurrency: 8,
  listingIntervalMs: 30_000,
  allFilesIntervalMs: 3_600_000,
  userInfoIntervalMs: 60_000,
  floodCooldownMs: 30_000,
  floodCooldownMaxMs: 300_000,
  floodResetMs: 600_000,
  maxAttempts: 10,
  retryBaseMs: 500,
  retryMaxMs: 5_000,
  windowMargin: 0.02,
  windowMarginMinMs: 5,
  jitterMs: 0,
} as const;

export const MAX_RATE_PER_SECOND = 3;

/** What the scheduler tells the attempt function. */
export interface AttemptContext {
  attempt: number;
  signal?: AbortSignal;
}

export interface Job<T> {
  /** Endpoint name for logs, e.g. "folder/ls.cgi". */
  endpoint: string;
  priority?: Priority;
  /** One upstream try. Throws FichierError (or anything else, which is not retried). */
  run: (ctx: AttemptContext) => Promise<T>;
  /** Extra retry rule on top of FichierError.retryable (e.g. get_token KOs). */
  retryIf?: (err: unknown) => boolean;
  /** Spacing rule shared by every job with the same key. */
  window?: { key: string; intervalMs: number };
  /** Identical in-flight jobs with this key share one upstream call. */
  singleFlightKey?: string;
  /**
   * A job with this key may be answered with the result of the identical job that finished
   * inside the current window (instead of waiting for the window).
   */
  shareKey?: string;
  /** The shared result is dropped by `invalidateShared()` (after our own writes). */
  shareInvalidatedByWrites?: boolean;
  /** Never answer from a shared result; wait for the window instead. */
  fresh?: boolean;
  signal?: AbortSignal;
  /** false: does not consume API budget (upload node / CDN requests); still honours cool-downs. */
  usesApiBudget?: boolean;
  /** false: not retried at all (the upload POST). */
  retry?: boolean;
}

export interface JobReport {
  endpoint: string;
  outcome: 'ok' | 'error' | 'shared';
  ms: number;
  retries: number;
  floods: number;
  /** Time spent queued (rate, listing window, cool-down, concurrency) before the first send. */
  waitMs?: number;
  errorName?: string;
  code?: number;
  httpStatus?: number;
}

interface Waiter {
  priority: Priority;
  resolve: (release: () => void) => void;
  reject: (err: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

interface WindowState {
  /** Next instant a call under this key may be sent, as this process last saw it (local clock). */
  nextAt: number;
  /** Jobs queued on or holding this key. */
  holders: number;
  /** Tail of the chain of jobs holding the key (one call per key in flight). */
  tail: Promise<void>;
}

interface SharedResult {
  value: unknown;
  until: number;
  generation: number;
  invalidatedByWrites: boolean;
}

export class Scheduler {
  readonly options: OwnOptions;
  /** The account's budget (shared with every process using the same store). */
  readonly budget: BudgetStore;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly rate: RatePolicy;
  private readonly cooldownPolicy: CooldownPolicy;
  private readonly fixedWallOffset: number;
  private readonly uploads: LimitFunction;
  private readonly downloads: LimitFunction;

  private active = 0;
  private readonly queues: Record<Priority, Waiter[]> = { interactive: [], background: [] };
  private pumpTimer: unknown;
  private pumpTimerAt = Infinity;
  private pumping = false;
  private pumpAgain = false;

  private coolUntil = -Infinity;
  private coolStartedAt = -Infinity;
  private cooldownLevel = 0;
  private floodsSeen = 0;

  private readonly windows = new Map<string, WindowState>();
  private readonly inflight = new Map<string, Promise<unknown>>();
  private readonly shared = new Map<string, SharedResult>();
  private writeGeneration = 0;

  onReport?: (r: JobReport) => void;

  constructor(opts: SchedulerOptions = {}) {
    // Only the scheduler's own settings: callers pass whole client options, API key included,
    // and these are kept on a public field that debug dumps would show.
    const known = Object.fromEntries(Object.keys(SCHEDULER_DEFAULTS).map((key) => [key, (opts as Record<string, unknown>)[key]]));
    const o = { ...SCHEDULER_DEFAULTS, ...stripUndefined(known) } as OwnOptions;
    if (!(o.timeScale > 0)) throw new RangeError('timeScale must be > 0');
    if (!(o.ratePerSecond > 0) || o.ratePerSecond > MAX_RATE_PER_SECOND) {
      throw new RangeError(`ratePerSecond must be in (0, ${MAX_RATE_PER_SECOND}] (1fichier allows about 3 calls/s)`);
    }
    for (const k of ['burst', 'apiConcurrency', 'uploadConcurrency', 'downloadConcurrency', 'maxAttempts'] as const) {
      if (!Number.isInteger(o[k]) || o[k] < 1) throw new RangeError(`${k} must be an integer >= 1`);
    }
    this.options = o;
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? Math.random;
    if (!(o.jitterMs >= 0) || !Number.isFinite(o.jitterMs)) throw new RangeError('jitterMs must be a finite number >= 0');
    this.rate = { ratePerMs: spacedRate(o.ratePerSecond / 1000 / o.timeScale, o.jitterMs), burst: o.burst };
    this.cooldownPolicy = { firstMs: o.floodCooldownMs, maxMs: o.floodCooldownMaxMs, resetMs: o.floodResetMs, scale: o.timeScale };
    this.budget = opts.budget ?? new MemoryBudgetStore();
    this.fixedWallOffset = opts.wallClockOffsetMs ?? 0;
    this.uploads = pLimit(o.uploadConcurrency);
    this.downloads = pLimit(o.downloadConcurrency);
  }

  /** A local (monotonic) time as wall-clock ms, the store's time base. */
  private wall(t: number): number {
    return t + (this.clock.wallOffset?.() ?? this.fixedWallOffset);
  }

  private local(wall: number): number {
    return wall - (this.clock.wallOffset?.() ?? this.fixedWallOffset);
  }

  /** A nominal duration as actually applied. */
  scaled(ms: number): number {
    return ms * this.options.timeScale;
  }

  private windowSpan(intervalMs: number): number {
    const span = this.scaled(intervalMs);
    return span + Math.max(span * this.options.windowMargin, this.options.windowMarginMinMs, this.options.jitterMs);
  }

  /** The span a window `intervalMs` (nominal) is actually held, margin included (real ms). */
  windowSpanMs(intervalMs: number): number {
    return this.windowSpan(intervalMs);
  }

  /** Current cool-down end (monotonic ms), -Infinity when none. */
  cooldownEndsAt(): number {
    return this.coolUntil;
  }

  /** Milliseconds (as applied, i.e. scaled) until the current flood cool-down ends; 0 when none. */
  /** Calls waiting for their turn, by priority (for metrics). */
  queueDepth(): Record<Priority, number> {
    return { interactive: this.queues.interactive.length, background: this.queues.background.length };
  }

  cooldownRemainingMs(): number {
    return Math.max(0, this.coolUntil - this.clock.now());
  }

  floodCount(): number {
    return this.floodsSeen;
  }

  /** Forget shared results that our own writes may have made stale. */
  invalidateShared(): void {
    this.writeGeneration++;
  }

  /** Runs `fn` under the upload concurrency cap. */
  upload<T>(fn: () => Promise<T>): Promise<T> {
    return this.uploads(fn);
  }

  /** Runs `fn` under the download concurrency cap (hold the slot until the body is consumed). */
  download<T>(fn: () => Promise<T>): Promise<T> {
    return this.downloads(fn);
  }

  /** Resolves when no flood cool-down is in force. */
  async waitForCooldown(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.coolUntil - this.clock.now();
      if (wait <= 0) return;
      await sleep(this.clock, wait, signal);
    }
  }

  /**
   * Records a flood answer to a call sent at `sentAt`. Answers to calls sent before the current
   * cool-down started are echoes of the same lock and do not escalate it.
   */
  noteFlood(sentAt: number): void {
    const now = this.clock.now();
    this.floodsSeen++;
    // The local mirror changes at once (nothing more leaves this process); the store then merges
    // the flood into the account's cool-down, which another process may have escalated already.
    const mine = escalateCooldown(this.mirror(), this.wall(sentAt), this.wall(now), this.cooldownPolicy);
    this.adoptCooldown(mine);
    this.budget.recordFlood(this.wall(sentAt), this.wall(now), this.cooldownPolicy).then(
      (state) => this.adoptCooldown(state),
      () => {
        // The local mirror still holds this process back; the next claim retries the store.
      },
    );
  }

  /**
   * 1fichier locked the account (`Owner locked`): nothing is sent by any process of the account
   * for the longest cool-down, since calling a locked account can only prolong the lock.
   */
  private noteAccountLock(): void {
    const now = this.clock.now();
    const until = now + this.scaled(this.options.floodCooldownMaxMs);
    this.adoptCooldown({ until: this.wall(until), startedAt: this.wall(now), level: this.cooldownLevel });
    this.budget.holdUntil(this.wall(until), this.wall(now)).then(
      (state) => this.adoptCooldown(state),
      () => {},
    );
  }

  private mirror(): CooldownState {
    return { until: this.coolUntil === -Infinity ? 0 : this.wall(this.coolUntil), startedAt: this.coolStartedAt === -Infinity ? 0 : this.wall(this.coolStartedAt), level: this.cooldownLevel };
  }

  /** Takes the store's view of the cool-down when it ends later than the one known here. */
  private adoptCooldown(state: CooldownState): void {
    if (state.until <= 0) return;
    // The cool-down that started last wins (it was computed from the one before it).
    const startedAt = this.local(state.startedAt);
    if (startedAt >= this.coolStartedAt) {
      this.coolUntil = this.local(state.until);
      this.coolStartedAt = startedAt;
      this.cooldownLevel = state.level;
    }
    if (this.coolUntil > this.clock.now()) this.schedulePump(this.coolUntil);
  }

  /**
   * Records a call made outside this scheduler (another client identified the account with
   * user/info, say) so the window `key` stays closed for the usual span from now.
   */
  async recordWindowUse(key: string, intervalMs: number): Promise<void> {
    await this.closeWindow({ key, intervalMs });
  }

  /** When the window `key` opens again, in ms from now (0 when open): from the store. */
  async windowWaitMs(key: string): Promise<number> {
    return Math.max(0, this.local(await this.budget.windowOpensAt(key)) - this.clock.now());
  }

  /** Loads the account's cool-down from the store (a restarted process resumes a running lock). */
  async syncCooldown(): Promise<void> {
    this.adoptCooldown(await this.budget.cooldown());
  }

  /** The cool-down a flood would start now (nominal ms), for docs and tests. */
  currentCooldownLevel(): number {
    return this.cooldownLevel;
  }

  // ------------------------------------------------------------------ dispatch gate

  private acquireSlot(priority: Priority, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    return new Promise((resolve, reject) => {
      const w: Waiter = { priority, resolve, reject, signal };
      if (signal) {
        w.onAbort = () => {
          const q = this.queues[priority];
          const i = q.indexOf(w);
          if (i >= 0) q.splice(i, 1);
          reject(abortReason(signal));
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      this.queues[priority].push(w);
      this.pump();
    });
  }

  /** Dispatches queued calls; one dispatch loop at a time (each claim is an await on the store). */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void this.dispatch().finally(() => {
      this.pumping = false;
      if (this.pumpAgain) {
        this.pumpAgain = false;
        this.pump();
      }
    });
  }

  private nextQueue(): Waiter[] | undefined {
    const q = this.queues.interactive.length > 0 ? this.queues.interactive : this.queues.background;
    return q.length > 0 ? q : undefined;
  }

  private async dispatch(): Promise<void> {
    for (;;) {
      this.pumpAgain = false;
      if (!this.nextQueue()) return;
      if (this.active >= this.options.apiConcurrency) return; // a release pumps again
      const now = this.clock.now();
      if (now < this.coolUntil) {
        this.schedulePump(this.coolUntil);
        return;
      }
      // The token is claimed for the call first in line now; one queued during the claim waits.
      const chosen = this.nextQueue()![0]!;
      let wait: number;
      try {
        const claim = await this.budget.claimSend(this.wall(now), this.rate);
        wait = claim.waitMs;
        this.adoptCooldown(claim.cooldown);
      } catch (err) {
        // No budget, no call: the waiter first in line fails with the store's error.
        const w = this.nextQueue()?.shift();
        if (w?.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
        w?.reject(err);
        continue;
      }
      if (wait > 0) {
        this.schedulePump(now + wait);
        return;
      }
      const q = this.queues[chosen.priority].includes(chosen) ? this.queues[chosen.priority] : this.nextQueue();
      if (!q) return; // the waiter gave up meanwhile: the token is spent, which only slows us down
      const w = q === this.queues[chosen.priority] && q.includes(chosen) ? q.splice(q.indexOf(chosen), 1)[0]! : q.shift()!;
      if (w.onAbort) w.signal?.removeEventListener('abort', w.onAbort);
      this.active++;
      let released = false;
      w.resolve(() => {
        if (released) return;
        released = true;
        this.active--;
        this.pump();
      });
    }
  }

  private schedulePump(at: number): void {
    if (this.pumpTimer !== undefined && this.pumpTimerAt <= at) return;
    if (this.pumpTimer !== undefined) this.clock.clearTimer(this.pumpTimer);
    this.pumpTimerAt = at;
    this.pumpTimer = this.clock.setTimer(() => {
      this.pumpTimer = undefined;
      this.pumpTimerAt = Infinity;
      this.pump();
    }, at - this.clock.now());
  }

  // ------------------------------------------------------------------ jobs

  /** Runs a job under every rule above. */
  run<T>(job: Job<T>): Promise<T> {
    const started = this.clock.now();
    if (job.shareKey && !job.fresh) {
      const s = this.shared.get(job.shareKey);
      if (s && started < s.until && !(s.invalidatedByWrites && s.generation !== this.writeGeneration)) {
        this.onReport?.({ endpoint: job.endpoint, outcome: 'shared', ms: 0, retries: 0, floods: 0 });
        return Promise.resolve(s.value as T);
      }
    }
    if (job.singleFlightKey) {
      const existing = this.inflight.get(job.singleFlightKey);
      if (existing) return existing as Promise<T>;
      const p = this.execute(job, started).finally(() => this.inflight.delete(job.singleFlightKey!));
      this.inflight.set(job.singleFlightKey, p);
      return p;
    }
    return this.execute(job, started);
  }

  private async execute<T>(job: Job<T>, started: number): Promise<T> {
    let retries = 0;
    let floods = 0;
    let firstSentAt: number | undefined;
    const onSent = (at: number) => (firstSentAt ??= at);
    const report = (outcome: JobReport['outcome'], err?: unknown) => {
      const e = err instanceof FichierError ? err : undefined;
      this.onReport?.({
        endpoint: job.endpoint,
        outcome,
        ms: Math.round(this.clock.now() - started),
        retries,
        floods,
        waitMs: Math.round((firstSentAt ?? this.clock.now()) - started),
        errorName: err ? (err instanceof Error ? err.name : 'Error') : undefined,
        code: e?.code,
        httpStatus: e?.httpStatus,
      });
    };
    const maxAttempts = job.retry === false ? 1 : this.options.maxAttempts;
    const generationAtStart = this.writeGeneration;
    for (let attempt = 1; ; attempt++) {
      let releaseWindow: (() => void) | undefined;
      try {
        if (job.window) releaseWindow = await this.enterWindow(job.window.key, job.signal);
        const value = await this.attemptOnce(job, attempt, onSent);
        if (job.window) await this.closeWindow(job.window).catch(() => {});
        if (job.shareKey && job.window) {
          this.shared.set(job.shareKey, {
            value,
            until: this.clock.now() + this.windowSpan(job.window.intervalMs),
            generation: generationAtStart,
            invalidatedByWrites: job.shareInvalidatedByWrites ?? true,
          });
        }
        report('ok');
        return value;
      } catch (err) {
        if (job.window && releaseWindow && !(err instanceof UnreachableError)) await this.closeWindow(job.window).catch(() => {});
        if (job.signal?.aborted) {
          const e = toAbortError(job.endpoint, job.signal);
          report('error', e);
          throw e;
        }
        if (err instanceof FloodError) floods++;
        const retryable =
          err instanceof FloodError ||
          (err instanceof FichierError && err.retryable) ||
          (job.retryIf?.(err) ?? false);
        if (!retryable || attempt >= maxAttempts) {
          report('error', err);
          throw err;
        }
        retries++;
        if (!(err instanceof FloodError)) {
          const o = this.options;
          const base = Math.min(o.retryMaxMs, o.retryBaseMs * 2 ** (attempt - 1));
          const delay = base / 2 + (base / 2) * this.random();
          try {
            await sleep(this.clock, this.scaled(delay), job.signal);
          } catch {
            const e = toAbortError(job.endpoint, job.signal!);
            report('error', e);
            throw e;
          }
        }
      } finally {
        releaseWindow?.();
      }
    }
  }

  private async attemptOnce<T>(job: Job<T>, attempt: number, onSent: (at: number) => void): Promise<T> {
    // Upload-node and CDN requests spend no API budget but still respect a flood cool-down.
    let release: (() => void) | undefined;
    let claim: { until: number; previous: number } | undefined;
    try {
      for (;;) {
        if (job.usesApiBudget === false) await this.waitForCooldown(job.signal);
        else release = await this.acquireSlot(job.priority ?? 'interactive', job.signal);
        if (!job.window) break;
        // The window is claimed in the store right before sending: another process may have
        // used it while this call waited for its turn.
        const answer = await this.budget.claimWindow(job.window.key, this.wall(this.clock.now()), this.windowSpan(job.window.intervalMs));
        if (answer.granted) {
          claim = answer;
          break;
        }
        release?.();
        release = undefined;
        this.noteWindow(job.window.key, this.clock.now() + answer.waitMs);
        await sleep(this.clock, answer.waitMs, job.signal);
      }
    } catch (err) {
      release?.();
      throw err;
    }
    const sentAt = this.clock.now();
    onSent(sentAt);
    try {
      return await job.run({ attempt, signal: job.signal });
    } catch (err) {
      if (err instanceof FloodError) this.noteFlood(sentAt);
      else if (err instanceof AccountLockedError) this.noteAccountLock();
      // Only a request that reached 1fichier spends its window.
      if (claim && job.window && err instanceof UnreachableError) {
        await this.budget.releaseWindow(job.window.key, claim).catch(() => {});
      }
      throw err;
    } finally {
      release?.();
    }
  }

  private noteWindow(key: string, nextAt: number): void {
    const state = this.windows.get(key);
    if (state && nextAt > state.nextAt) state.nextAt = nextAt;
  }

  /** Waits for our turn on a window key and for the window to open; returns the release. */
  private async enterWindow(key: string, signal?: AbortSignal): Promise<() => void> {
    let state = this.windows.get(key);
    if (!state) {
      this.sweep();
      state = { nextAt: -Infinity, holders: 0, tail: Promise.resolve() };
      this.windows.set(key, state);
    }
    const previous = state.tail;
    let releaseChain!: () => void;
    const mine = new Promise<void>((r) => (releaseChain = r));
    const st = state;
    st.holders++;
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      st.holders--;
      releaseChain();
    };
    state.tail = previous.then(() => mine);
    try {
      await raceAbort(previous, signal);
      // Another process (or this one before a restart) may have used the window: wait for it
      // here rather than after taking a rate token.
      this.noteWindow(key, this.local(await this.budget.windowOpensAt(key)));
      for (;;) {
        const wait = state.nextAt - this.clock.now();
        if (wait <= 0) break;
        await sleep(this.clock, wait, signal);
      }
    } catch (err) {
      // Let the next in line go once our predecessor is done.
      void previous.then(release);
      throw err;
    }
    return release;
  }

  /** Forgets windows and shared answers that can no longer matter (long-running servers list many folders). */
  private sweep(): void {
    if (this.windows.size < 2048 && this.shared.size < 2048) return;
    const now = this.clock.now();
    for (const [k, w] of this.windows) if (w.holders === 0 && w.nextAt <= now) this.windows.delete(k);
    for (const [k, r] of this.shared) if (r.until <= now) this.shared.delete(k);
  }

  private async closeWindow(window: { key: string; intervalMs: number }): Promise<void> {
    const nextAt = this.clock.now() + this.windowSpan(window.intervalMs);
    const state = this.windows.get(window.key);
    if (state) state.nextAt = nextAt;
    await this.budget.extendWindow(window.key, this.wall(nextAt));
  }
}

function toAbortError(endpoint: string, signal: AbortSignal): AbortedError {
  const reason = signal.reason instanceof Error ? signal.reason.message : 'aborted';
  return new AbortedError(`${endpoint}: ${reason}`, { endpoint });
}

function raceAbort<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * The bucket's rate (tokens per ms) with calls at least `jitterMs / 2` apart: four calls (one more
 * than 1fichier's burst) then span at least 1.5 x jitterMs as sent, so a lag of up to jitterMs
 * cannot bring them within one token's time of each other where they are counted.
 */
export function spacedRate(ratePerMs: number, jitterMs: number): number {
  return jitterMs > 0 ? Math.min(ratePerMs, 2 / jitterMs) : ratePerMs;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
