/**
 * Row 8: many bridges, one account. The same browsing workload (PROPFIND Depth 1 of every folder
 * of a library twice, each time from a random bridge, plus a ranged GET in every folder) served by
 * one bridge, then by three bridges sharing one real `redis-server` (--redis-url), under the
 * simulator's real limits scaled in time. Three bridges without Redis would each list every folder
 * (and flood); with it they list each folder once between them. Reported: ops/s, API calls, floods.
 */
import pLimit from 'p-limit';
import type { BenchConfig } from '../config.js';
import { elapsedMs, now } from '../clock.js';
import { expectStatus, rangeHeader } from '../http.js';
import { startRedisServer } from '../redis-server.js';
import { fmt, met, ratio, type Row } from '../result.js';
import { diff, withStack, type Stack } from '../stack.js';
import { encodePath, propfind } from '../webdav.js';

const FILE_SIZE = 4 * 1024 ** 2;

export async function runBridges(config: BenchConfig): Promise<Row[]> {
  const scale = config.scanTimeScale;
  const folders = config.scanFolders;
  const redis = await startRedisServer();
  try {
    return await withStack(scale, {}, async (stack) => {
      const names = Array.from({ length: folders }, (_, i) => `Album ${String(i).padStart(2, '0')}`);
      for (const root of ['one', 'three']) {
        const id = await stack.sim.addFolder(0, root);
        for (const [i, name] of names.entries()) {
          const sub = await stack.sim.addFolder(id, name);
          await stack.sim.addFiles(sub, [{ name: 'track.flac', size: FILE_SIZE, seed: i + 1 }]);
        }
      }
      const step = (what: string) => process.stderr.write(`bench: bridges: ${what}\n`);
      const atStart = await stack.counters();
      const one = [await stack.bridge()];
      step('one bridge started');
      const three = await Promise.all([0, 1, 2].map(() => stack.bridge(['--redis-url', redis.url, '--redis-bridges', '3'])));
      step('three bridges with Redis started');
      const a = await measure(stack, one.map((b) => b.url), 'one', names, config.scanConcurrency);
      step('one bridge measured');
      const b = await measure(stack, three.map((b) => b.url), 'three', names, config.scanConcurrency);
      // Starting counts too: four processes of one account identify it and check its key.
      const allFloods = diff(await stack.counters(), atStart).floods;
      const real = (opsPerS: number) => `${fmt(opsPerS, 1)} ops/s (real ${fmt(opsPerS * scale, 2)})`;
      return [
        {
          row: '8',
          measure: `browsing ${folders} folders twice + a ranged GET each (${b.ops} ops): 3 bridges + Redis vs 1 bridge, time-scaled x${scale}`,
          bridge: real(b.opsPerS),
          direct: real(a.opsPerS),
          ratio: ratio(b.opsPerS, a.opsPerS),
          apiCalls: `${b.api} / ${a.api}`,
          target: 'flood answers = 0',
          met: met(a.floods === 0 && b.floods === 0 && allFloods === 0),
          note: `"bridge" = three bridges sharing one redis-server, "direct" = one bridge; floods ${b.floods} / ${a.floods} (${allFloods} in the whole row, starts included); listings ${b.listings} / ${a.listings}; ${config.scanConcurrency} clients at once; a listing is shared for one window (30 s x scale), so a bridge that did not cache a folder lists it again after that`,
          values: { timeScale: scale, folders, ops: b.ops, threeOpsPerS: b.opsPerS, oneOpsPerS: a.opsPerS, threeApi: b.api, oneApi: a.api, threeListings: b.listings, oneListings: a.listings, threeFloods: b.floods, oneFloods: a.floods, rowFloods: allFloods },
        },
      ];
    });
  } finally {
    await redis.close();
  }
}

async function measure(stack: Stack, urls: string[], root: string, names: string[], concurrency: number) {
  const limit = pLimit(concurrency);
  const pick = () => urls[Math.floor(Math.random() * urls.length)]!;
  const before = await stack.counters();
  const started = now();
  let ops = 0;
  const top = await propfind(pick(), `/${root}/`, '1');
  if (top.entries !== names.length + 1) throw new Error(`/${root}/ lists ${top.entries - 1} of ${names.length} folders`);
  ops += 1;
  for (let pass = 0; pass < 2; pass++) {
    await Promise.all(
      names.map((name) =>
        limit(async () => {
          const res = await propfind(pick(), encodePath(root, name) + '/', '1');
          if (res.entries !== 2) throw new Error(`${root}/${name} lists ${res.entries - 1} of 1 file`);
          ops += 1;
          if (pass === 0) {
            const start = Math.floor(Math.random() * (FILE_SIZE - 65_536));
            await expectStatus(pick() + encodePath(root, name, 'track.flac'), { headers: rangeHeader(start, start + 65_535) }, [206]);
            ops += 1;
          }
        }),
      ),
    );
  }
  const ms = elapsedMs(started);
  const used = diff(await stack.counters(), before);
  return { ops, opsPerS: ops / (ms / 1000), api: used.api, listings: used.listings, floods: used.floods };
}
