/**
 * Row 4: media probe (head + tail + middle, 1 MiB each) on N files, through the bridge (folder
 * listed first, as a scanner does) vs direct (one listing, then get_token + 3 GETs per file at the
 * same 2 calls/s budget). A second pass shows what a repeated scan costs with the bridge's defaults
 * (the block cache, when the build has one, is on by default; rows C* compare it on and off).
 */
import type { BenchConfig } from '../config.js';
import { elapsedMs, now, sleep } from '../clock.js';
import { probeAll, probeRanges, type ProbeTarget } from '../probe.js';
import { fmt, ratio, type Row } from '../result.js';
import { diff, withStack } from '../stack.js';
import { propfind } from '../webdav.js';

export function probeFileSpecs(count: number, prefix: string): { name: string; size: number; seed: number }[] {
  return Array.from({ length: count }, (_, i) => ({ name: `${prefix}-${String(i).padStart(3, '0')}.mkv`, size: 2 * 1024 ** 3 + i * 4096, seed: 1000 + i }));
}

export async function runProbe(config: BenchConfig): Promise<Row[]> {
  return withStack(1, {}, async (stack) => {
    const specs = probeFileSpecs(config.probeFiles, 'movie');
    const probesId = await stack.sim.addFolder(0, 'probes');
    const directId = await stack.sim.addFolder(0, 'probes-direct');
    await stack.sim.addFiles(probesId, specs);
    await stack.sim.addFiles(directId, specs);
    const bridge = await stack.bridge();
    const targets: ProbeTarget[] = specs.map((s) => ({ path: `/probes/${encodeURIComponent(s.name)}`, size: s.size }));

    const c0 = await stack.counters();
    const started = now();
    await propfind(bridge.url, '/probes/', '1');
    await probeAll(bridge.url, targets, config.probeBytes);
    const firstMs = elapsedMs(started);
    const c1 = await stack.counters();
    const again = now();
    await probeAll(bridge.url, targets, config.probeBytes);
    const secondMs = elapsedMs(again);
    const c2 = await stack.counters();

    await sleep(1100);
    const direct = stack.direct();
    const directStarted = now();
    const listing = await direct.listFolder(directId);
    const links: { link: string; size: number }[] = [];
    for (const file of listing.files) {
      const link = await direct.token(file.url!);
      links.push({ link, size: file.size! });
      for (const range of probeRanges(file.size!, config.probeBytes)) await direct.get(link, range);
    }
    const directMs = elapsedMs(directStarted);
    const directCalls = direct.apiCalls;
    // A direct client that kept its links (they live 5 minutes) probes again without API calls.
    const directAgain = now();
    for (const { link, size } of links) {
      for (const range of probeRanges(size, config.probeBytes)) await direct.get(link, range);
    }
    const directSecondMs = elapsedMs(directAgain);
    const first = diff(c1, c0);
    const second = diff(c2, c1);
    const n = specs.length;
    return [
      {
        row: '4a',
        measure: `media probe (head+tail+middle 1 MiB) of ${n} files, first scan (s)`,
        bridge: fmt(firstMs / 1000, 2),
        direct: fmt(directMs / 1000, 2),
        ratio: ratio(firstMs, directMs),
        apiCalls: `${first.api} / ${directCalls}`,
        target: '-',
        met: '-',
        note: `bridge: ${first.listings} listings + ${first.getToken} get_token, ${first.downloads} upstream GETs; both paths paced at 2 API calls/s, so time ~ get_token calls / 2`,
        values: { files: n, bridgeMs: firstMs, directMs, bridgeApiCalls: first.api, bridgeGetToken: first.getToken, bridgeUpstreamGets: first.downloads, directApiCalls: directCalls },
      },
      {
        row: '4b',
        measure: `media probe of the same ${n} files again (s)`,
        bridge: fmt(secondMs / 1000, 2),
        direct: fmt(directSecondMs / 1000, 2),
        ratio: ratio(secondMs, directSecondMs),
        apiCalls: `${second.api} / ${direct.apiCalls - directCalls}`,
        target: '-',
        met: '-',
        note: `links reused on both paths: bridge ${second.downloads} upstream GETs, ${second.getToken} get_token`,
        values: { files: n, bridgeMs: secondMs, directMs: directSecondMs, apiCalls: second.api, upstreamGets: second.downloads },
      },
    ];
  });
}
