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
      cache: () => ({ folders: { hits: 10, misses: 3 }, blocks: { hits: 7, misses: 1, evictions: 2, bytesSaved: 4096, parallelTrials: 3, parallelKept: 1 } }),
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
    expect(text).toContain('fichier_dav_api_calls_total{endpoint="folder/ls.cgi",outcome="ok"} 1');
    expect(text).toContain('fichier_dav_api_retries_total{endpoint="file/mv.cgi"} 1');
    expect(text).toContain('fichier_dav_api_flood_answers_total 1');
    expect(text).toContain('fichier_dav_scheduler_wait_seconds_bucket{le="0.5",endpoint="file/mv.cgi"} 1');
    expect(text).toContain('fichier_dav_upload_failures_total 1');
    expect(text).toContain('fichier_dav_webdav_requests_total{method="GET",status="206"} 1');
    expect(text).toContain('fichier_dav_webdav_sent_bytes_total 65836');
    expect(text).toContain('fichier_dav_webdav_received_bytes_total 1000200');
    expect(text).toContain('fichier_dav_scheduler_queue_depth{priority="background"} 5');
    expect(text).toContain('fichier_dav_flood_cooldown_seconds 1.5');
    expect(text).toContain('fichier_dav_cache_hits_total{cache="blocks"} 7');
    expect(text).toContain('fichier_dav_cache_saved_bytes_total{cache="blocks"} 4096');
    expect(text).toContain('fichier_dav_parallel_stream_trials_total{cache="blocks"} 3');
    expect(text).toContain('fichier_dav_parallel_stream_kept_total{cache="blocks"} 1');
    // The folder cache keeps no such counts: no series for it, rather than a 0 that reads as "none".
    expect(text).toContain('fichier_dav_cache_hits_total{cache="folders"} 10');
    expect(text).not.toContain('fichier_dav_parallel_stream_trials_total{cache="folders"}');
    expect(text).not.toContain('fichier_dav_cache_corrupt_blocks_total{cache="folders"}');
    expect(text).toMatch(/\nprocess_resident_memory_bytes \d+/);
  });

  it('answers /healthz (liveness: always 200) and /readyz (200 or 503 with the reason), and 404 elsewhere', async () => {
    let ready = true;
    server = await startMetricsServer(new BridgeMetrics(), {
      port: 0,
      readiness: () => (ready ? { ready: true } : { ready: false, reason: '1fichier refused the API key' }),
    });
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    ready = false;
    const sick = await fetch(`${server.url}/readyz`);
    expect(sick.status).toBe(503);
    expect(await sick.text()).toContain('refused the API key');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/other`)).status).toBe(404);
  });

  it('follows Prometheus naming: one fichier_dav_ prefix, counters end in _total, process metrics unprefixed', async () => {
    const metrics = new BridgeMetrics({ cache: () => ({ blocks: { hits: 1, misses: 1 } }) });
    const families = await metrics.registry.getMetricsAsJSON();
    const ours = families.filter((family) => !/^(process|nodejs)_/.test(family.name));
    expect(families.some((family) => family.name === 'process_resident_memory_bytes')).toBe(true);
    expect(ours.length).toBeGreaterThan(10);
    for (const family of ours) {
      expect(family.name, family.name).toMatch(/^fichier_dav_[a-z_]+$/);
      if (String(family.type) === 'counter') expect(family.name, family.name).toMatch(/_total$/);
      else expect(family.name, family.name).not.toMatch(/_total$/);
    }
  });
});
