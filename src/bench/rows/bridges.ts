/**
 * Row 8: many bridges, one account. The same browsing workload (PROPFIND Depth 1 of every folder
 * of a library twice, each time from a random bridge, plus a ranged GET in every folder) served by
 * one bridge, then by three bridges sharing one real `redis-server` (--redis-url), under the
 * simulator's real limits scaled in time. Three bridges without Redis would each list every folder
 * (and flood); with it they list each folder once between them. Reported: ops/s, API calls, floods.
 *
 * Each configuration runs on an account of its own (its own simulator). 1fichier counts windows
 * per account, and the lone bridge keeps its budget in its own state directory, which the Redis
 * bridges do not read: on one account, its listing of `/` or its user/info opened windows the
 * Redis bridges could not know of, and their first listing of `/` or key check right after was a
 * flood (the simulator's flood records showed exactly that pair, every time). Mixing a bridge
 * without Redis with bridges with Redis on one account is what many-bridges.md warns against;
 * the row measures the supported set-ups, each alone on its account.
 *
 * A flood answer is named in the note: which rule, which call, which bridge sent it, and the calls
 * the simulator counted against it (src/simulator/flood-log.ts).
 */
import pLimit from 'p-limit';
import type { BenchConfig } from '../config.js';
import { elapsedMs, now } from '../clock.js';
import { expectStatus, rangeHeader } from '../http.js';
import { startRedisServer } from '../redis-server.js';
import { fmt, met, ratio, type Row } from '../result.js';
import { SocketOwners } from '../socket-owners.js';
import { diff, withStack, type Stack } from '../stack.js';
import { encodePath, propfind } from '../webdav.js';
import { describeFlood } from '../../simulator/flood-log.js';

const FILE_SIZE = 4 * 1024 ** 2;
/**
 * Real ms by which the simulator may count a call late on this machine without a flood
 * (`--jitter-ms`). Time scaling shrinks 1fichier's rules (3 calls/s becomes one call per 17 ms at
 * x0.05) but not the lag between a bridge sending a call and the simulator counting it: on a
 * loaded 2-core machine that lag reaches 150 ms, enough to bunch four calls sent 25 ms apart into
 * one flood. At scale 1 this changes nothing (the margins and spacing are larger).
 */
const JITTER_MS = 200;
const ROOT = 'library';

interface Phase {
  ops: number;
  opsPerS: number;
  api: number;
  listings: number;
  /** Flood answers while measuring. */
  floods: number;
  /** Flood answers from the first bridge's start to the end (starts included). */
  allFloods: number;
  /** Each flood answer named (see describeFlood), times from the phase's start. */
  floodLines: string[];
}

export async function runBridges(config: BenchConfig): Promise<Row[]> {
  const scale = config.scanTimeScale;
  const folders = config.scanFolders;
  const names = Array.from({ length: folders }, (_, i) => `Album ${String(i).padStart(2, '0')}`);
  const step = (what: string) => process.stderr.write(`bench: bridges: ${what}\n`);
  const a = await phase(scale, names, config.scanConcurrency, 1, undefined);
  step('one bridge measured');
  const redis = await startRedisServer();
  let b: Phase;
  try {
    b = await phase(scale, names, config.scanConcurrency, 3, redis.url);
  } finally {
    await redis.close();
  }
  step('three bridges with Redis measured');
  const real = (opsPerS: number) => `${fmt(opsPerS, 1)} ops/s (real ${fmt(opsPerS * scale, 2)})`;
  const allFloods = a.allFloods + b.allFloods;
  const named = [...b.floodLines.map((l) => `three: ${l}`), ...a.floodLines.map((l) => `one: ${l}`)];
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
      note:
        `"bridge" = three bridges sharing one redis-server, "direct" = one bridge, each set-up on an account of its own; ` +
        `floods ${b.floods} / ${a.floods} (${allFloods} in the whole row, starts included); listings ${b.listings} / ${a.listings}; ` +
        `${config.scanConcurrency} clients at once; bridges run with --jitter-ms ${JITTER_MS}` +
        // Their calls are then farther apart than the scaled 500 ms: the "real" figures are low.
        (JITTER_MS / 2 > 500 * scale ? ` (calls ${JITTER_MS / 2} ms apart, not ${fmt(500 * scale, 0)}: the "real" ops/s are pessimistic)` : '') +
        `; a listing is shared for one window (30 s x scale), so a bridge that did not cache a folder lists it again after that` +
        (named.length ? `; flood answers (ms from the set-up's start): ${named.join('; ')}` : ''),
      values: {
        timeScale: scale,
        jitterMs: JITTER_MS,
        folders,
        ops: b.ops,
        threeOpsPerS: b.opsPerS,
        oneOpsPerS: a.opsPerS,
        threeApi: b.api,
        oneApi: a.api,
        threeListings: b.listings,
        oneListings: a.listings,
        threeFloods: b.floods,
        oneFloods: a.floods,
        rowFloods: allFloods,
        floodAnswers: named,
      },
    },
  ];
}

