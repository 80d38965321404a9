import { afterEach, describe, expect, it } from 'vitest';
import { BridgeMetrics, startMetricsServer, type MetricsServer } from '../../src/cli/metrics.js';

let server: MetricsServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('metrics', () => {
  it('serves Prometheus text with upstream, request, scheduler and cache series', async () => {
    const metrics = new BridgeMetrics({
      queueDepth: () => ({ interactive: 2, background: 5 }),
      coolDownMs: () => 1500,
      cache: () => ({ folders: { hits: 10, misses: 3 }, blocks: { hits: 7, misses: 1, evictions: 2, bytesSaved: 4096 } }),
    });
    metrics.upstream({ endpoint: 'folder/ls.cgi', outcome: 'ok', ms: 120, retries: 0, floods: 0 });
    metrics.upstream({ endpoint: 'file/mv.cgi', outcome: 'ok', ms: 30_400, retries: 1, floods: 1, waitMs: 400 });
    metrics.upstream({ endpoint: 'upload.cgi', outcome: 'error', ms: 50, retries: 0, floods: 0 });
    metrics.request('GET', 206, 0.02, 65_536, 200);
    metrics.request('PUT', 201, 1.2, 300, 1_000_000);
    server = await startMetricsServer(metrics, { port: 0 });
    const response = await fetch(`${server.url}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await response.text();
    expect(text).toContain('fichier_api_calls_total{endpoint="folder/ls.cgi",outcome="ok"} 1');
    expect(text).toContain('fichier_api_retries_total{endpoint="file/mv.cgi"} 1');
    expect(text).toContain('fichier_flood_answers_total 1');
    expect(text).toContain('fichier_scheduler_wait_seconds_bucket{le="0.5",endpoint="file/mv.cgi"} 1');
    expect(text).toContain('fichier_upload_failures_total 1');
    expect(text).toContain('webdav_requests_total{method="GET",status="206"} 1');
    expect(text).toContain('webdav_bytes_sent_total 65836');
    expect(text).toContain('webdav_bytes_received_total 1000200');
    expect(text).toContain('fichier_scheduler_queue_depth{priority="background"} 5');
    expect(text).toContain('fichier_flood_cooldown_seconds 1.5');
    expect(text).toContain('fichier_dav_cache_hits{cache="blocks"} 7');
    expect(text).toContain('fichier_dav_cache_bytes_saved{cache="blocks"} 4096');
    expect(text).toMatch(/fichier_dav_process_resident_memory_bytes \d+/);
  });

  it('answers /healthz with 200 or 503 and a reason, and 404 elsewhere', async () => {
    let healthy = true;
    server = await startMetricsServer(new BridgeMetrics(), {
      port: 0,
      health: () => (healthy ? { ok: true } : { ok: false, reason: '1fichier refused the API key' }),
    });
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    healthy = false;
    const sick = await fetch(`${server.url}/healthz`);
    expect(sick.status).toBe(503);
    expect(await sick.text()).toContain('refused the API key');
    expect((await fetch(`${server.url}/other`)).status).toBe(404);
  });
});
