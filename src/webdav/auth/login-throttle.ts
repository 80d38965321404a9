/**
 * How many password guesses anyone gets. A guess is a login attempt whose credentials were not
 * already proven from that address; it is admitted only while four sliding one-minute budgets all
 * have room, and reserves a place in each before the password is checked (so concurrent guesses
 * cannot overshoot):
 *
 * - per (address, user name): `pairThreshold` failures block that pair, first for `blockMs`, then
 *   twice as long each time, up to `maxBlockMs` (the classic lock-out, but only for that pair);
 * - per user name, from all addresses: `perNameLimit` failures;
 * - per address, for all names: `perAddressLimit` failures;
 * - in total: `globalLimit` failures, whatever the addresses and names (an attacker rotating
 *   addresses and names gets no more than this).
 * Name, address and global budgets never escalate: once the oldest failure is a minute old the
 * next attempt is admitted, so a stranger can slow a known user down but not lock them out for long.
 *
 * A successful login is not a guess: it gives its places back (it never clears anyone else's
 * failures) and makes the (address, name, password) a session for `sessionMs` (renewed on use).
 * A session is admitted whatever the budgets, so the real user keeps working while their name,
 * their address or the whole server is under attack. Only the exact password that succeeded from
 * that address opens it; while its pair is blocked, `pairThreshold` more wrong passwords from that
 * pair also close the session until the block ends, so it is no guessing oracle either.
 *
 * Memory is bounded: at most `maxTracked` pairs, names, addresses and sessions each (least recently
 * seen forgotten first). Session keys are HMACs under a per-process key, never the password.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';

export interface LoginThrottleOptions {
  /** Failures of one (address, name) within the window that block the pair. Default 5. */
  pairThreshold?: number;
  /** Failures of one name (all addresses) per window. Default 10. */
  perNameLimit?: number;
  /** Failures from one address (all names) per window. Default 30. */
  perAddressLimit?: number;
  /** Failures in total per window. Default 60. */
  globalLimit?: number;
  /** Default 60 000 ms. */
  windowMs?: number;
  /** First block of a pair. Default 30 000 ms. */
  blockMs?: number;
  /** Longest block of a pair. Default 15 minutes. */
  maxBlockMs?: number;
  /** How long a successful login from an address stays a session (renewed on use). Default 10 minutes. */
  sessionMs?: number;
  /** Entries tracked per kind. Default 10 000. */
  maxTracked?: number;
  now?: () => number;
}

/** Which budget refused an attempt. */
export type ThrottleScope = 'pair' | 'name' | 'address' | 'global';

export interface Ticket {
  readonly address: string;
  readonly name: string;
  /** Admitted as a proven session (no budget used). */
  readonly session: boolean;
  readonly sessionKey: string;
  /** When the places were reserved (removed again on success). */
  readonly at: number;
}

export type Admission = { ok: true; ticket: Ticket } | { ok: false; scope: ThrottleScope; retryAfterMs: number };

interface PairRecord {
  failures: number[];
  blockedUntil: number;
  nextBlockMs: number;
  /** Wrong passwords refused while blocked (they close the pair's session at pairThreshold). */
  missesWhileBlocked: number;
}

export class LoginThrottle {
  private readonly pairThreshold: number;
  private readonly perNameLimit: number;
  private readonly perAddressLimit: number;
  private readonly globalLimit: number;
  private readonly windowMs: number;
  private readonly blockMs: number;
  private readonly maxBlockMs: number;
  private readonly now: () => number;
  private readonly pairs: LRUCache<string, PairRecord>;
  private readonly names: LRUCache<string, number[]>;
  private readonly addresses: LRUCache<string, number[]>;
  private readonly global: number[] = [];
  private readonly sessions: LRUCache<string, true>;
  private readonly key = randomBytes(32);

  constructor(options: LoginThrottleOptions = {}) {
    this.pairThreshold = options.pairThreshold ?? 5;
    this.perNameLimit = options.perNameLimit ?? 10;
    this.perAddressLimit = options.perAddressLimit ?? 30;
    this.globalLimit = options.globalLimit ?? 60;
    this.windowMs = options.windowMs ?? 60_000;
    this.blockMs = options.blockMs ?? 30_000;
    this.maxBlockMs = options.maxBlockMs ?? 15 * 60_000;
    this.now = options.now ?? Date.now;
    const max = options.maxTracked ?? 10_000;
    this.pairs = new LRUCache({ max });
    this.names = new LRUCache({ max });
    this.addresses = new LRUCache({ max });
    this.sessions = new LRUCache({ max, ttl: options.sessionMs ?? 10 * 60_000, updateAgeOnGet: true, ttlAutopurge: false });
  }

