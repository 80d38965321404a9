/**
 * Block-cache rows (issue 9): repeated media probes and seek latency with the read cache cold and
 * warm, each against a second bridge run with --no-read-cache on the same simulator in the same
 * run. Left out, with a row saying so, when this build's `serve` has no --no-read-cache flag.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BridgeProcess } from '../bridge-process.js';
import type { BenchConfig } from '../config.js';
import { elapsedMs, now, sleep } from '../clock.js';
import { drainFor, expectStatus, rangeHeader, type Drained } from '../http.js';
import { probeAll, type ProbeTarget } from '../probe.js';
import { fmt, met, ratio, type Row } from '../result.js';
import { addCounters, diff, noCalls, withStack, type Counters, type Stack } from '../stack.js';
import { mbPerSecond, percentile } from '../stats.js';
import { propfind } from '../webdav.js';
import { randomRanges } from './get.js';
import { REALISTIC } from './media.js';
import { probeFileSpecs } from './probe.js';

export function serveHasReadCache(): boolean {
  try {
    const cli = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
    const help = execFileSync(process.execPath, [cli, 'serve', '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return help.includes('--no-read-cache') && help.includes('--cache-dir');
  } catch {
    return false;
  }
}

interface Pass {
  ms: number;
  calls: Counters;
}

async function measured(stack: Stack, fn: () => Promise<void>, settleMs: number): Promise<Pass> {
  const before = await stack.counters();
  const started = now();
  await fn();
  const ms = elapsedMs(started);
  // Let background work (read-ahead, tail warming) land before the counters are read.
  await sleep(settleMs);
  return { ms, calls: diff(await stack.counters(), before) };
}

/**
 * The same seeks through two bridges on one simulator, interleaved: for each range both bridges
 * answer, and which one goes first alternates. Run one bridge's whole pass after the other's, the
 * pass that ran first paid for it: the cached bridge's cold seeks measured 1.34x / 1.54x the
 * uncached one's p50 when it went first, 1.12x / 1.18x when it went second, 1.10x / 1.11x
 * interleaved (600 seeks each, same machine, 2026-12-02). Each bridge's upstream requests are the
 * simulator's counters around its own requests; what lands after the last one (background work)
 * is the first bridge's (the cached one: the other has none).
 */
async function interleavedSeeks(stack: Stack, bridges: [BridgeProcess, BridgeProcess], ranges: { start: number; end: number }[], settleMs: number): Promise<{ ttfb: [number[], number[]]; calls: [Counters, Counters] }> {
  const ttfb: [number[], number[]] = [[], []];
  const calls: [Counters, Counters] = [noCalls(), noCalls()];
  let before = await stack.counters();
  for (const [n, range] of ranges.entries()) {
    for (const side of n % 2 === 0 ? [0, 1] : [1, 0]) {
      const res = await expectStatus(`${bridges[side]!.url}/seek.bin`, { headers: rangeHeader(range.start, range.end) }, [206]);
      if (res.bytes !== range.end - range.start + 1) throw new Error(`seek returned ${res.bytes} bytes`);
      ttfb[side]!.push(res.ttfbMs);
      const after = await stack.counters();
      calls[side] = addCounters(calls[side]!, diff(after, before));
      before = after;
    }
  }
  await sleep(settleMs);
  calls[0] = addCounters(calls[0], diff(await stack.counters(), before));
  return { ttfb, calls };
}

