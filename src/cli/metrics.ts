/**
 * Prometheus metrics for the bridge, served on their own port (`--metrics-port`) so they are
 * never exposed through the WebDAV listener. Counters are fed by the client's per-call
 * events and by the per-request observer; gauges that belong to other components (scheduler
 * queue, caches) are read at scrape time through collect callbacks.
 */
import http from 'node:http';
import { listenOn } from '../webdav/server.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FichierLogEvent } from '../fichier/index.js';
import { answerHealth, type Readiness } from './health.js';

export interface GaugeSources {
  /** Jobs waiting in the scheduler, by priority. */
  queueDepth?: () => { interactive: number; background: number };
  /** Remaining flood cool-down (ms), 0 when none. */
  coolDownMs?: () => number;
  /** Cumulative cache counters (folder cache, block cache...). */
  cache?: () => Record<string, { hits: number; misses: number; evictions?: number; bytesSaved?: number; corrupt?: number; parallelTrials?: number; parallelKept?: number }>;
  /** Change notifications waiting or being delivered (batches and retries). */
  notifyPending?: () => number;
  /** With --redis-url: the shared Redis's state. */
  redis?: () => { reachable: boolean; outages: number; remoteChanges: number; replayedChanges?: number; missedChangeGaps?: number };
}

type CacheStats = ReturnType<NonNullable<GaugeSources['cache']>>[string];

/**
 * A counter copied from each cache's own count at every scrape. A cache that does not keep the
 * count (`pick` gives undefined: the folder cache has no parallel streams) has no series, rather
 * than a 0 that reads as "measured, none".
 */
function cacheCounter(registry: Registry, sources: GaugeSources, name: string, help: string, pick: (stats: CacheStats) => number | undefined): void {
  new Counter({
    name,
    help,
    labelNames: ['cache'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [cache, stats] of Object.entries(sources.cache?.() ?? {})) {
        const value = pick(stats);
        if (value !== undefined) this.inc({ cache }, value);
      }
    },
  });
}

/**
 * The bridge's metrics, named per Prometheus conventions: one `fichier_dav_` prefix, counters end
 * in `_total`, units in names (`_seconds`, `_bytes`); Node's default process metrics unprefixed.
 */
