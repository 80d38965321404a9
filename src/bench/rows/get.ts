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
import { HopProcess } from '../hop-process.js';
import { NativeHop } from '../native-hop.js';
import { runGetReal } from './get-real.js';
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

/** Rows 2, 2b and 3 on loopback, then 2-real and 2b-real (get-real.ts) after 2b. */
export async function runGet(config: BenchConfig): Promise<Row[]> {
  const rows = await loopbackRows(config);
  rows.splice(rows.findIndex((row) => row.row === '2b') + 1, 0, ...(await runGetReal(config)));
  return rows;
}

async function loopbackRows(config: BenchConfig): Promise<Row[]> {
  // A second bridge (row 2b) starts on the same account: its start-up user/info call and its listing
  // of the root must not wait out the simulator's windows, which rows 2 and 3 do not measure.
  return withStack(1, { userInfoWindowMs: 0, perFolderListingWindowMs: 0 }, async (stack) => {
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

    // Row 2b and the reference hop: the same file through a second bridge without the block cache,
    // and through the smallest proxy Node can run (what any Node bridge can reach on this machine).
    const plain = await stack.bridge(['--no-read-cache']);
    const viaPlain = await timedDrain(`${plain.url}/big.bin`, plain.pid, capMs);
    if (viaPlain.status !== 200 || (viaPlain.complete && viaPlain.bytes !== size)) throw new Error(`--no-read-cache bridge GET answered ${viaPlain.status} with ${viaPlain.bytes} of ${size} bytes`);
    const viaHop = await viaReferenceHop(link, 'pipe', size, capMs);
    const viaSocketHop = await viaReferenceHop(link, 'socket', size, capMs);
    const viaNative = await viaNativeHop(link, size, capMs);

    const seqCalls = diff(c1, c0);
    const seekCalls = diff(c2, c1);
    const directTokens = 1;
    const bridgeTokens = diff(c2, c0).getToken - directTokens;
    const nativeNote = viaNative
      ? `haproxy (splice, no user-space copy) ${fmt(viaNative.mbps)} MB/s = ${ratio(viaNative.mbps, directMBs)} direct, ${viaNative.cpuPerGiB.toFixed(2)} CPU s/GiB`
      : 'haproxy not installed (no native reference hop)';
    const hopNote =
      `reference hops (no cache): node:http pipe ${fmt(viaHop.mbps)} MB/s = ${ratio(viaHop.mbps, directMBs)} direct, ${viaHop.cpuPerGiB.toFixed(2)} CPU s/GiB; ` +
      `socket relay ${fmt(viaSocketHop.mbps)} MB/s = ${ratio(viaSocketHop.mbps, directMBs)} direct, ${viaSocketHop.cpuPerGiB.toFixed(2)} CPU s/GiB; ${nativeNote}`;
    // The bridge's first byte waits for its API calls (the folder listing and get_token, paced
    // 500 ms apart by the scheduler); the direct path's get_token ran before its clock started.
    const headNote = (drained: { headMs: number }) => `response head after ${fmt(drained.headMs, 0)} ms (direct: ${fmt(viaDirect.headMs, 0)} ms)`;
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
        target: 'bridge >= 0.80x direct',
        met: met(bridgeMBs >= 0.8 * directMBs),
        note: `${cut}; ${headNote(viaBridge)}; ${ratio(bridgeMBs, viaSocketHop.mbps)} of the socket relay; ${hopNote}`,
        values: { cpuSeconds: cpu, bridgeCpuSecondsPerGiB: bridgeCpuPerGiB, bridgeHeadMs: viaBridge.headMs, directHeadMs: viaDirect.headMs, nativeHopMBs: viaNative?.mbps, bytes: size, bridgeBytes: viaBridge.bytes, directBytes: viaDirect.bytes, bridgeMs: viaBridge.ms, directMs: viaDirect.ms, bridgeMBs, directMBs, bridgeApiCalls: seqCalls.api - 1, complete: viaBridge.complete && viaDirect.complete },
      },
      {
        row: '2b',
        measure: `sequential GET of ${gib} GiB, --no-read-cache (MB/s)`,
        bridge: fmt(viaPlain.mbps),
        direct: fmt(directMBs),
        ratio: ratio(viaPlain.mbps, directMBs),
        apiCalls: '- / 1',
        target: 'bridge >= 0.90x direct',
        met: met(viaPlain.mbps >= 0.9 * directMBs),
        note: `bridge ${viaPlain.cpuPerGiB.toFixed(2)} CPU s/GiB; ${headNote(viaPlain)}; ${ratio(viaPlain.mbps, viaSocketHop.mbps)} of the socket relay${viaNative ? `, ${ratio(viaPlain.mbps, viaNative.mbps)} of haproxy` : ''}; ${hopNote}${viaPlain.complete ? '' : `; cut after ${(capMs / 1000).toFixed(0)} s`}`,
        values: {
          bytes: viaPlain.bytes,
          ms: viaPlain.ms,
          bridgeMBs: viaPlain.mbps,
          bridgeCpuSecondsPerGiB: viaPlain.cpuPerGiB,
          directMBs,
          hopMBs: viaHop.mbps,
          hopCpuSecondsPerGiB: viaHop.cpuPerGiB,
          hopBytes: viaHop.bytes,
          headMs: viaPlain.headMs,
          socketRelayMBs: viaSocketHop.mbps,
          nativeHopMBs: viaNative?.mbps,
          nativeHopCpuSecondsPerGiB: viaNative?.cpuPerGiB,
          socketRelayCpuSecondsPerGiB: viaSocketHop.cpuPerGiB,
        },
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

interface Timed {
  status: number;
  bytes: number;
  ms: number;
  headMs: number;
  complete: boolean;
  mbps: number;
  /** CPU seconds the process `pid` spent per GiB it moved. */
  cpuPerGiB: number;
}

/** The whole file through a reference hop (hop-child.ts), checked for status and length. */
async function viaReferenceHop(link: string, mode: 'pipe' | 'socket', size: number, capMs: number): Promise<Timed> {
  const hop = await HopProcess.start(link, mode);
  let timed: Timed;
  try {
    timed = await timedDrain(hop.url, hop.pid, capMs);
  } finally {
    await hop.close();
  }
  if (timed.status !== 200 || (timed.complete && timed.bytes !== size)) throw new Error(`reference hop (${mode}) GET answered ${timed.status} with ${timed.bytes} of ${size} bytes`);
  return timed;
}

/** The whole file through haproxy with splice (native-hop.ts); undefined without haproxy. */
async function viaNativeHop(link: string, size: number, capMs: number): Promise<Timed | undefined> {
  const hop = await NativeHop.start(link);
  if (!hop) return undefined;
  let timed: Timed;
  try {
    timed = await timedDrain(hop.url, hop.pid, capMs);
  } finally {
    await hop.close();
  }
  if (timed.status !== 200 || (timed.complete && timed.bytes !== size)) throw new Error(`native hop (haproxy) GET answered ${timed.status} with ${timed.bytes} of ${size} bytes`);
  return timed;
}

async function timedDrain(url: string, pid: number, capMs: number): Promise<Timed> {
  const before = cpuSeconds(pid);
  const drained = await drainFor(url, {}, capMs);
  const cpu = cpuSeconds(pid) - before;
  return { ...drained, mbps: mbPerSecond(drained.bytes, drained.ms), cpuPerGiB: cpu / (Math.max(1, drained.bytes) / 1024 ** 3) };
}