export async function runCache(config: BenchConfig): Promise<Row[]> {
  if (!serveHasReadCache()) {
    return [{ row: 'C', measure: 'block cache rows (issue 9)', bridge: '-', direct: '-', ratio: '-', apiCalls: '-', target: '-', met: '-', note: 'not run: this build of `serve` has no --no-read-cache / --cache-dir flags', values: { skipped: true } }];
  }
  const cacheDir = await mkdtemp(join(tmpdir(), 'fichier-dav-bench-cache-'));
  try {
    const rows = await loopbackRows(config, cacheDir);
    rows.splice(rows.findIndex((row) => row.row === 'C2a') + 1, 0, await realisticSeekRow(config));
    return rows;
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
}

/**
 * C2a again where latency exists (the media rows' realistic profile: 80 ms API latency, 40 ms time
 * to first byte, 25 MB/s per connection): on loopback a cold seek's first byte costs well under a
 * millisecond of network, so the cache's own work (the rest of the block, its head, a write) is
 * all the ratio shows; on a real link the round trip dominates both paths.
 */
async function realisticSeekRow(config: BenchConfig): Promise<Row> {
  const cacheDir = await mkdtemp(join(tmpdir(), 'fichier-dav-bench-cache-real-'));
  try {
    return await withStack(1, { ...REALISTIC, perFolderListingWindowMs: 0, userInfoWindowMs: 0 }, async (stack) => {
      const size = config.bigFileBytes;
      await stack.sim.addFiles(0, [{ name: 'seek.bin', size, seed: 77 }]);
      const ranges = randomRanges(config.cacheSeeks, size, config.seekBytes, 12);
      const cached = await stack.bridge(['--cache-dir', cacheDir]);
      const plain = await stack.bridge(['--no-read-cache']);
      for (const bridge of [cached, plain]) await expectStatus(`${bridge.url}/seek.bin`, { headers: rangeHeader(0, 0) }, [206]);
      await sleep(600);
      const [cs, ps] = (await interleavedSeeks(stack, [cached, plain], ranges, 0)).ttfb;
      return {
        row: 'C2a-real',
        measure: `${ranges.length} seeks cache cold, realistic network, TTFB p50/p99 ms (direct column = --no-read-cache)`,
        bridge: `${fmt(percentile(cs, 50), 2)} / ${fmt(percentile(cs, 99), 2)}`,
        direct: `${fmt(percentile(ps, 50), 2)} / ${fmt(percentile(ps, 99), 2)}`,
        ratio: ratio(percentile(cs, 50), percentile(ps, 50)),
        apiCalls: '-',
        target: 'p50 <= 1.2x --no-read-cache',
        met: met(percentile(cs, 50) <= 1.2 * percentile(ps, 50)),
        note: `simulator: ${REALISTIC.apiLatencyMs} ms API latency, ${REALISTIC.downloadTtfbMs} ms download TTFB, ${(REALISTIC.downloadBytesPerSecond ?? 0) / 1e6} MB/s per connection; seeks back to back`,
        values: { seeks: ranges.length, cacheP50: percentile(cs, 50), cacheP99: percentile(cs, 99), noCacheP50: percentile(ps, 50), noCacheP99: percentile(ps, 99) },
      };
    });
  } finally {
    await rm(cacheDir, { recursive: true, force: true });
  }
}

async function loopbackRows(config: BenchConfig, cacheDir: string): Promise<Row[]> {
  // Two bridges share one simulated account here, and both must list the root and the probe
  // folder: with the 30 s per-folder listing window the second listing would be a flood. The
  // window is off in this stack only; these rows measure reads, not the listing budget.
  // The same goes for user/info (one per minute per account): each bridge checks the key at
  // start from its own state directory, so the second one's check was a flood answer, then a
  // flood cool-down, and "bridge did not start in 20 s" in CI.
  return await withStack(1, { perFolderListingWindowMs: 0, userInfoWindowMs: 0 }, async (stack) => {
    const specs = probeFileSpecs(config.cacheProbeFiles, 'film');
    const folderId = await stack.sim.addFolder(0, 'cprobe');
    await stack.sim.addFiles(folderId, specs);
    const size = config.bigFileBytes;
    await stack.sim.addFiles(0, [{ name: 'seek.bin', size, seed: 77 }]);
    const seqSize = config.quick ? 64 * 1024 ** 2 : Math.min(size, 1024 ** 3);
    await stack.sim.addFiles(0, [{ name: 'seq.bin', size: seqSize, seed: 78 }]);
    const targets: ProbeTarget[] = specs.map((s) => ({ path: `/cprobe/${encodeURIComponent(s.name)}`, size: s.size }));
    const ranges = randomRanges(config.cacheSeeks, size, config.seekBytes, 11);

    const cached = await stack.bridge(['--cache-dir', cacheDir]);
    const plain = await stack.bridge(['--no-read-cache']);
    const results = new Map<string, { cold: Pass; warm: Pass; seekCold: number[]; seekWarm: number[]; seekCalls: Counters[]; seq: Drained; seqCalls: Counters }>();
    const probes = new Map<string, { cold: Pass; warm: Pass }>();
    const settle = config.quick ? 200 : 500;
    for (const [label, bridge] of [['cache', cached], ['nocache', plain]] as const) {
      await propfind(bridge.url, '/cprobe/', '1');
      await expectStatus(`${bridge.url}/seek.bin`, { headers: rangeHeader(0, 0) }, [206]);
      await sleep(600);
      const cold = await measured(stack, () => probeAll(bridge.url, targets, config.probeBytes).then(() => undefined), settle);
      const warm = await measured(stack, () => probeAll(bridge.url, targets, config.probeBytes).then(() => undefined), settle);
      probes.set(label, { cold, warm });
    }
    // Rows C2a and C2b: both bridges interleaved, cold then warm (see interleavedSeeks).
    const seekCold = await interleavedSeeks(stack, [cached, plain], ranges, settle);
    const seekWarm = await interleavedSeeks(stack, [cached, plain], ranges, settle);
    for (const [label, bridge] of [['cache', cached], ['nocache', plain]] as const) {
      const side = label === 'cache' ? 0 : 1;
      await expectStatus(`${bridge.url}/seq.bin`, { headers: rangeHeader(0, 0) }, [206]);
      let seq: Drained | undefined;
      const sq = await measured(stack, async () => void (seq = await drainFor(`${bridge.url}/seq.bin`, {}, config.quick ? 15_000 : 60_000)), settle);
      if (seq!.status !== 200) throw new Error(`sequential GET through the ${label} bridge answered ${seq!.status}`);
      results.set(label, {
        ...probes.get(label)!,
        seekCold: seekCold.ttfb[side],
        seekWarm: seekWarm.ttfb[side],
        seekCalls: [seekCold.calls[side], seekWarm.calls[side]],
        seq: seq!,
        seqCalls: sq.calls,
      });
    }
    const c = results.get('cache')!;
    const p = results.get('nocache')!;
    const n = specs.length;
    const calls = (a: Counters, b: Counters) => `${a.api} / ${b.api}`;
    const gets = (a: Counters, b: Counters) => `upstream GETs: cache ${a.downloads}, no-cache ${b.downloads}`;
    const seekRow = (row: string, label: string, cs: number[], ps: number[], cc: Counters, pc: Counters, target: string, ok: boolean | undefined): Row => ({
      row,
      measure: `${ranges.length} seeks ${label}, TTFB p50/p99 ms (direct column = --no-read-cache)`,
      bridge: `${fmt(percentile(cs, 50), 2)} / ${fmt(percentile(cs, 99), 2)}`,
      direct: `${fmt(percentile(ps, 50), 2)} / ${fmt(percentile(ps, 99), 2)}`,
      ratio: ratio(percentile(cs, 50), percentile(ps, 50)),
      apiCalls: calls(cc, pc),
      target,
      met: ok === undefined ? '-' : met(ok),
      note: gets(cc, pc),
      values: { seeks: ranges.length, cacheP50: percentile(cs, 50), cacheP99: percentile(cs, 99), noCacheP50: percentile(ps, 50), noCacheP99: percentile(ps, 99), cacheUpstreamGets: cc.downloads, noCacheUpstreamGets: pc.downloads },
    });
    return [
      {
        row: 'C1a',
        measure: `probe ${n} files, cache cold (s) (direct column = --no-read-cache)`,
        bridge: fmt(c.cold.ms / 1000, 2),
        direct: fmt(p.cold.ms / 1000, 2),
        ratio: ratio(c.cold.ms, p.cold.ms),
        apiCalls: calls(c.cold.calls, p.cold.calls),
        target: '-',
        met: '-',
        note: gets(c.cold.calls, p.cold.calls),
        values: { files: n, cacheMs: c.cold.ms, noCacheMs: p.cold.ms, cache: c.cold.calls, noCache: p.cold.calls },
      },
      {
        row: 'C1b',
        measure: `probe the same ${n} files again, cache warm (s) (direct column = --no-read-cache)`,
        bridge: fmt(c.warm.ms / 1000, 3),
        direct: fmt(p.warm.ms / 1000, 3),
        ratio: ratio(c.warm.ms, p.warm.ms),
        apiCalls: calls(c.warm.calls, p.warm.calls),
        target: '0 upstream requests',
        met: met(c.warm.calls.downloads === 0 && c.warm.calls.api === 0),
        note: gets(c.warm.calls, p.warm.calls),
        values: { files: n, cacheMs: c.warm.ms, noCacheMs: p.warm.ms, cache: c.warm.calls, noCache: p.warm.calls },
      },
      seekRow('C2a', 'cache cold', c.seekCold, p.seekCold, c.seekCalls[0]!, p.seekCalls[0]!, 'p50 <= 1.2x --no-read-cache', percentile(c.seekCold, 50) <= 1.2 * percentile(p.seekCold, 50)),
      seekRow('C2b', 'same offsets, cache warm', c.seekWarm, p.seekWarm, c.seekCalls[1]!, p.seekCalls[1]!, '0 upstream GETs', c.seekCalls[1]!.downloads === 0),
      {
        row: 'C3',
        measure: `sequential GET of ${(seqSize / 1024 ** 2).toFixed(0)} MiB, cache cold (MB/s) (direct column = --no-read-cache)`,
        bridge: fmt(mbPerSecond(c.seq.bytes, c.seq.ms)),
        direct: fmt(mbPerSecond(p.seq.bytes, p.seq.ms)),
        ratio: ratio(mbPerSecond(c.seq.bytes, c.seq.ms), mbPerSecond(p.seq.bytes, p.seq.ms)),
        apiCalls: calls(c.seqCalls, p.seqCalls),
        target: '-',
        met: '-',
        note: `${gets(c.seqCalls, p.seqCalls)}${c.seq.complete && p.seq.complete ? '' : '; a transfer was cut by the time cap'}`,
        values: { bytes: seqSize, cacheMBs: mbPerSecond(c.seq.bytes, c.seq.ms), noCacheMBs: mbPerSecond(p.seq.bytes, p.seq.ms), cacheComplete: c.seq.complete, noCacheComplete: p.seq.complete },
      },
    ];
  });
}
