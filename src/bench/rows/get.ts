/**
 * Rows 2 and 3 on one large synthetic file: a sequential GET of the whole file through the bridge
 * vs straight from the download host, then random 64 KiB Range GETs (time to first byte),
 * each bridge answer compared byte for byte with the direct one.
 */
import { availableParallelism } from 'node:os';
import type { BenchConfig } from '../config.js';
import { sleep } from '../clock.js';
import { cpuSeconds } from '../cpu.js';
import { drainFor, expectStatus, rangeHeader } from '../http.js';
import { fmt, met, ratio, type Row } from '../result.js';
import { diff, withStack } from '../stack.js';
import { mbPerSecond, percentile, seededRandom } from '../stats.js';

function cpuCount(): number {
  return availableParallelism();
}

export function randomRanges(count: number, fileSize: number, length: number, seed: number): { start: number; end: number }[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () => {
    const start = Math.floor(random() * (fileSize - length));
    return { start, end: start + length - 1 };
  });
}

export async function runGet(config: BenchConfig): Promise<Row[]> {
  return withStack(1, {}, async (stack) => {
    const size = config.bigFileBytes;
    const [url] = await stack.sim.addFiles(0, [{ name: 'big.bin', size, seed: 42 }]);
    const bridge = await stack.bridge();
    const direct = stack.direct();
    const c0 = await stack.counters();

    // Row 2: sequential read of the whole file.
    // Capped so a slow path cannot blow the run's time budget; throughput then comes from the bytes that arrived.
    const capMs = config.quick ? 20_000 : 120_000;
    const cpu0 = { bridge: cpuSeconds(bridge.pid), sim: cpuSeconds(stack.sim.pid), bench: process.cpuUsage() };
    const viaBridge = await drainFor(`${bridge.url}/big.bin`, {}, capMs);
    const bench = process.cpuUsage(cpu0.bench);
    const cpu = {
      bridge: cpuSeconds(bridge.pid) - cpu0.bridge,
      sim: cpuSeconds(stack.sim.pid) - cpu0.sim,
      client: (bench.user + bench.system) / 1e6,
    };
    if (viaBridge.status !== 200 || (viaBridge.complete && viaBridge.bytes !== size)) throw new Error(`bridge GET answered ${viaBridge.status} with ${viaBridge.bytes} of ${size} bytes`);
    await sleep(500);
    const link = await direct.token(url!);
    const viaDirect = await drainFor(link, {}, capMs);
    if (viaDirect.status !== 200 || (viaDirect.complete && viaDirect.bytes !== size)) throw new Error(`direct GET answered ${viaDirect.status} with ${viaDirect.bytes} of ${size} bytes`);
    const bridgeMBs = mbPerSecond(viaBridge.bytes, viaBridge.ms);
    const directMBs = mbPerSecond(viaDirect.bytes, viaDirect.ms);
    const busy = (s: number) => `${((s / (viaBridge.ms / 1000)) * 100).toFixed(0)}%`;
    const bridgeCpuPerGiB = cpu.bridge / (viaBridge.bytes / 1024 ** 3);
    const cpuNote = `CPU during the bridge GET: bridge ${busy(cpu.bridge)} (${bridgeCpuPerGiB.toFixed(2)} CPU s/GiB), simulator ${busy(cpu.sim)}, client ${busy(cpu.client)} of one core (${cpuCount()} cores)`;
    const cut = [cpuNote, viaBridge.complete ? '' : `bridge transfer cut after ${(capMs / 1000).toFixed(0)} s (${(viaBridge.bytes / 1024 ** 2).toFixed(0)} MiB read)`, viaDirect.complete ? '' : `direct transfer cut after ${(capMs / 1000).toFixed(0)} s`].filter(Boolean).join('; ');
    const c1 = await stack.counters();

    // Row 3: random seeks, bridge and direct interleaved so both see the same machine noise.
    const ranges = randomRanges(config.seeks, size, config.seekBytes, 7);
    const bridgeTtfb: number[] = [];
    const directTtfb: number[] = [];
    let mismatches = 0;
    for (const range of ranges) {
      const b = await expectStatus(`${bridge.url}/big.bin`, { headers: rangeHeader(range.start, range.end), keepBody: true }, [206]);
      const d = await direct.get(link, range, true);
      bridgeTtfb.push(b.ttfbMs);
      directTtfb.push(d.ttfbMs);
      if (!b.body!.equals(d.body!)) mismatches++;
    }
    const c2 = await stack.counters();
    if (mismatches > 0) throw new Error(`${mismatches} seeks returned bytes different from the direct path`);

    const seqCalls = diff(c1, c0);
    const seekCalls = diff(c2, c1);
    const directTokens = 1;
    const bridgeTokens = diff(c2, c0).getToken - directTokens;
    const bp50 = percentile(bridgeTtfb, 50);
    const bp99 = percentile(bridgeTtfb, 99);
    const dp50 = percentile(directTtfb, 50);
    const dp99 = percentile(directTtfb, 99);
    const gib = (size / 1024 ** 3).toFixed(size >= 1024 ** 3 ? 0 : 2);
    return [
      {
        row: '2',
        measure: `sequential GET of ${gib} GiB (MB/s)`,
        bridge: fmt(bridgeMBs),
        direct: fmt(directMBs),
        ratio: ratio(bridgeMBs, directMBs),
        apiCalls: `${seqCalls.api - 1} / 1`,
        target: 'bridge >= 0.90x direct',
        met: met(bridgeMBs >= 0.9 * directMBs),
        note: cut,
        values: { cpuSeconds: cpu, bridgeCpuSecondsPerGiB: bridgeCpuPerGiB, bytes: size, bridgeBytes: viaBridge.bytes, directBytes: viaDirect.bytes, bridgeMs: viaBridge.ms, directMs: viaDirect.ms, bridgeMBs, directMBs, bridgeApiCalls: seqCalls.api - 1, complete: viaBridge.complete && viaDirect.complete },
      },
      {
        row: '3',
        measure: `${ranges.length} random ${config.seekBytes / 1024} KiB seeks, TTFB p50/p99 (ms)`,
        bridge: `${fmt(bp50, 2)} / ${fmt(bp99, 2)}`,
        direct: `${fmt(dp50, 2)} / ${fmt(dp99, 2)}`,
        ratio: ratio(bp50, dp50),
        apiCalls: `${seekCalls.api} / 0`,
        target: 'get_token = 1 (rows 2+3)',
        met: met(bridgeTokens === 1),
        note: `bridge get_token calls over rows 2+3: ${bridgeTokens}; all ${ranges.length} ranges byte-identical to direct`,
        values: { seeks: ranges.length, bridgeP50: bp50, bridgeP99: bp99, directP50: dp50, directP99: dp99, bridgeGetToken: bridgeTokens, upstreamDownloads: seekCalls.downloads },
      },
    ];
  });
}
