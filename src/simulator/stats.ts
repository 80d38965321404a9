/**
 * What the simulator saw: call counts per endpoint, outcomes, floods, bytes, download concurrency,
 * and a bounded request log. Tests and benchmarks read it to assert pacing and call budgets.
 * `/__sim/*` control calls are never counted.
 */
export type HostKind = 'api' | 'upload' | 'download';

export interface LogEntry {
  /** ISO time of the request's arrival (simulated clock). */
  time: string;
  /** Epoch ms of arrival (simulated clock), for spacing assertions. */
  ms: number;
  host: HostKind;
  /** Which listener, e.g. 'api', 'up1', 'download'. */
  node: string;
  method: string;
  path: string;
  endpoint: string;
  status: number;
  /** 'OK', 'KO', 'flood', 'html', 'redirect', 'data', 'dropped', 'fault', 'error'. */
  outcome: string;
  /** The KO message, if any. */
  message?: string;
  /** The connection it came on, `address:port` (tells clients apart; flood records use the same). */
  caller: string;
  /** Whether an Authorization header came with the request (never its value). */
  auth: boolean;
  /** A few request headers useful in assertions (never Authorization or Cookie). */
  headers: Record<string, string>;
  /** The parsed JSON body of an API call (never contains the key: keys travel in headers). */
  body?: unknown;
  durationMs: number;
}

export interface Outcomes {
  [outcome: string]: number;
}

export interface StatsSnapshot {
  calls: Record<string, number>;
  outcomes: Record<string, Outcomes>;
  statuses: Record<string, Record<string, number>>;
  floods: number;
  errors: number;
  downloadRequests: number;
  bytesServed: number;
  bytesReceived: number;
  uploads: number;
  peakConcurrentDownloads: number;
  concurrentDownloads: number;
  tokensIssued: number;
  since: string;
}

const LOGGED_HEADERS = ['content-type', 'content-length', 'transfer-encoding', 'range', 'json', 'user-agent', 'x-request-id'];
const LOG_CAP = 20_000;

export class Stats {
  private calls: Record<string, number> = {};
  private outcomes: Record<string, Outcomes> = {};
  private statuses: Record<string, Record<string, number>> = {};
  private floods = 0;
  private errors = 0;
  downloadRequests = 0;
  bytesServed = 0;
  bytesReceived = 0;
  uploads = 0;
  tokensIssued = 0;
  peakConcurrentDownloads = 0;
  concurrentDownloads = 0;
  private entries: LogEntry[] = [];
  private since: number;

  constructor(private readonly now: () => number) {
    this.since = now();
  }

  pickHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const h of LOGGED_HEADERS) {
      const v = headers[h];
      if (v !== undefined) out[h] = Array.isArray(v) ? v.join(', ') : v;
    }
    return out;
  }

  record(entry: LogEntry): void {
    const ep = entry.endpoint;
    this.calls[ep] = (this.calls[ep] ?? 0) + 1;
    const o = (this.outcomes[ep] ??= {});
    o[entry.outcome] = (o[entry.outcome] ?? 0) + 1;
    const s = (this.statuses[ep] ??= {});
    s[String(entry.status)] = (s[String(entry.status)] ?? 0) + 1;
    if (entry.outcome === 'flood') this.floods++;
    if (entry.status >= 400 || entry.outcome === 'KO' || entry.outcome === 'dropped') this.errors++;
    this.entries.push(entry);
    if (this.entries.length > LOG_CAP) this.entries.splice(0, this.entries.length - LOG_CAP);
  }

  downloadStarted(): void {
    this.concurrentDownloads++;
    if (this.concurrentDownloads > this.peakConcurrentDownloads) this.peakConcurrentDownloads = this.concurrentDownloads;
  }

  downloadEnded(): void {
    this.concurrentDownloads = Math.max(0, this.concurrentDownloads - 1);
  }

  snapshot(): StatsSnapshot {
    return {
      calls: { ...this.calls },
      outcomes: JSON.parse(JSON.stringify(this.outcomes)) as Record<string, Outcomes>,
      statuses: JSON.parse(JSON.stringify(this.statuses)) as Record<string, Record<string, number>>,
      floods: this.floods,
      errors: this.errors,
      downloadRequests: this.downloadRequests,
      bytesServed: this.bytesServed,
      bytesReceived: this.bytesReceived,
      uploads: this.uploads,
      peakConcurrentDownloads: this.peakConcurrentDownloads,
      concurrentDownloads: this.concurrentDownloads,
      tokensIssued: this.tokensIssued,
      since: new Date(this.since).toISOString(),
    };
  }

  log(): LogEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  /** Clears counters and the log. Live downloads stay counted as concurrent; the peak restarts from them. */
  reset(): void {
    this.calls = {};
    this.outcomes = {};
    this.statuses = {};
    this.floods = 0;
    this.errors = 0;
    this.downloadRequests = 0;
    this.bytesServed = 0;
    this.bytesReceived = 0;
    this.uploads = 0;
    this.tokensIssued = 0;
    this.peakConcurrentDownloads = this.concurrentDownloads;
    this.entries = [];
    this.since = this.now();
  }
}