  /** Decides whether the attempt may have its password checked; reserves its places when it may. */
  admit(address: string, name: string, password: string): Admission {
    const now = this.now();
    const sessionKey = createHmac('sha256', this.key).update(`${address}\0${name}\0${password}`, 'utf8').digest('base64');
    const pairKey = `${address}\0${name}`;
    const pair = this.pairs.get(pairKey);
    if (pair && pair.blockedUntil <= now) pair.missesWhileBlocked = 0;
    const pairBlocked = pair !== undefined && pair.blockedUntil > now;
    if (this.sessions.get(sessionKey) && !(pairBlocked && pair.missesWhileBlocked >= this.pairThreshold)) {
      return { ok: true, ticket: { address, name, session: true, sessionKey, at: now } };
    }
    if (pairBlocked) {
      pair.missesWhileBlocked++;
      return { ok: false, scope: 'pair', retryAfterMs: pair.blockedUntil - now };
    }
    const nameList = this.window(this.names, name, now);
    const addressList = this.window(this.addresses, address, now);
    prune(this.global, now - this.windowMs);
    const full: Array<[ThrottleScope, number[], number]> = [
      ['name', nameList, this.perNameLimit],
      ['address', addressList, this.perAddressLimit],
      ['global', this.global, this.globalLimit],
    ];
    for (const [scope, list, limit] of full) {
      if (list.length >= limit) return { ok: false, scope, retryAfterMs: Math.max(1, list[0] + this.windowMs - now) };
    }
    for (const [, list] of full) list.push(now);
    return { ok: true, ticket: { address, name, session: false, sessionKey, at: now } };
  }

  /** The password was right: the places are given back and the session remembered. */
  succeed(ticket: Ticket): void {
    this.sessions.set(ticket.sessionKey, true);
    if (ticket.session) return;
    for (const list of [this.names.get(ticket.name), this.addresses.get(ticket.address), this.global]) {
      if (!list) continue;
      const i = list.indexOf(ticket.at);
      if (i >= 0) list.splice(i, 1);
    }
  }

  /** The password was wrong: the places stay taken; returns the pair block it triggered (ms, 0 if none). */
  fail(ticket: Ticket): number {
    // A proven session whose password no longer verifies is forgotten.
    if (ticket.session) this.sessions.delete(ticket.sessionKey);
    const now = this.now();
    const pairKey = `${ticket.address}\0${ticket.name}`;
    const pair = this.pairs.get(pairKey) ?? { failures: [], blockedUntil: 0, nextBlockMs: this.blockMs, missesWhileBlocked: 0 };
    // A pair that behaved for a long while starts again from the first block length.
    if (pair.blockedUntil > 0 && now - pair.blockedUntil > this.maxBlockMs) pair.nextBlockMs = this.blockMs;
    prune(pair.failures, now - this.windowMs);
    pair.failures.push(now);
    let block = 0;
    if (pair.failures.length >= this.pairThreshold) {
      block = pair.nextBlockMs;
      pair.blockedUntil = now + block;
      pair.nextBlockMs = Math.min(pair.nextBlockMs * 2, this.maxBlockMs);
      pair.failures = [];
      pair.missesWhileBlocked = 0;
    }
    this.pairs.set(pairKey, pair);
    return block;
  }

  /** Failures counted against the global ceiling right now (for tests and diagnostics). */
  globalFailures(): number {
    prune(this.global, this.now() - this.windowMs);
    return this.global.length;
  }

  get trackedPairs(): number {
    return this.pairs.size;
  }

  private window(cache: LRUCache<string, number[]>, key: string, now: number): number[] {
    let list = cache.get(key);
    if (!list) {
      list = [];
      cache.set(key, list);
    }
    prune(list, now - this.windowMs);
    return list;
  }
}

/** Drops the timestamps at or before `oldest` (the lists are in time order). */
function prune(list: number[], oldest: number): void {
  let n = 0;
  while (n < list.length && list[n] <= oldest) n++;
  if (n > 0) list.splice(0, n);
}
