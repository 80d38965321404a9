/**
 * Everything a bridge shares with the other bridges of its account through Redis (`--redis-url`),
 * built in one place so the bridge's wiring stays a few lines:
 *
 * - the API budget (`shareBudget` wraps the account's local store: Redis first, the local store
 *   at `rate / bridges` while Redis is unreachable);
 * - WebDAV lock records (`locks`);
 * - per-path write ordering (`pathLocks`), which catches up with the cache bus once granted;
 * - the cache bus: our folder-cache patches go out (`publish`), the others' come in (`attach`);
 *   changes missed while disconnected are read back from Redis, or, when no longer kept, every
 *   cached listing is dropped (`attach`'s `dropListings`);
 * - the write journal (`journal`), so a dead bridge's unfinished writes are settled by another;
 * - a shared cap on download connections (`connectionBudget`).
 *
 * `status()` says whether Redis is reachable, for readiness and metrics.
 */
import type { FolderPatch } from '../../drive/folder-cache.js';
import type { BudgetStore } from '../../fichier/budget-store.js';
import { CacheBus } from './cache-bus.js';
import { RedisConnectionBudget } from './connection-budget.js';
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
  /** Of those, read back from the change log after a disconnection. */
  replayedChanges: number;
  /** Disconnections whose missed changes were no longer kept (every cached listing dropped). */
  missedChangeGaps: number;
}

export class RedisCoordination {
  readonly link: RedisLink;
  readonly locks: RedisLockStore;
  readonly pathLocks: RedisPathLocks;
  /** The write journal shared by the bridges: a dead bridge's unfinished writes are settled by another. */
  readonly journal: RedisWriteJournal;
  readonly journalLeaseMs: number;
  private readonly bus: CacheBus;
  private connections: RedisConnectionBudget | undefined;
  private applyChange: ((patch: FolderPatch) => void) | undefined;
  private dropListings: ((since: number) => void) | undefined;
  /** Shared listings made before this (wall-clock ms) may miss changes this bridge never received. */
  private listingsNotBefore = 0;

  constructor(private readonly options: RedisCoordinationOptions) {
    this.link = new RedisLink({ url: options.url, account: options.account, logger: options.logger });
    this.locks = new RedisLockStore(this.link);
    this.bus = new CacheBus(this.link, {
      apply: (patch) => this.applyChange?.(patch),
      onGap: (why) => {
        options.logger?.warn('redis: cache changes of other bridges were missed and are no longer kept; cached listings dropped', { why });
        this.listingsNotBefore = Date.now();
        this.dropListings?.(this.listingsNotBefore);
      },
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

  /**
   * The account's download connections, `limit` at most across every bridge (one budget per
   * coordination: later calls return the first, whatever their limit).
   */
  connectionBudget(limit: number, options: { leaseMs?: number } = {}): RedisConnectionBudget {
    this.connections ??= new RedisConnectionBudget(this.link, { limit, bridges: this.options.bridges, ...options });
    return this.connections;
  }

  /** `upstream` with folder listings shared by the bridges for the listing window. */
  shareListings(upstream: Upstream, listingWindowMs: number): Upstream {
    return shareListings(upstream, this.link, { listingWindowMs, notBefore: () => this.listingsNotBefore });
  }

  /**
   * Where other bridges' cache changes go (the drive's `applyRemoteChange`), and what drops every
   * listing cached before `since` (wall-clock ms) when changes were missed beyond recall.
   */
  attach(apply: (patch: FolderPatch) => void, dropListings?: (since: number) => void): void {
    this.applyChange = apply;
    this.dropListings = dropListings;
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
      replayedChanges: this.bus.replayed,
      missedChangeGaps: this.bus.gaps,
    };
  }

  /** Hands our last changes to Redis (a CLI command exits right after its write), then disconnects. */
  async close(): Promise<void> {
    this.journal.close();
    this.connections?.close();
    await this.bus.flush();
    await this.link.close();
  }
}
