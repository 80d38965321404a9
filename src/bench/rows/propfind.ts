/**
 * Row 1: PROPFIND Depth 1 on a folder of N files. Cold = the folder's first listing (its parent
 * already resolved); warm = repeated PROPFINDs answered from the folder cache. The direct path
 * is one folder/ls.cgi (files:1) on an identical folder: the API allows one listing of a folder
 * per 30 s, so a direct client has no "warm" case, and the same figure stands for both.
 */
import type { BenchConfig } from '../config.js';
import { sleep } from '../clock.js';
import { fmt, met, ratio, type Row } from '../result.js';
import { diff, withStack } from '../stack.js';
import { percentile } from '../stats.js';
import { propfind } from '../webdav.js';

export async function runPropfind(config: BenchConfig): Promise<Row[]> {
  return withStack(1, {}, async (stack) => {
    const n = config.folderFiles;
    const files = (prefix: string) =>
      Array.from({ length: n }, (_, i) => ({ name: `${prefix}-${String(i).padStart(5, '0')}.mkv`, size: 17 * 1024 ** 2 + i, seed: i + 1 }));
    const bigId = await stack.sim.addFolder(0, 'big');
    const directId = await stack.sim.addFolder(0, 'big-direct');
    await stack.sim.addFiles(bigId, files('episode'));
    await stack.sim.addFiles(directId, files('episode'));
    const bridge = await stack.bridge();

    // Resolve the parent first so "cold" measures the folder's own listing.
    await propfind(bridge.url, '/', '1');
    // Past the scheduler's pacing gap (2 calls/s), so "cold" is the listing itself.
    await sleep(1000);
    const c0 = await stack.counters();
    const cold = await propfind(bridge.url, '/big/', '1');
    const c1 = await stack.counters();
    if (cold.entries !== n + 1) throw new Error(`cold PROPFIND listed ${cold.entries - 1} of ${n} files`);

    const warm: number[] = [];
    for (let i = 0; i < config.warmPropfinds; i++) {
      const res = await propfind(bridge.url, '/big/', '1');
      if (res.entries !== n + 1) throw new Error(`warm PROPFIND listed ${res.entries - 1} of ${n} files`);
      warm.push(res.totalMs);
    }
    const c2 = await stack.counters();

    await sleep(1100); // let the account's token bucket refill after the bridge's calls
    const direct = stack.direct();
    const listing = await direct.listFolder(directId);
    if (listing.files.length !== n) throw new Error(`direct listing returned ${listing.files.length} of ${n} files`);

    const coldCalls = diff(c1, c0).api;
    const warmCalls = diff(c2, c1).api;
    const p50 = percentile(warm, 50);
    const p99 = percentile(warm, 99);
    return [
      {
        row: '1a',
        measure: `PROPFIND depth 1, ${n} files, cold (ms)`,
        bridge: fmt(cold.totalMs),
        direct: fmt(listing.ms),
        ratio: ratio(cold.totalMs, listing.ms),
        apiCalls: `${coldCalls} / ${direct.apiCalls}`,
        target: 'API calls = 1',
        met: met(coldCalls === 1),
        note: 'parent resolved 1 s before (a fresh bridge also lists the root: +1 call; right after another call the 2 calls/s pacing adds up to 500 ms)',
        values: { files: n, coldMs: cold.totalMs, directMs: listing.ms, coldApiCalls: coldCalls, directApiCalls: direct.apiCalls, responseBytes: cold.bytes },
      },
      {
        row: '1b',
        measure: `PROPFIND depth 1, ${n} files, warm p50/p99 over ${warm.length} (ms)`,
        bridge: `${fmt(p50)} / ${fmt(p99)}`,
        direct: `${fmt(listing.ms)} (1 call; API allows 1 listing/30 s)`,
        ratio: ratio(p50, listing.ms),
        apiCalls: `${warmCalls} / -`,
        target: 'API calls = 0',
        met: met(warmCalls === 0),
        values: { requests: warm.length, p50Ms: p50, p99Ms: p99, apiCalls: warmCalls },
      },
    ];
  });
}
