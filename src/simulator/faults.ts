/**
 * Fault injection, switchable at runtime (sim.setFaults / POST /__sim/faults). Counters count
 * down as faults fire, so "the next N requests" faults switch themselves off.
 */
import type { HostKind } from './stats.js';

export interface FailureRule {
  /** Which listener: 'api', 'upload', 'download' or 'any' (default). */
  host?: HostKind | 'any';
  /** Endpoint name as in stats ('folder/ls.cgi', 'upload.cgi', 'end.pl', 'download'); any when absent. */
  endpoint?: string;
  /** How many matching requests fail (default 1). */
  count?: number;
  /** HTTP status to answer (default 503); ignored when `drop` is set. */
  status?: number;
  /** Destroy the connection without an answer instead. */
  drop?: boolean;
  /** Answer 1fichier's flood refusal instead (HTTP 403, `Flood detected: IP Locked #<floodCode>`). */
  flood?: boolean;
}

export interface SlowRule {
  host?: HostKind | 'any';
  endpoint?: string;
  /** Delay before answering, real milliseconds (not scaled: it exercises client timeouts). */
  delayMs: number;
  /** How many requests are slowed; unlimited when absent. */
  count?: number;
}

export interface Faults {
  /** The next N end.pl JSON answers carry `links: []` (RI-5152). */
  endPlNoLinks?: number;
  /** The next N end.pl JSON answers report a Whirlpool that is not the stored file's (a corrupted transfer). */
  endPlWrongWhirlpool?: number;
  /** end.pl answers HTML (200) instead of JSON for files with these extensions, e.g. ['.exe', '.jar']. */
  endPlHtmlExtensions?: string[];
  /** Each upload finished while this is set answers "please wait" HTML to its first N end.pl polls. */
  endPlPleaseWait?: number;
  /** The next N upload.cgi POSTs answer `Ne peut ouvrir le fichier destination` HTML. */
  uploadRefusals?: number;
  /** New files (uploads, copies, remote uploads) show up in listings only after this delay (scaled ms). */
  listingDelayMs?: number;
  /** Deleted files keep showing in listings, and count in folder/rm, for this long (scaled ms). */
  deleteLingerMs?: number;
  /** 5xx answers or dropped connections on any host. */
  failures?: FailureRule[];
  /** Cut the connection of the next `count` downloads after `bytes` bytes of body. */
  cutDownload?: { bytes: number; count?: number };
  slow?: SlowRule[];
  /**
   * The account is locked: every authenticated API call answers HTTP 403 with 1fichier's account
   * lock (`'owner'`: `Owner locked #620`) or the password lockout (`'password'`: a #93 answer).
   */
  accountLock?: 'owner' | 'password';
}

export class FaultError extends Error {}

function nonNegInt(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new FaultError(`fault "${name}" must be a non-negative integer`);
  return v;
}

const HOSTS = ['api', 'upload', 'download', 'any'];

function checkRuleHost(rule: { host?: unknown; endpoint?: unknown }, name: string): void {
  if (rule.host !== undefined && !HOSTS.includes(rule.host as string)) throw new FaultError(`fault "${name}.host" must be one of ${HOSTS.join(', ')}`);
  if (rule.endpoint !== undefined && typeof rule.endpoint !== 'string') throw new FaultError(`fault "${name}.endpoint" must be a string`);
}

