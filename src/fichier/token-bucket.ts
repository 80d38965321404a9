/**
 * Token bucket: `ratePerMs` tokens per millisecond, at most `burst` stored. Pure arithmetic on the
 * times it is given, so it is trivially testable.
 */
export interface TokenBucketState {
  /** Tokens stored at `last` (may be fractional). */
  tokens: number;
  /** The time of the last refill, in the caller's time base (ms). */
  last: number;
}

export class TokenBucket {
  private tokens: number;
  private last: number;

  /**
   * `state` resumes a bucket saved by `state()` (another process, or before a restart); without
   * it the bucket starts with one token, not a full burst: the server may still count our last
   * calls.
   */
  constructor(
    private readonly ratePerMs: number,
    private readonly burst: number,
    now: number,
    state?: TokenBucketState,
  ) {
    if (!(ratePerMs > 0)) throw new RangeError('token bucket rate must be > 0');
    if (!(burst >= 1)) throw new RangeError('token bucket burst must be >= 1');
    this.tokens = state ? Math.min(burst, Math.max(0, state.tokens)) : 1;
    // A saved refill time in the future (a clock stepped back) refills from now, not later.
    this.last = state ? Math.min(state.last, now) : now;
  }

  /** What to save to resume this bucket later. */
  state(): TokenBucketState {
    return { tokens: this.tokens, last: this.last };
  }

  private refill(now: number): void {
    if (now > this.last) {
      this.tokens = Math.min(this.burst, this.tokens + (now - this.last) * this.ratePerMs);
      this.last = now;
    }
  }

  /** Takes a token and returns 0, or returns how many ms to wait before one is available. */
  take(now: number): number {
    this.refill(now);
    if (this.tokens >= 1 - 1e-9) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.ratePerMs - 1e-6));
  }

  /** Drops stored tokens (after a flood cool-down, so calls do not resume as a burst). */
  drain(now: number, keep = 1): void {
    this.refill(now);
    this.tokens = Math.min(this.tokens, keep);
  }
}
