/**
 * A record of every flood answer the simulator gives, with the calls it counted to decide it, so
 * a test or a benchmark that sees a flood can name the calls involved (which endpoint, which
 * connection, when) instead of only a count. Read through `/__sim/stats` (`floodLog`) and
 * `sim.floodLog()`; cleared by `/__sim/reset`.
 *
 * Times are the simulator's clock (epoch ms, `Date.now()` plus any `advanceClock`), the same base
 * as the request log's `ms`.
 */

/** One API call as the limits saw it. */
export interface CountedCall {
  /** Epoch ms (simulated clock) at which the limits counted the call. */
  at: number;
  endpoint: string;
  /** The connection it came on, `address:port` (tells bridges apart: each has its own sockets). */
  caller: string;
  /** The listing window it fell in (a folder id, or 'all' for file/ls -1), if any. */
  folder?: string;
}

export interface FloodRecord extends CountedCall {
  /** Which rule refused it: see `Flood['reason']` in limits.ts. */
  reason: string;
  /** Whose budget: 'key' (the account's premium key; never its value) or 'ip:<address>'. */
  who: string;
  /** The rule in words, with its scaled span, e.g. "3 calls/s, burst 3 (scaled: 1 s = 50 ms)". */
  rule: string;
  /**
   * The calls the rule counted: for the rate, the calls that took a token within the last
   * burst / rate seconds (scaled) before this one; for a listing or user/info window, the earlier
   * call that opened the window; for an answer during a lock, the flood that started the lock.
   */
  counted: CountedCall[];
}

/** Flood records kept (the oldest are dropped past this). */
const KEEP = 200;

export class FloodLog {
  private records: FloodRecord[] = [];

  add(record: FloodRecord): void {
    this.records.push(record);
    if (this.records.length > KEEP) this.records.splice(0, this.records.length - KEEP);
  }

  list(): FloodRecord[] {
    return this.records.map((r) => ({ ...r, counted: r.counted.map((c) => ({ ...c })) }));
  }

  clear(): void {
    this.records = [];
  }
}

/** One line per flood, for a benchmark's note or a test's failure message. */
export function describeFlood(r: FloodRecord, origin = 0): string {
  const t = (ms: number) => `${Math.round(ms - origin)}`;
  const call = (c: CountedCall) => `${c.endpoint}${c.folder !== undefined ? `(${c.folder})` : ''}@${t(c.at)}ms from ${c.caller}`;
  const counted = r.counted.map(call).join(', ');
  return `${r.reason}: ${call(r)} [${r.rule}]${counted ? ` after ${counted}` : ''}`;
}