/** Validates a faults patch; `null` for a key switches that fault off. */
export function validateFaults(patch: unknown): Record<string, unknown> {
  if (!patch || typeof patch !== 'object' || Array.isArray(patch)) throw new FaultError('faults must be a JSON object');
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(patch as Record<string, unknown>)) {
    if (v === null || v === undefined) {
      out[k] = undefined;
      continue;
    }
    switch (k) {
      case 'endPlNoLinks':
      case 'endPlWrongWhirlpool':
      case 'endPlPleaseWait':
      case 'uploadRefusals':
      case 'listingDelayMs':
      case 'deleteLingerMs':
        out[k] = nonNegInt(v, k);
        break;
      case 'endPlHtmlExtensions':
        if (!Array.isArray(v) || !v.every((e) => typeof e === 'string')) throw new FaultError('fault "endPlHtmlExtensions" must be an array of strings');
        out[k] = v.map((e: string) => (e.startsWith('.') ? e : `.${e}`).toLowerCase());
        break;
      case 'failures':
        if (!Array.isArray(v)) throw new FaultError('fault "failures" must be an array');
        out[k] = v.map((r: unknown) => {
          if (!r || typeof r !== 'object') throw new FaultError('each failure rule must be an object');
          const rule = r as FailureRule;
          checkRuleHost(rule, 'failures');
          const count = rule.count === undefined ? 1 : nonNegInt(rule.count, 'failures.count');
          const status = rule.status === undefined ? 503 : nonNegInt(rule.status, 'failures.status');
          if (!rule.drop && (status < 400 || status > 599)) throw new FaultError('fault "failures.status" must be 400-599');
          return { host: rule.host ?? 'any', endpoint: rule.endpoint, count, status, drop: Boolean(rule.drop), flood: Boolean(rule.flood) };
        });
        break;
      case 'cutDownload': {
        const c = v as { bytes?: unknown; count?: unknown };
        out[k] = { bytes: nonNegInt(c.bytes, 'cutDownload.bytes'), count: c.count === undefined ? 1 : nonNegInt(c.count, 'cutDownload.count') };
        break;
      }
      case 'slow':
        if (!Array.isArray(v)) throw new FaultError('fault "slow" must be an array');
        out[k] = v.map((r: unknown) => {
          if (!r || typeof r !== 'object') throw new FaultError('each slow rule must be an object');
          const rule = r as SlowRule;
          checkRuleHost(rule, 'slow');
          return { host: rule.host ?? 'any', endpoint: rule.endpoint, delayMs: nonNegInt(rule.delayMs, 'slow.delayMs'), count: rule.count === undefined ? undefined : nonNegInt(rule.count, 'slow.count') };
        });
        break;
      case 'accountLock':
        if (v !== 'owner' && v !== 'password') throw new FaultError('fault "accountLock" must be "owner" or "password"');
        out[k] = v;
        break;
      default:
        throw new FaultError(`unknown fault "${k}"`);
    }
  }
  return out;
}

export class FaultState {
  current: Faults = {};

  set(patch: unknown): Faults {
    const checked = validateFaults(patch);
    const next: Record<string, unknown> = { ...this.current };
    for (const [k, v] of Object.entries(checked)) {
      if (v === undefined) delete next[k];
      else next[k] = v;
    }
    this.current = next as Faults;
    return this.current;
  }

  clear(): void {
    this.current = {};
  }

  private matches(rule: { host?: string; endpoint?: string }, host: HostKind, endpoint: string): boolean {
    return (rule.host === undefined || rule.host === 'any' || rule.host === host) && (rule.endpoint === undefined || rule.endpoint === endpoint);
  }

  /** Consumes a matching failure rule, if any. */
  takeFailure(host: HostKind, endpoint: string): { status: number; drop: boolean; flood: boolean } | undefined {
    const rules = this.current.failures;
    if (!rules) return undefined;
    for (const r of rules) {
      if ((r.count ?? 0) > 0 && this.matches(r, host, endpoint)) {
        r.count = (r.count ?? 1) - 1;
        return { status: r.status ?? 503, drop: Boolean(r.drop), flood: Boolean(r.flood) };
      }
    }
    return undefined;
  }

  /** Consumes a matching slow rule; returns the delay in ms (0 if none). */
  takeDelay(host: HostKind, endpoint: string): number {
    const rules = this.current.slow;
    if (!rules) return 0;
    for (const r of rules) {
      if (r.count !== undefined && r.count <= 0) continue;
      if (!this.matches(r, host, endpoint)) continue;
      if (r.count !== undefined) r.count--;
      return r.delayMs;
    }
    return 0;
  }

  /** Decrements a counter fault; true if it fired. */
  take(key: 'endPlNoLinks' | 'endPlWrongWhirlpool' | 'uploadRefusals'): boolean {
    const n = this.current[key] ?? 0;
    if (n <= 0) return false;
    this.current[key] = n - 1;
    return true;
  }

  takeCut(): number | undefined {
    const c = this.current.cutDownload;
    if (!c || (c.count ?? 1) <= 0) return undefined;
    c.count = (c.count ?? 1) - 1;
    return c.bytes;
  }
}
