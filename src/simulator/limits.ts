/**
 * Flood detection (fichier-api.md §6): a token bucket of about 3 requests/s per key, one listing
 * of a given folder per 30 s, the all-files listing (-1) once per hour, user/info once per minute
 * (#38). Exceeding any of them answers HTTP 403 `Flood detected: IP Locked #374` (or #412) and
 * locks the key — or only the offending category — for a window during which every call answers
 * the same 403. All windows go through the clock's time scale.
 */
import type { Clock } from './clock.js';
import { FloodLog, type CountedCall, type FloodRecord } from './flood-log.js';
import { MSG } from './messages.js';
import type { SimOptions } from './options.js';

export type Category = 'user' | 'listing' | 'general';

export interface Flood {
  status: 403;
  message: string;
  /** Why the flood was raised (for logs and tests); not sent on the wire. */
  reason: 'locked' | 'rate' | 'folder-window' | 'all-files-window' | 'user-info-window' | 'listing-cap';
}

interface Bucket {
  tokens: number;
  at: number;
}

interface Lock {
  until: number;
  message: string;
  /** The flood that started the lock (named in the records of the answers it causes). */
  cause: CountedCall & { reason: string };
}

/** Calls remembered per budget for the flood records (more than any burst fills). */
const HISTORY = 32;

export function categoryOf(endpoint: string): Category {
  if (endpoint === 'user/info.cgi') return 'user';
  if (endpoint === 'file/ls.cgi' || endpoint === 'folder/ls.cgi') return 'listing';
  return 'general';
}

export class Limits {
  private buckets = new Map<string, Bucket>();
  private locks = new Map<string, Lock>();
  private lastListing = new Map<string, CountedCall>();
  private lastAllFiles = new Map<string, CountedCall>();
  private lastUserInfo = new Map<string, CountedCall>();
  /** The last calls that took a token, per budget (oldest first). */
  private history = new Map<string, CountedCall[]>();
  /** Every flood answer given, with the calls that decided it. */
  readonly floods = new FloodLog();
  private errorStreaks = new Map<string, number>();
  private bans = new Map<string, number>();

  constructor(private readonly clock: Clock, private readonly opts: () => SimOptions) {}

  reset(): void {
    this.buckets.clear();
    this.locks.clear();
    this.lastListing.clear();
    this.lastAllFiles.clear();
    this.lastUserInfo.clear();
    this.errorStreaks.clear();
    this.bans.clear();
    this.history.clear();
    this.floods.clear();
  }

  private floodText(o: SimOptions): string {
    return o.floodMessage ?? MSG.flood(o.floodCode);
  }

  /** The ban answer for an IP that earned one with repeated errors, if still banned. */
  banned(ip: string, endpoint = '?', caller = '?'): Flood | undefined {
    const o = this.opts();
    const until = this.bans.get(ip);
    if (!o.limitsEnabled || until === undefined || this.clock.now() >= until) return undefined;
    const rule = `banned for ${o.errorBanMs} ms (scaled: ${this.span(o.errorBanMs)}) after ${o.errorBanThreshold} error answers in a row`;
    this.floods.add({ at: this.clock.now(), endpoint, caller, reason: 'locked', who: `ip:${ip}`, rule, counted: [] });
    return { status: 403, message: this.floodText(o), reason: 'locked' };
  }

  /** Tracks consecutive error answers per IP (401/403/404/410) and bans past the threshold. */
  noteAnswer(ip: string, status: number): void {
    const o = this.opts();
    if (!o.limitsEnabled || o.errorBanThreshold <= 0) return;
    if (![401, 403, 404, 410].includes(status)) {
      this.errorStreaks.delete(ip);
      return;
    }
    const n = (this.errorStreaks.get(ip) ?? 0) + 1;
    this.errorStreaks.set(ip, n);
    if (n >= o.errorBanThreshold) {
      this.bans.set(ip, this.clock.now() + this.clock.scaled(o.errorBanMs));
      this.errorStreaks.delete(ip);
    }
  }

  /** Whether `who` is inside a lock window right now (for tests and /__sim/stats). */
  lockedCategories(who: string): string[] {
    const now = this.clock.now();
    const out: string[] = [];
    for (const [k, l] of this.locks) if (k.startsWith(`${who}\u0000`) && now < l.until) out.push(k.split('\u0000')[1]!);
    return out;
  }

