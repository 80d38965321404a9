/**
 * Everything a bridge shares with the other bridges of its account through Redis (`--redis-url`),
 * built in one place so the bridge's wiring stays a few lines:
 *
 * - the API budget (`shareBudget` wraps the account's local store: Redis first, the local store
 *   at `rate / bridges` while Redis is unreachable);
 * - WebDAV lock records (`locks`);
 * - per-path write ordering (`pathLocks`), which catches up with the cache bus once granted;
 * - the cache bus: our folder-cache patches go out (`publish`), the others' come in (`attach`);
 * - the write journal (`journal`), so a dead bridge's unfinished writes are settled by another.
 *
 * `status()` says whether Redis is reachable, for readiness and metrics.
 */
import type { FolderPatch } from '../../drive/folder-cache.js';
import type { BudgetStore } from '../../fichier/budget-store.js';
import { CacheBus } from './cache-bus.js';
import { RedisLink, type RedisLogger } from './connection.js';
import { FailoverBudgetStore } from './failover-budget.js';
import { RedisBudgetStore } from './budget-store.js';
import { RedisLockStore } from './lock-store.js';
import { RedisPathLocks } from './path-locks.js';
import { shareListings } from './shared-listings.js';
import { RedisWriteJournal } from './write-journal.js';
import type { Upstream } from '../../drive/upstream.js';

export interface RedisCoordinationOptions {
  url: string;
  /** The account's key fingerprint (names its keys; never the key itself). */
  account: string;
  /** Bridges sharing the account (pace while Redis is unreachable: rate / bridges). */
  bridges: number;
  logger?: RedisLogger;
  /** Owner lease of the shared write journal (ms). Default 15 000. */
  journalLeaseMs?: number;
}

export interface RedisStatus {
  reachable: boolean;
  /** Wall-clock ms since when it is unreachable. */
  unreachableSince?: number;
  /** Connections lost since the start. */
  outages: number;
  /** Cache changes received from other bridges. */
  remoteChanges: number;
}

export class RedisCoordination {
  readonly link: RedisLink;
  readonly locks: RedisLockStore;
  readonly pathLocks: RedisPathLocks;
  /** The write journal shared by the bridges: a dead bridge's unfinished writes are settled by another. */
  readonly journal: RedisWriteJournal;
  readonly journalLeaseMs: number;
  private readonly bus: CacheBus;
  private applyChange: ((patch: FolderPatch) => void) | undefined;

  constructor(private readonly options: RedisCoordinationOptions) {
    this.link = new RedisLink({ url: options.url, account: options.account, logger: options.logger });
    this.locks = new RedisLockStore(this.link);
    this.bus = new CacheBus(this.link, {
      apply: (patch) => this.applyChange?.(patch),
      onResync: () => options.logger?.info('redis: reconnected; cache changes made by other bridges meanwhile were refused writes or expire with the cache'),
    });
    this.journalLeaseMs = options.journalLeaseMs ?? 15_000;
    this.journal = new RedisWriteJournal(this.link, { leaseMs: this.journalLeaseMs });
    this.pathLocks = new RedisPathLocks(this.link, {
      afterAcquire: () => this.bus.catchUp(),
      onLeaseLost: (paths) => options.logger?.warn('redis: a write outlived its path lock (Redis lost it or renewals were late)', { paths }),
    });
  }

  /** The account's budget as this bridge uses it: shared through Redis, `local` meanwhile. */
  shareBudget(local: BudgetStore): BudgetStore {
    return new FailoverBudgetStore({ shared: new RedisBudgetStore(this.link), local, health: this.link.health, bridges: this.options.bridges });
  }

  /** `upstream` with folder listings shared by the bridges for the listing window. */
  shareListings(upstream: Upstream, listingWindowMs: number): Upstream {
    return shareListings(upstream, this.link, { listingWindowMs });
  }

  /** Where other bridges' cache changes go (the drive's `applyRemoteChange`). */
  attach(apply: (patch: FolderPatch) => void): void {
    this.applyChange = apply;
  }

  /** Sends one of our cache changes to the other bridges. */
  publish(patch: FolderPatch): void {
    this.bus.publish(patch);
  }

  /** Waits up to `timeoutMs` for the first connection (the bridge serves either way). */
  ready(timeoutMs: number): Promise<boolean> {
    return this.link.waitUntilUp(timeoutMs);
  }

  status(): RedisStatus {
    const since = this.link.health.unreachableSince();
    return {
      reachable: this.link.health.isUp(),
      ...(since !== undefined ? { unreachableSince: since } : {}),
      outages: this.link.health.outages,
      remoteChanges: this.bus.received,
    };
  }

  close(): Promise<void> {
    this.journal.close();
    return this.link.close();
  }
}
