/**
 * Row 5: PUT of a large file through the bridge, with Content-Length (streamed straight to the
 * upload node) and chunked without it (spooled to disk first, since 1fichier's nodes need the
 * length), vs the 3-step multipart upload built by hand (direct.ts, no Whirlpool check). The
 * bridge's peak RSS is measured per PUT from /proc.
 */
import type { BenchConfig } from '../config.js';
import { cpuSeconds } from '../cpu.js';
import { sleep } from '../clock.js';
import { expectStatus } from '../http.js';
import { payload } from '../payload.js';
import { fmt, met, ratio, type Row } from '../result.js';
import { PeakTracker } from '../rss.js';
import { diff, withStack } from '../stack.js';
import { mbPerSecond } from '../stats.js';
import { propfind } from '../webdav.js';

const RSS_TARGET_MB = 150;

export async function runPut(config: BenchConfig): Promise<Row[]> {
  return withStack(1, {}, async (stack) => {
    const size = config.putBytes;
    const bridge = await stack.bridge();
    await propfind(bridge.url, '/', '1');
    const rssStart = bridge.rss().rssMb;

    await sleep(600);
    const c0 = await stack.counters();
    let tracker = new PeakTracker(bridge.pid);
    const cpuA = { bridge: cpuSeconds(bridge.pid), sim: cpuSeconds(stack.sim.pid) };
    const withLength = await expectStatus(`${bridge.url}/put-length.bin`, { method: 'PUT', headers: { 'Content-Length': String(size) }, body: payload(size) }, [201, 204]);
    const peakLength = tracker.stop();
    const cpuLength = { bridge: cpuSeconds(bridge.pid) - cpuA.bridge, sim: cpuSeconds(stack.sim.pid) - cpuA.sim };
    const c1 = await stack.counters();

    await sleep(600);
    tracker = new PeakTracker(bridge.pid);
    const cpuB = { bridge: cpuSeconds(bridge.pid), sim: cpuSeconds(stack.sim.pid) };
    const chunked = await expectStatus(`${bridge.url}/put-chunked.bin`, { method: 'PUT', body: payload(size) }, [201, 204]);
    const peakChunked = tracker.stop();
    const cpuChunked = { bridge: cpuSeconds(bridge.pid) - cpuB.bridge, sim: cpuSeconds(stack.sim.pid) - cpuB.sim };
    const c2 = await stack.counters();

    await sleep(1100);
    const direct = stack.direct();
    const viaDirect = await direct.upload('put-direct.bin', size, 0);

    // The bridge must have stored every byte: check the sizes it now lists.
    const listing = (await propfind(bridge.url, '/', '1')).body!.toString('utf8');
    for (const name of ['put-length.bin', 'put-chunked.bin']) {
      const at = listing.indexOf(name);
      const m = at < 0 ? null : /getcontentlength>(\d+)</.exec(listing.slice(at));
      if (!m || Number(m[1]) !== size) throw new Error(`${name} is not listed with ${size} bytes after the PUT`);
    }

    const lengthMBs = mbPerSecond(size, withLength.totalMs);
    const chunkedMBs = mbPerSecond(size, chunked.totalMs);
    const directMBs = mbPerSecond(size, viaDirect.ms);
    const lengthCalls = diff(c1, c0).api;
    const chunkedCalls = diff(c2, c1).api;
    const busy = (cpu: { bridge: number; sim: number }, ms: number) =>
      `CPU: bridge ${((cpu.bridge / (ms / 1000)) * 100).toFixed(0)}%, simulator ${((cpu.sim / (ms / 1000)) * 100).toFixed(0)}% of one core`;
    const mib = `${Math.round(size / 1024 ** 2)} MiB`;
    return [
      {
        row: '5a',
        measure: `PUT ${mib} with Content-Length (MB/s); bridge peak RSS`,
        bridge: `${fmt(lengthMBs)}; ${fmt(peakLength, 0)} MB`,
        direct: fmt(directMBs),
        ratio: ratio(lengthMBs, directMBs),
        apiCalls: `${lengthCalls} / ${direct.apiCalls}`,
        target: `peak RSS < ${RSS_TARGET_MB} MB`,
        met: met(peakLength < RSS_TARGET_MB),
        note: `direct = hand-built multipart to the node (no Whirlpool check); bridge RSS before the PUTs ${fmt(rssStart, 0)} MB; ${busy(cpuLength, withLength.totalMs)}`,
        values: { bytes: size, bridgeMs: withLength.totalMs, directMs: viaDirect.ms, bridgeMBs: lengthMBs, directMBs, peakRssMb: peakLength, rssStartMb: rssStart, apiCalls: lengthCalls, cpuSeconds: cpuLength },
      },
      {
        row: '5b',
        measure: `PUT ${mib} chunked, no length (MB/s); bridge peak RSS`,
        bridge: `${fmt(chunkedMBs)}; ${fmt(peakChunked, 0)} MB`,
        direct: fmt(directMBs),
        ratio: ratio(chunkedMBs, directMBs),
        apiCalls: `${chunkedCalls} / ${direct.apiCalls}`,
        target: `peak RSS < ${RSS_TARGET_MB} MB`,
        met: met(peakChunked < RSS_TARGET_MB),
        note: `chunked bodies are spooled to disk, then uploaded (the node refuses chunked uploads); ${busy(cpuChunked, chunked.totalMs)}`,
        values: { bytes: size, bridgeMs: chunked.totalMs, bridgeMBs: chunkedMBs, peakRssMb: peakChunked, apiCalls: chunkedCalls, cpuSeconds: cpuChunked },
      },
    ];
  });
}