/** One set-up on a fresh account: `count` bridges (sharing `redisUrl` when given), started at once, then measured. */
async function phase(scale: number, names: string[], concurrency: number, count: number, redisUrl: string | undefined): Promise<Phase> {
  return withStack(scale, {}, async (stack) => {
    const id = await stack.sim.addFolder(0, ROOT);
    for (const [i, name] of names.entries()) {
      const sub = await stack.sim.addFolder(id, name);
      await stack.sim.addFiles(sub, [{ name: 'track.flac', size: FILE_SIZE, seed: i + 1 }]);
    }
    const atStart = await stack.counters();
    const phaseStart = Date.now();
    // Which bridge sent each call a flood record names (by its connection's port).
    const labels: Record<string, number> = {};
    const owners = new SocketOwners(() => labels).start();
    try {
      const flags = ['--jitter-ms', String(JITTER_MS), ...(redisUrl ? ['--redis-url', redisUrl, '--redis-bridges', String(count)] : [])];
      const label = (i: number) => (redisUrl ? `redis bridge ${i + 1}` : count === 1 ? 'bridge' : `bridge ${i + 1}`);
      // Started together: every bridge identifies the account and checks its key at once.
      // Each checks the key in its turn of the account's user/info window (60 s x scale).
      const startTimeoutMs = 20_000 + count * 60_000 * 1.1 * scale;
      const bridges = await Promise.all(Array.from({ length: count }, (_, i) => stack.bridge(flags, (pid) => (labels[label(i)] = pid), startTimeoutMs)));
      process.stderr.write(`bench: bridges: ${count} started in ${((Date.now() - phaseStart) / 1000).toFixed(1)} s\n`);
      const m = await measure(stack, bridges.map((b) => b.url), names, concurrency);
      owners.stop();
      const allFloods = diff(await stack.counters(), atStart).floods;
      const floodLines = (await stack.sim.stats()).floodLog.map((r) =>
        describeFlood({ ...r, caller: owners.name(r.caller), counted: r.counted.map((c) => ({ ...c, caller: owners.name(c.caller) })) }, phaseStart),
      );
      for (const line of floodLines) process.stderr.write(`bench: bridges: flood (${count} bridge${count > 1 ? 's' : ''}): ${line}\n`);
      return { ...m, allFloods, floodLines };
    } finally {
      owners.stop();
    }
  });
}

async function measure(stack: Stack, urls: string[], names: string[], concurrency: number) {
  const limit = pLimit(concurrency);
  const pick = () => urls[Math.floor(Math.random() * urls.length)]!;
  const before = await stack.counters();
  const started = now();
  let ops = 0;
  const top = await propfind(pick(), `/${ROOT}/`, '1');
  if (top.entries !== names.length + 1) throw new Error(`/${ROOT}/ lists ${top.entries - 1} of ${names.length} folders`);
  ops += 1;
  for (let pass = 0; pass < 2; pass++) {
    await Promise.all(
      names.map((name) =>
        limit(async () => {
          const res = await propfind(pick(), encodePath(ROOT, name) + '/', '1');
          if (res.entries !== 2) throw new Error(`${ROOT}/${name} lists ${res.entries - 1} of 1 file`);
          ops += 1;
          if (pass === 0) {
            const start = Math.floor(Math.random() * (FILE_SIZE - 65_536));
            await expectStatus(pick() + encodePath(ROOT, name, 'track.flac'), { headers: rangeHeader(start, start + 65_535) }, [206]);
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
