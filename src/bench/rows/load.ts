/**
 * Row 7: C concurrent WebDAV clients for a fixed time. Most are readers (PROPFIND Depth 1 of a
 * 100-file folder, 64 KiB Range GETs on a few hot files); a few are writers cycling PUT (32 KiB)
 * → MOVE → DELETE in their own folder. Writes cost API calls, and the account allows about
 * 2-3 a second, so writers are kept few: with more, every client would end up queued behind
 * the API budget and the row would measure 1fichier's limit, not the bridge.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { BenchConfig } from '../config.js';
import { elapsedMs, now, sleep } from '../clock.js';
import { timed, type RequestSpec } from '../http.js';
import { fmt, met, type Row } from '../result.js';
import { PeakTracker } from '../rss.js';
import { diff, withStack } from '../stack.js';
import { percentile, seededRandom } from '../stats.js';
import { propfind } from '../webdav.js';

type Kind = 'PROPFIND' | 'GET' | 'PUT' | 'MOVE' | 'DELETE';

interface Sample {
  kind: Kind;
  ms: number;
  ok: boolean;
}

const HOT_FILES = 5;
const FOLDER_FILES = 100;
const RANGE = 64 * 1024;
const FILE_SIZE = 64 * 1024 ** 2;

export async function runLoad(config: BenchConfig): Promise<Row[]> {
  return withStack(1, {}, async (stack) => {
    const loadId = await stack.sim.addFolder(0, 'load');
    await stack.sim.addFiles(loadId, Array.from({ length: FOLDER_FILES }, (_, i) => ({ name: `clip-${String(i).padStart(3, '0')}.mp4`, size: FILE_SIZE + i, seed: 500 + i })));
    for (let w = 0; w < config.loadWriters; w++) await stack.sim.addFolder(loadId, `w${w}`);
    const bridge = await stack.bridge();
    const base = bridge.url;

    // Steady state: the folder listed and the hot files' links fetched before the clock starts.
    await propfind(base, '/load/', '1');
    for (let i = 0; i < HOT_FILES; i++) await timed(`${base}/load/clip-${String(i).padStart(3, '0')}.mp4`, { headers: { Range: 'bytes=0-0' } });
    await sleep(1000);

    const samples: Sample[] = [];
    const errors: string[] = [];
    const deadline = Date.now() + config.loadSeconds * 1000;
    const aborter = new AbortController();
    // Every in-flight request listens on the one grace-period signal.
    setMaxListeners(config.loadClients * 4, aborter.signal);
    const op = async (kind: Kind, url: string, spec: RequestSpec, ok: number[], check?: (bytes: number) => boolean): Promise<boolean> => {
      const started = now();
      let good = false;
      try {
        const res = await timed(url, { ...spec, signal: aborter.signal });
        good = ok.includes(res.status) && (!check || check(res.bytes));
        if (!good && errors.length < 20) errors.push(`${kind} ${res.status}`);
      } catch (error) {
        if (errors.length < 20) errors.push(`${kind} ${error instanceof Error ? error.message : String(error)}`);
      }
      samples.push({ kind, ms: elapsedMs(started), ok: good });
      return good;
    };

    const reader = async (index: number): Promise<void> => {
      const random = seededRandom(index + 1);
      while (Date.now() < deadline) {
        if (random() < 0.5) {
          await op('PROPFIND', `${base}/load/`, { method: 'PROPFIND', headers: { Depth: '1' } }, [207]);
        } else {
          const file = `clip-${String(Math.floor(random() * HOT_FILES)).padStart(3, '0')}.mp4`;
          const start = Math.floor(random() * (FILE_SIZE - RANGE));
          await op('GET', `${base}/load/${file}`, { headers: { Range: `bytes=${start}-${start + RANGE - 1}` } }, [206], (n) => n === RANGE);
        }
      }
    };
    const writer = async (index: number): Promise<void> => {
      const body = randomBytes(32 * 1024);
      for (let n = 0; Date.now() < deadline; n++) {
        const path = `${base}/load/w${index}/f${n}.bin`;
        const moved = `${base}/load/w${index}/f${n}-moved.bin`;
        if (!(await op('PUT', path, { method: 'PUT', headers: { 'Content-Length': String(body.length) }, body }, [201, 204]))) continue;
        if (Date.now() >= deadline) break;
        if (!(await op('MOVE', path, { method: 'MOVE', headers: { Destination: moved, Overwrite: 'T' } }, [201, 204]))) continue;
        if (Date.now() >= deadline) break;
        await op('DELETE', moved, { method: 'DELETE' }, [204, 200]);
      }
    };

    const rssStart = bridge.rss().rssMb;
    const tracker = new PeakTracker(bridge.pid);
    const c0 = await stack.counters();
    const started = now();
    const clients: Promise<void>[] = [];
    for (let i = 0; i < config.loadClients; i++) clients.push(i < config.loadWriters ? writer(i) : reader(i));
    // Ops started before the deadline may finish after it; give them a bounded grace period.
    const grace = setTimeout(() => aborter.abort(), config.loadSeconds * 1000 + 120_000);
    await Promise.all(clients);
    clearTimeout(grace);
    const wallMs = elapsedMs(started);
    const peak = tracker.stop();
    const rssEnd = bridge.rss().rssMb;
    const calls = diff(await stack.counters(), c0);

    const all = samples.map((s) => s.ms);
    const failed = samples.filter((s) => !s.ok).length;
    const opsPerSecond = samples.length / (wallMs / 1000);
    const byKind = (['PROPFIND', 'GET', 'PUT', 'MOVE', 'DELETE'] as Kind[])
      .map((kind) => {
        const ms = samples.filter((s) => s.kind === kind).map((s) => s.ms);
        return { kind, count: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99) };
      })
      .filter((k) => k.count > 0);
    const detail = byKind.map((k) => `${k.kind} ${k.count} ops p50 ${fmt(k.p50)} p99 ${fmt(k.p99)} ms`).join('; ');
    return [
      {
        row: '7',
        measure: `load: ${config.loadClients} clients (${config.loadWriters} writers) for ${config.loadSeconds} s: ops/s, p99, errors, RSS start->end`,
        bridge: `${fmt(opsPerSecond)} ops/s, p99 ${fmt(percentile(all, 99), 0)} ms, ${failed} errors, RSS ${fmt(rssStart, 0)}->${fmt(rssEnd, 0)} MB`,
        direct: 'n/a',
        ratio: '-',
        apiCalls: `${calls.api} / -`,
        target: 'errors = 0',
        met: met(failed === 0),
        note: `${detail}; bridge peak RSS ${fmt(peak, 0)} MB; floods ${calls.floods}${errors.length ? `; first errors: ${errors.slice(0, 5).join(' | ')}` : ''}`,
        values: { clients: config.loadClients, writers: config.loadWriters, seconds: config.loadSeconds, wallMs, ops: samples.length, opsPerSecond, p99Ms: percentile(all, 99), p50Ms: percentile(all, 50), errors: failed, byKind, rssStartMb: rssStart, rssEndMb: rssEnd, peakRssMb: peak, apiCalls: calls.api, floods: calls.floods, errorSamples: errors },
      },
    ];
  });
}