export class BridgeMetrics {
  readonly registry = new Registry();
  private readonly apiCalls = new Counter({
    name: 'fichier_dav_api_calls_total',
    help: 'Upstream 1fichier calls by endpoint and outcome (ok, error, shared = answered from an identical call).',
    labelNames: ['endpoint', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly apiRetries = new Counter({
    name: 'fichier_dav_api_retries_total',
    help: 'Retries of upstream calls, by endpoint.',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  });
  private readonly floods = new Counter({
    name: 'fichier_dav_api_flood_answers_total',
    help: 'Flood answers (403 Flood detected) received from 1fichier.',
    registers: [this.registry],
  });
  private readonly uploadFailures = new Counter({
    name: 'fichier_dav_upload_failures_total',
    help: 'Uploads that failed (refusals, missing reports, checksum mismatches, cuts).',
    registers: [this.registry],
  });
  private readonly upstreamDuration = new Histogram({
    name: 'fichier_dav_api_call_duration_seconds',
    help: 'Upstream call duration including scheduler wait and retries.',
    labelNames: ['endpoint'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly schedulerWait = new Histogram({
    name: 'fichier_dav_scheduler_wait_seconds',
    help: 'Time upstream calls waited in the scheduler (rate, listing windows, cool-downs) before being sent.',
    labelNames: ['endpoint'] as const,
    buckets: [0.01, 0.1, 0.5, 1, 2.5, 5, 15, 30, 60, 300],
    registers: [this.registry],
  });
  private readonly requests = new Counter({
    name: 'fichier_dav_webdav_requests_total',
    help: 'WebDAV requests by method and status.',
    labelNames: ['method', 'status'] as const,
    registers: [this.registry],
  });
  private readonly requestDuration = new Histogram({
    name: 'fichier_dav_webdav_request_duration_seconds',
    help: 'WebDAV request duration, by method.',
    labelNames: ['method'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly bytesDown = new Counter({
    name: 'fichier_dav_webdav_sent_bytes_total',
    help: 'Bytes sent to WebDAV clients (downloads).',
    registers: [this.registry],
  });
  private readonly bytesUp = new Counter({
    name: 'fichier_dav_webdav_received_bytes_total',
    help: 'Bytes received from WebDAV clients (uploads).',
    registers: [this.registry],
  });
  private readonly activeStreams = new Gauge({
    name: 'fichier_dav_webdav_active_streams',
    help: 'GET responses currently streaming.',
    registers: [this.registry],
  });

  private readonly notifyAttempts = new Counter({
    name: 'fichier_dav_notify_requests_total',
    help: 'Change notifications by target (jellyfin, plex, webhook) and outcome (sent, failed, retried, dropped after the last try).',
    labelNames: ['target', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly notifyChanges = new Counter({
    name: 'fichier_dav_notify_changes_total',
    help: 'Changes reported to the notifier, by origin (bridge = our own writes, account = found in a fresh listing).',
    labelNames: ['origin'] as const,
    registers: [this.registry],
  });

  /** Read at scrape time; may be filled in after construction (the bridge starts later). */
  readonly sources: GaugeSources;

  constructor(sources: GaugeSources = {}) {
    this.sources = sources;
    // Node's process metrics keep their standard names (process_*, nodejs_*): stock dashboards expect them.
    collectDefaultMetrics({ register: this.registry });
    new Gauge({
      name: 'fichier_dav_scheduler_queue_depth',
      help: 'Calls waiting for the scheduler, by priority.',
      labelNames: ['priority'] as const,
      registers: [this.registry],
      collect() {
        const depth = sources.queueDepth?.();
        if (!depth) return;
        this.set({ priority: 'interactive' }, depth.interactive);
        this.set({ priority: 'background' }, depth.background);
      },
    });
    new Gauge({
      name: 'fichier_dav_redis_up',
      help: 'With --redis-url: 1 while the shared Redis is reachable, 0 while it is not.',
      registers: [this.registry],
      collect() {
        const redis = sources.redis?.();
        if (redis) this.set(redis.reachable ? 1 : 0);
      },
    });
    new Counter({
      name: 'fichier_dav_redis_outages_total',
      help: 'With --redis-url: times the connection to the shared Redis was lost since the start.',
      registers: [this.registry],
      collect() {
        const redis = sources.redis?.();
        this.reset();
        if (redis) this.inc(redis.outages);
      },
    });
    new Counter({
      name: 'fichier_dav_redis_remote_changes_total',
      help: 'With --redis-url: folder-cache changes received from other bridges of the account.',
      registers: [this.registry],
      collect() {
        const redis = sources.redis?.();
        this.reset();
        if (redis) this.inc(redis.remoteChanges);
      },
    });
    new Counter({
      name: 'fichier_dav_redis_replayed_changes_total',
      help: 'With --redis-url: folder-cache changes of other bridges read back from the change log after a disconnection.',
      registers: [this.registry],
      collect() {
        const redis = sources.redis?.();
        this.reset();
        if (redis) this.inc(redis.replayedChanges ?? 0);
      },
    });
    new Counter({
      name: 'fichier_dav_redis_missed_change_gaps_total',
      help: 'With --redis-url: disconnections whose missed changes were no longer kept (every cached listing dropped).',
      registers: [this.registry],
      collect() {
        const redis = sources.redis?.();
        this.reset();
        if (redis) this.inc(redis.missedChangeGaps ?? 0);
      },
    });
    new Gauge({
      name: 'fichier_dav_notify_pending',
      help: 'Change notifications waiting for their quiet time or being delivered (retries included).',
      registers: [this.registry],
      collect() {
        this.set(sources.notifyPending?.() ?? 0);
      },
    });
    new Gauge({
      name: 'fichier_dav_flood_cooldown_seconds',
      help: 'Remaining flood cool-down of the account, 0 when none.',
      registers: [this.registry],
      collect() {
        this.set((sources.coolDownMs?.() ?? 0) / 1000);
      },
    });
    // Caches keep their own cumulative counts; each scrape copies them into counters.
    cacheCounter(this.registry, sources, 'fichier_dav_cache_hits_total', 'Cache hits since start, by cache.', (stats) => stats.hits);
    cacheCounter(this.registry, sources, 'fichier_dav_cache_misses_total', 'Cache misses since start, by cache.', (stats) => stats.misses);
    cacheCounter(this.registry, sources, 'fichier_dav_cache_evictions_total', 'Cache evictions since start, by cache.', (stats) => stats.evictions);
    cacheCounter(
      this.registry,
      sources,
      'fichier_dav_cache_saved_bytes_total',
      'Bytes served from a cache instead of upstream, by cache.',
      (stats) => stats.bytesSaved,
    );
    cacheCounter(
      this.registry,
      sources,
      'fichier_dav_cache_corrupt_blocks_total',
      'Cached blocks found corrupt (checksum mismatch) since start, dropped and fetched again, by cache.',
      (stats) => stats.corrupt,
    );
    cacheCounter(
      this.registry,
      sources,
      'fichier_dav_parallel_stream_trials_total',
      'Doublings of a sequential reader\'s upstream connections tried (parallel streams), by cache.',
      (stats) => stats.parallelTrials,
    );
    cacheCounter(
      this.registry,
      sources,
      'fichier_dav_parallel_stream_kept_total',
      'Of those, doublings kept because the reader got faster (the rest found the limit elsewhere: the bridge, the line), by cache.',
      (stats) => stats.parallelKept,
    );
  }

  /** Feeds one upstream call report (the client's logger event). */
  upstream(event: FichierLogEvent): void {
    this.apiCalls.inc({ endpoint: event.endpoint, outcome: event.outcome });
    if (event.retries > 0) this.apiRetries.inc({ endpoint: event.endpoint }, event.retries);
    if (event.floods > 0) this.floods.inc(event.floods);
    if (event.endpoint === 'upload.cgi' && event.outcome === 'error') this.uploadFailures.inc();
    this.upstreamDuration.observe({ endpoint: event.endpoint }, event.ms / 1000);
    if (event.waitMs !== undefined) this.schedulerWait.observe({ endpoint: event.endpoint }, event.waitMs / 1000);
  }

  /** Feeds one finished WebDAV request. */
  request(method: string, status: number, seconds: number, bytesSent: number, bytesReceived: number): void {
    this.requests.inc({ method, status: String(status) });
    this.requestDuration.observe({ method }, seconds);
    if (bytesSent > 0) this.bytesDown.inc(bytesSent);
    if (bytesReceived > 0) this.bytesUp.inc(bytesReceived);
  }

  /** One notification attempt's outcome. */
  notify(target: string, outcome: 'sent' | 'failed' | 'retried' | 'dropped'): void {
    this.notifyAttempts.inc({ target, outcome });
  }

  /** Changes handed to the notifier. */
  notifyChangesSeen(origin: 'bridge' | 'account', count: number): void {
    this.notifyChanges.inc({ origin }, count);
  }

  streamStarted(): void {
    this.activeStreams.inc();
  }

  streamEnded(): void {
    this.activeStreams.dec();
  }
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Serves `/metrics` (Prometheus text), and `/healthz` and `/readyz` as the main port does (health.ts). */
export async function startMetricsServer(
  metrics: BridgeMetrics,
  options: { host?: string; port: number; readiness?: () => Readiness },
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('use GET\n');
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
        (error: unknown) => res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`metrics failed: ${String(error)}\n`),
      );
      return;
    }
    if (answerHealth(req, res, options.readiness ?? (() => ({ ready: true })))) return;
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics, /healthz or /readyz\n');
  });
  const host = options.host ?? '127.0.0.1';
  const port = await listenOn(server, options.port, host);
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
