/**
 * Prometheus metrics for the bridge, served with `/healthz` on their own port (`--metrics-port`)
 * so they are never exposed through the WebDAV listener. Counters are fed by the client's per-call
 * events and by the per-request observer; gauges that belong to other components (scheduler
 * queue, caches) are read at scrape time through collect callbacks.
 */
import http from 'node:http';
import { listenOn } from '../webdav/server.js';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FichierLogEvent } from '../fichier/index.js';

export interface GaugeSources {
  /** Jobs waiting in the scheduler, by priority. */
  queueDepth?: () => { interactive: number; background: number };
  /** Remaining flood cool-down (ms), 0 when none. */
  coolDownMs?: () => number;
  /** Cumulative cache counters (folder cache, block cache...). */
  cache?: () => Record<string, { hits: number; misses: number; evictions?: number; bytesSaved?: number; corrupt?: number }>;
}

export class BridgeMetrics {
  readonly registry = new Registry();
  private readonly apiCalls = new Counter({
    name: 'fichier_api_calls_total',
    help: 'Upstream 1fichier calls by endpoint and outcome (ok, error, shared = answered from an identical call).',
    labelNames: ['endpoint', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly apiRetries = new Counter({
    name: 'fichier_api_retries_total',
    help: 'Retries of upstream calls, by endpoint.',
    labelNames: ['endpoint'] as const,
    registers: [this.registry],
  });
  private readonly floods = new Counter({
    name: 'fichier_flood_answers_total',
    help: 'Flood answers (403 Flood detected) received from 1fichier.',
    registers: [this.registry],
  });
  private readonly uploadFailures = new Counter({
    name: 'fichier_upload_failures_total',
    help: 'Uploads that failed (refusals, missing reports, checksum mismatches, cuts).',
    registers: [this.registry],
  });
  private readonly upstreamDuration = new Histogram({
    name: 'fichier_api_call_duration_seconds',
    help: 'Upstream call duration including scheduler wait and retries.',
    labelNames: ['endpoint'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly schedulerWait = new Histogram({
    name: 'fichier_scheduler_wait_seconds',
    help: 'Time upstream calls waited in the scheduler (rate, listing windows, cool-downs) before being sent.',
    labelNames: ['endpoint'] as const,
    buckets: [0.01, 0.1, 0.5, 1, 2.5, 5, 15, 30, 60, 300],
    registers: [this.registry],
  });
  private readonly requests = new Counter({
    name: 'webdav_requests_total',
    help: 'WebDAV requests by method and status.',
    labelNames: ['method', 'status'] as const,
    registers: [this.registry],
  });
  private readonly requestDuration = new Histogram({
    name: 'webdav_request_duration_seconds',
    help: 'WebDAV request duration, by method.',
    labelNames: ['method'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly bytesDown = new Counter({
    name: 'webdav_bytes_sent_total',
    help: 'Bytes sent to WebDAV clients (downloads).',
    registers: [this.registry],
  });
  private readonly bytesUp = new Counter({
    name: 'webdav_bytes_received_total',
    help: 'Bytes received from WebDAV clients (uploads).',
    registers: [this.registry],
  });
  private readonly activeStreams = new Gauge({
    name: 'webdav_active_streams',
    help: 'GET responses currently streaming.',
    registers: [this.registry],
  });

  /** Read at scrape time; may be filled in after construction (the bridge starts later). */
  readonly sources: GaugeSources;

  constructor(sources: GaugeSources = {}) {
    this.sources = sources;
    collectDefaultMetrics({ register: this.registry, prefix: 'fichier_dav_' });
    new Gauge({
      name: 'fichier_scheduler_queue_depth',
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
      name: 'fichier_flood_cooldown_seconds',
      help: 'Remaining flood cool-down of the account, 0 when none.',
      registers: [this.registry],
      collect() {
        this.set((sources.coolDownMs?.() ?? 0) / 1000);
      },
    });
    new Gauge({
      name: 'fichier_dav_cache_hits',
      help: 'Cache hits since start, by cache.',
      labelNames: ['cache'] as const,
      registers: [this.registry],
      collect() {
        for (const [cache, stats] of Object.entries(sources.cache?.() ?? {})) this.set({ cache }, stats.hits);
      },
    });
    new Gauge({
      name: 'fichier_dav_cache_misses',
      help: 'Cache misses since start, by cache.',
      labelNames: ['cache'] as const,
      registers: [this.registry],
      collect() {
        for (const [cache, stats] of Object.entries(sources.cache?.() ?? {})) this.set({ cache }, stats.misses);
      },
    });
    new Gauge({
      name: 'fichier_dav_cache_evictions',
      help: 'Cache evictions since start, by cache.',
      labelNames: ['cache'] as const,
      registers: [this.registry],
      collect() {
        for (const [cache, stats] of Object.entries(sources.cache?.() ?? {})) this.set({ cache }, stats.evictions ?? 0);
      },
    });
    new Gauge({
      name: 'fichier_dav_cache_bytes_saved',
      help: 'Bytes served from a cache instead of upstream, by cache.',
      labelNames: ['cache'] as const,
      registers: [this.registry],
      collect() {
        for (const [cache, stats] of Object.entries(sources.cache?.() ?? {})) this.set({ cache }, stats.bytesSaved ?? 0);
      },
    });
    new Gauge({
      name: 'fichier_dav_cache_corrupt_blocks',
      help: 'Cached blocks found corrupt (checksum mismatch) since start, dropped and fetched again, by cache.',
      labelNames: ['cache'] as const,
      registers: [this.registry],
      collect() {
        for (const [cache, stats] of Object.entries(sources.cache?.() ?? {})) if (stats.corrupt !== undefined) this.set({ cache }, stats.corrupt);
      },
    });
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

/** Serves `/metrics` (Prometheus text) and `/healthz` (200 "ok", or 503 with the reason). */
export async function startMetricsServer(
  metrics: BridgeMetrics,
  options: { host?: string; port: number; health?: () => { ok: boolean; reason?: string } },
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
    if (path === '/healthz') {
      const health = options.health?.() ?? { ok: true };
      res
        .writeHead(health.ok ? 200 : 503, { 'Content-Type': 'text/plain' })
        .end(health.ok ? 'ok\n' : `unhealthy: ${health.reason ?? 'unknown'}\n`);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
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
