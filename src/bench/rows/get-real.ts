/**
 * Rows 2-real and 2b-real: rows 2 and 2b where latency and a per-connection rate exist (the media
 * rows' realistic profile: 80 ms API latency, 40 ms download time to first byte, 25 MB/s per
 * connection), as on 1fichier. On loopback the ratio measures how little CPU a hop costs on a
 * 2-core machine shared by three processes; here it measures what a user streams.
 *
 * A smaller file than row 2's (512 MiB in the full run): one connection moves 25 MB/s. Both paths
 * are timed from the request that needs a download token (the bridge's GET; the direct client's
 * get_token call) to the last byte.
 */
import type { BenchConfig } from '../config.js';
import { cpuSeconds } from '../cpu.js';
import { elapsedMs, now, sleep } from '../clock.js';
import { drainFor } from '../http.js';
import { fmt, met, ratio, type Row } from '../result.js';
import { diff, withStack } from '../stack.js';
import { mbPerSecond } from '../stats.js';
import { propfind } from '../webdav.js';
import { REALISTIC } from './media.js';

const MiB = 1024 ** 2;

export async function runGetReal(config: BenchConfig): Promise<Row[]> {
  return withStack(1, { ...REALISTIC, userInfoWindowMs: 0, perFolderListingWindowMs: 0 }, async (stack) => {
    const size = config.quick ? 64 * MiB : 512 * MiB;
    const [url] = await stack.sim.addFiles(0, [{ name: 'real.bin', size, seed: 43 }]);
    const capMs = config.quick ? 30_000 : 120_000;
    const cached = await stack.bridge();
    const plain = await stack.bridge(['--no-read-cache']);
    // Each bridge has listed the root (as a client that browsed to the file): its GET then pays
    // for one get_token and the transfer, and so does the direct path (its token call is timed).
    await propfind(cached.url, '/', '1');
    await propfind(plain.url, '/', '1');
    await sleep(600);
    const drain = async (target: () => Promise<string>, pid?: number) => {
      const before = pid ? cpuSeconds(pid) : 0;
      const c0 = await stack.counters();
      const started = now();
      const link = await target();
      const drained = await drainFor(link, {}, capMs);
      drained.ms = elapsedMs(started);
      const c1 = await stack.counters();
      if (drained.status !== 200 || (drained.complete && drained.bytes !== size)) throw new Error(`GET ${new URL(link).pathname} answered ${drained.status} with ${drained.bytes} of ${size} bytes`);
      const cpu = pid ? (cpuSeconds(pid) - before) / (drained.bytes / 1024 ** 3) : 0;
      return { ...drained, mbps: mbPerSecond(drained.bytes, drained.ms), cpuPerGiB: cpu, downloads: diff(c1, c0).downloads };
    };
    const viaCached = await drain(async () => `${cached.url}/real.bin`, cached.pid);
    await sleep(600);
    const viaPlain = await drain(async () => `${plain.url}/real.bin`, plain.pid);
    await sleep(600);
    const direct = stack.direct();
    const viaDirect = await drain(() => direct.token(url!));
    const profile = `simulator: ${REALISTIC.apiLatencyMs} ms API latency, ${REALISTIC.downloadTtfbMs} ms download TTFB, ${(REALISTIC.downloadBytesPerSecond ?? 0) / 1e6} MB/s per connection`;
    const mib = (size / MiB).toFixed(0);
    const cut = (d: { complete: boolean }) => (d.complete ? '' : `; cut after ${(capMs / 1000).toFixed(0)} s`);
    return [
      {
        row: '2-real',
        measure: `sequential GET of ${mib} MiB, realistic network (MB/s)`,
        bridge: fmt(viaCached.mbps),
        direct: fmt(viaDirect.mbps),
        ratio: ratio(viaCached.mbps, viaDirect.mbps),
        apiCalls: '-',
        target: 'bridge >= 0.80x direct',
        met: met(viaCached.mbps >= 0.8 * viaDirect.mbps),
        note: `${profile}; bridge ${viaCached.cpuPerGiB.toFixed(2)} CPU s/GiB, ${viaCached.downloads} upstream GETs (parallel streams)${cut(viaCached)}${cut(viaDirect)}`,
        values: { bytes: size, bridgeMBs: viaCached.mbps, directMBs: viaDirect.mbps, bridgeCpuSecondsPerGiB: viaCached.cpuPerGiB, upstreamGets: viaCached.downloads, complete: viaCached.complete && viaDirect.complete },
      },
      {
        row: '2b-real',
        measure: `sequential GET of ${mib} MiB, --no-read-cache, realistic network (MB/s)`,
        bridge: fmt(viaPlain.mbps),
        direct: fmt(viaDirect.mbps),
        ratio: ratio(viaPlain.mbps, viaDirect.mbps),
        apiCalls: '-',
        target: 'bridge >= 0.90x direct',
        met: met(viaPlain.mbps >= 0.9 * viaDirect.mbps),
        note: `${profile}; bridge ${viaPlain.cpuPerGiB.toFixed(2)} CPU s/GiB, ${viaPlain.downloads} upstream GET(s)${cut(viaPlain)}`,
        values: { bytes: size, bridgeMBs: viaPlain.mbps, directMBs: viaDirect.mbps, bridgeCpuSecondsPerGiB: viaPlain.cpuPerGiB, upstreamGets: viaPlain.downloads, complete: viaPlain.complete },
      },
    ];
  });
}