  /**
   * Accounts for one API call; returns the flood answer if it must be refused. `caller` names the
   * connection (`address:port`) for the flood records.
   */
  check(who: string, endpoint: string, body: Record<string, unknown>, caller = '?'): Flood | undefined {
    const o = this.opts();
    if (!o.limitsEnabled) return undefined;
    const now = this.clock.now();
    const category = categoryOf(endpoint);
    const lockKey = `${who}\u0000${o.floodScope === 'key' ? '*' : category}`;
    const folderKey = endpoint === 'user/info.cgi' ? undefined : this.listingKey(endpoint, body, o);
    const call: CountedCall = { at: now, endpoint, caller, ...(folderKey !== undefined ? { folder: folderKey } : {}) };
    const record = (reason: Flood['reason'], rule: string, counted: CountedCall[]) =>
      this.floods.add({ ...call, reason, who: who.startsWith('key:') ? 'key' : who, rule, counted } satisfies FloodRecord);

    const lock = this.locks.get(lockKey);
    if (lock && now < lock.until) {
      if (o.extendLockOnHit) lock.until = now + this.clock.scaled(o.floodLockMs);
      record('locked', `locked for ${o.floodLockMs} ms (scaled: ${this.span(o.floodLockMs)}) after a ${lock.cause.reason} flood`, [lock.cause]);
      return { status: 403, message: lock.message, reason: 'locked' };
    }

    const flood = (message: string, reason: Flood['reason'], rule: string, counted: CountedCall[]): Flood => {
      this.locks.set(lockKey, { until: now + this.clock.scaled(o.floodLockMs), message, cause: { ...call, reason } });
      record(reason, rule, counted);
      return { status: 403, message, reason };
    };

    if (!this.takeToken(who, now, o)) {
      // The calls that emptied the bucket: those of the last burst / rate seconds.
      const span = this.clock.scaled((o.rateBurst / o.ratePerSecond) * 1000);
      const recent = (this.history.get(who) ?? []).filter((c) => now - c.at <= span);
      return flood(this.floodText(o), 'rate', `${o.ratePerSecond} calls/s, burst ${o.rateBurst} (scaled: one call per ${this.span(1000 / o.ratePerSecond)})`, recent);
    }
    this.remember(who, call);

    if (endpoint === 'user/info.cgi') {
      const last = this.lastUserInfo.get(who);
      if (last !== undefined && now - last.at < this.clock.scaled(o.userInfoWindowMs)) {
        return flood(MSG.floodUserInfo, 'user-info-window', `user/info once per ${o.userInfoWindowMs} ms (scaled: ${this.span(o.userInfoWindowMs)})`, [last]);
      }
      this.lastUserInfo.set(who, call);
      return undefined;
    }

    if (folderKey === 'all') {
      const last = this.lastAllFiles.get(who);
      if (last !== undefined && now - last.at < this.clock.scaled(o.allFilesWindowMs)) {
        return flood(this.floodText(o), 'all-files-window', `all files once per ${o.allFilesWindowMs} ms (scaled: ${this.span(o.allFilesWindowMs)})`, [last]);
      }
      this.lastAllFiles.set(who, call);
    } else if (folderKey !== undefined) {
      const k = `${who}\u0000${folderKey}`;
      const last = this.lastListing.get(k);
      if (last !== undefined && now - last.at < this.clock.scaled(o.perFolderListingWindowMs)) {
        return flood(this.floodText(o), 'folder-window', `a folder listed once per ${o.perFolderListingWindowMs} ms (scaled: ${this.span(o.perFolderListingWindowMs)})`, [last]);
      }
      this.lastListing.set(k, call);
    }
    return undefined;
  }

  /** A nominal duration as applied, for the flood records' rule text. */
  private span(nominalMs: number): string {
    return `${Math.round(this.clock.scaled(nominalMs) * 100) / 100} ms`;
  }

  private remember(who: string, call: CountedCall): void {
    let list = this.history.get(who);
    if (!list) this.history.set(who, (list = []));
    list.push(call);
    if (list.length > HISTORY) list.shift();
  }

  /** Which per-folder window a listing call falls in: a folder id, 'all' for -1, or none. */
  private listingKey(endpoint: string, body: Record<string, unknown>, o: SimOptions): string | undefined {
    const raw = body.folder_id;
    const id = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw) ? Number(raw) : 0;
    if (endpoint === 'file/ls.cgi') return id === -1 ? 'all' : String(id);
    if (endpoint === 'folder/ls.cgi') {
      const withFiles = body.files === 1 || body.files === '1' || body.files === true;
      if (o.perFolderWindowEndpoints === 'all-listings') return String(id);
      if (o.perFolderWindowEndpoints === 'file-ls+folder-ls-files' && withFiles) return String(id);
    }
    return undefined;
  }

  private takeToken(who: string, now: number, o: SimOptions): boolean {
    const ratePerMs = o.ratePerSecond / this.clock.scaled(1000);
    let b = this.buckets.get(who);
    if (!b) {
      b = { tokens: o.rateBurst, at: now };
      this.buckets.set(who, b);
    }
    b.tokens = Math.min(o.rateBurst, b.tokens + (now - b.at) * ratePerMs);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
