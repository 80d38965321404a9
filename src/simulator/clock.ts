/**
 * Simulated time. Wall-clock instants (for dates shown in listings) come from `now()`, which tests
 * may push forward with `advance()`; every duration of the simulator goes through `scaled()` so a
 * whole suite can run the real 30 s / 5 min / 1 h windows in a fraction of a second.
 */
export class Clock {
  private offsetMs = 0;

  constructor(private scale: number) {}

  get timeScale(): number {
    return this.scale;
  }

  setTimeScale(scale: number): void {
    this.scale = scale;
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }

  /** Moves simulated time forward (expires tokens, windows and locks without waiting). */
  advance(ms: number): void {
    this.offsetMs += ms;
  }

  /** A nominal duration (e.g. 30 000 ms) as the simulator really applies it. */
  scaled(ms: number): number {
    return ms * this.scale;
  }
}
