/**
 * Real-time waits the simulator is told to make (network options, slow faults). Node's setTimeout
 * fires after 1 ms, with only a warning, for a delay beyond 2^31 - 1 ms (about 24.8 days), so a
 * huge option value would silently mean "no wait at all": the wait goes in steps instead.
 */

/** The longest delay one Node timer takes. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Resolves after `ms` real milliseconds (at once for 0 or less). The timers are unref'd: a wait
 * never keeps a process alive by itself (the simulator's listeners do while it runs).
 */
export async function waitMs(ms: number): Promise<void> {
  let left = ms;
  while (left > 0) {
    const step = Math.min(left, MAX_TIMER_MS);
    await new Promise<void>((resolve) => setTimeout(resolve, step).unref());
    left -= step;
  }
}
