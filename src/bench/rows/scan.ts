/**
 * Row 6: a library scan, i.e. PROPFIND Depth 1 of every folder of a F x N tree, under the
 * simulator's real limits (3 calls/s, one listing per folder per 30 s, flood locks) scaled in
 * time for both the simulator and the bridge's scheduler. The direct path lists the same tree
 * with folder/ls.cgi at the bridge's pace (2 calls/s, scaled). A second bridge scan right after
 * shows the cache at work.
 */
import pLimit from 'p-limit';
import type { BenchConfig } from '../config.js';
import { elapsedMs, now, sleep } from '../clock.js';
import { fmt, met, ratio, type Row } from '../result.js';
import { diff, withStack } from '../stack.js';
import { encodePath, propfind } from '../webdav.js';

export async function runScan(config: BenchConfig): Promise<Row[]> {
  const scale = config.scanTimeScale;
  return withStack(scale, {}, async (stack) => {
    const folderNames = Array.from({ length: config.scanFolders }, (_, i) => `Show ${String(i).padStart(2, '0')}`);
    const build = async (rootName: string): Promise<number> => {
      const id = await stack.sim.addFolder(0, rootName);
      for (const name of folderNames) {
        const sub = await stack.sim.addFolder(id, name);
        await stack.sim.addFiles(sub, Array.from({ length: config.scanFilesPerFolder }, (_, i) => ({ name: `${name} E${i}.mkv`, size: 17 * 1024 ** 2 + i, seed: i + 1 })));
      }
      return id;
    };
    await build('library');
    const directRoot = await build('library-direct');
    const bridge = await stack.bridge();
    const limit = pLimit(config.scanConcurrency);

    const scan = async (): Promise<number> => {
      const started = now();
      const top = await propfind(bridge.url, '/library/', '1');
      if (top.entries !== folderNames.length + 1) throw new Error(`library lists ${top.entries - 1} of ${folderNames.length} folders`);
      await Promise.all(
        folderNames.map((name) =>
          limit(async () => {
            const res = await propfind(bridge.url, encodePath('library', name) + '/', '1');
            if (res.entries !== config.scanFilesPerFolder + 1) throw new Error(`${name} lists ${res.entries - 1} of ${config.scanFilesPerFolder} files`);
          }),
        ),
      );
      return elapsedMs(started);
    };

    const c0 = await stack.counters();
    const coldMs = await scan();
    const c1 = await stack.counters();
    const warmMs = await scan();
    const c2 = await stack.counters();

    await sleep(2000 * scale + 100);
    const direct = stack.direct();
    const directStarted = now();
    const top = await direct.listFolder(directRoot);
    for (const folder of top.folders) await direct.listFolder(folder.id!);
    const directMs = elapsedMs(directStarted);
    const c3 = await stack.counters();

    const cold = diff(c1, c0);
    const warm = diff(c2, c1);
    const directFloods = diff(c3, c2).floods;
    const folders = folderNames.length + 1;
    const real = (ms: number) => `${fmt(ms / 1000, 2)} s (real ${fmt(ms / scale / 1000, 1)} s)`;
    return [
      {
        row: '6a',
        measure: `library scan, PROPFIND of ${folders} folders (${config.scanFolders}x${config.scanFilesPerFolder}), time-scaled x${scale}`,
        bridge: real(coldMs),
        direct: real(directMs),
        ratio: ratio(coldMs, directMs),
        apiCalls: `${cold.api} / ${direct.apiCalls}`,
        target: 'flood answers = 0',
        met: met(cold.floods === 0 && directFloods === 0),
        note: `bridge floods ${cold.floods}, direct floods ${directFloods}; bridge calls include the root listing; ${config.scanConcurrency} concurrent PROPFINDs; real = wall / scale (an upper bound: local work does not scale)`,
        values: { folders, timeScale: scale, bridgeMs: coldMs, bridgeRealMs: coldMs / scale, directMs, directRealMs: directMs / scale, apiCalls: cold.api, floods: cold.floods, directFloods },
      },
      {
        row: '6b',
        measure: `library rescan right after (folder cache warm)`,
        bridge: `${fmt(warmMs / 1000, 2)} s (no API wait to scale)`,
        direct: real(directMs),
        ratio: ratio(warmMs, directMs),
        apiCalls: `${warm.api} / ${direct.apiCalls}`,
        target: 'flood answers = 0',
        met: met(warm.floods === 0),
        values: { bridgeMs: warmMs, apiCalls: warm.api, floods: warm.floods },
      },
    ];
  });
}
