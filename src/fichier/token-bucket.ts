/**
 * Token bucket: `ratePerMs` tokens per millisecond, at most `burst` stored. Pure arithmetic on the
 * times it is given, so it is trivially testable.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerMs: number,
    private readonly burst: number,
    now: number,
  ) {
    if (!(ratePerMs > 0)) throw new RangeError('token bucket rate must be > 0');
    if (!(burst >= 1)) throw new RangeError('token bucket burst must be >= 1');
    // Start with one token, not a full burst: after a restart the server may still count our
    // last calls.
    this.tokens = 1;
    this.last = now;
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
