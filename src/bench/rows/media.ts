/**
 * Media rows (issue 13), each on loopback and under a realistic network (80 ms API latency, 40 ms
 * download time to first byte, 25 MB/s per connection):
 * - M1: the ffmpeg pattern on a large and a 100 MB file: head `bytes=0-` read 64 KiB and kept open,
 *   then the tail on a second connection (its TTFB against a tail asked after closing the head),
 *   then the middle; upstream bytes against what was read + 16 MiB;
 * - M2: 8 probers scanning 50 files at once: upstream bytes against the bytes the probers read;
 * - M3: a sequential read with the download host capped at 20 MB/s per connection, against the cap.
 */
import http from 'node:http';
import type { StartOptions } from '../../simulator/index.js';
import type { BenchConfig } from '../config.js';
import { drainFor, expectStatus, rangeHeader } from '../http.js';
import { probeRanges } from '../probe.js';
import { fmt, met, ratio, type Row } from '../result.js';
import { withStack } from '../stack.js';
import { mbPerSecond } from '../stats.js';
import { propfind } from '../webdav.js';

const MiB = 1024 ** 2;
const SLACK = 16 * MiB;
export const REALISTIC: StartOptions = { apiLatencyMs: 80, downloadTtfbMs: 40, downloadBytesPerSecond: 25e6 };

/** `bytes=0-` on its own connection, read until `keep` bytes then left open and unread. */
function holdHead(url: string, keep: number): Promise<{ close: () => void }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { headers: { Range: 'bytes=0-' }, agent: false }, (response) => {
      let received = 0;
      response.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received >= keep) {
          response.pause();
          resolve({ close: () => request.destroy() });
        }
      });
      response.on('error', () => {});
    });
    request.on('error', reject);
  });
}

async function servedBytes(stack: { sim: { stats(): Promise<{ bytesServed: number }> } }): Promise<number> {
  let last = -1;
  for (let same = 0, tries = 0; same < 3 && tries < 100; tries += 1) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = (await stack.sim.stats()).bytesServed;
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

async function ffmpegPattern(profile: string, sim: StartOptions, size: number, label: string): Promise<Row> {
  return withStack(1, { perFolderListingWindowMs: 0, ...sim }, async (stack) => {
    await stack.sim.addFiles(0, [{ name: 'open.mkv', size, seed: 5 }, { name: 'closed.mkv', size, seed: 6 }]);
    const bridge = await stack.bridge();
    await propfind(bridge.url, '/', '1');
    // Reference: head read then closed, then the tail (what ffmpeg costs when it closes first).
    const first = await holdHead(`${bridge.url}/closed.mkv`, 64 * 1024);
    first.close();
    const closedTail = await expectStatus(`${bridge.url}/closed.mkv`, { headers: { Range: `bytes=${size - 7919}-` } }, [206]);
    await servedBytes(stack);
    const before = (await stack.sim.stats()).bytesServed;
    // The pattern: head kept open while the tail and the middle are asked for.
    const head = await holdHead(`${bridge.url}/open.mkv`, 64 * 1024);
    const tail = await expectStatus(`${bridge.url}/open.mkv`, { headers: { Range: `bytes=${size - 7919}-` } }, [206]);
    const mid = Math.floor(size / 2);
    const middle = await expectStatus(`${bridge.url}/open.mkv`, { headers: rangeHeader(mid, mid + MiB - 1) }, [206]);
    const upstream = (await servedBytes(stack)) - before;
    head.close();
    const read = 64 * 1024 + tail.bytes + middle.bytes;
    const ttfbOk = tail.ttfbMs <= 2 * Math.max(closedTail.ttfbMs, 1);
    return {
      row: 'M1',
      measure: `ffmpeg pattern on ${label} (${profile}): tail TTFB with head open (ms); upstream MiB`,
      bridge: `${fmt(tail.ttfbMs)}; ${fmt(upstream / MiB)} MiB`,
      direct: `${fmt(closedTail.ttfbMs)} (head closed); read ${fmt(read / MiB, 2)} MiB`,
      ratio: ratio(tail.ttfbMs, closedTail.ttfbMs),
      apiCalls: '-',
      target: 'TTFB <= 2x closed; upstream <= read + 16 MiB',
      met: met(ttfbOk && upstream <= read + SLACK),
      values: { profile, size, tailTtfbMs: tail.ttfbMs, closedTailTtfbMs: closedTail.ttfbMs, upstreamBytes: upstream, readBytes: read },
    };
  });
}

async function concurrentScan(profile: string, sim: StartOptions, config: BenchConfig): Promise<Row> {
  const files = config.quick ? 10 : 50;
  const probers = 8;
  return withStack(1, { perFolderListingWindowMs: 0, ...sim }, async (stack) => {
    const folderId = await stack.sim.addFolder(0, 'scan');
    const specs = Array.from({ length: files }, (_, i) => ({ name: `ep-${String(i).padStart(2, '0')}.mkv`, size: 300 * MiB + i * 4099, seed: 300 + i }));
    await stack.sim.addFiles(folderId, specs);
    const bridge = await stack.bridge();
    await propfind(bridge.url, '/scan/', '1');
    const before = (await stack.sim.stats()).bytesServed;
    let read = 0;
    const queue = [...specs];
    const started = Date.now();
    await Promise.all(
      Array.from({ length: probers }, async () => {
        for (let spec = queue.shift(); spec; spec = queue.shift()) {
          // What ffprobe does to each file: an open-ended head kept open, then tail and middle.
          const head = await holdHead(`${bridge.url}/scan/${spec.name}`, 256 * 1024);
          read += 256 * 1024;
          for (const range of probeRanges(spec.size, 256 * 1024).slice(1)) {
            const res = await expectStatus(`${bridge.url}/scan/${spec.name}`, { headers: rangeHeader(range.start, range.end) }, [206]);
            read += res.bytes;
          }
          head.close();
        }
      }),
    );
    const ms = Date.now() - started;
    const upstream = (await servedBytes(stack)) - before;
    return {
      row: 'M2',
      measure: `${probers} probers x ${files} files at once (${profile}): upstream / read MiB`,
      bridge: `${fmt(upstream / MiB)} MiB in ${fmt(ms / 1000, 1)} s`,
      direct: `${fmt(read / MiB)} MiB read`,
      ratio: ratio(upstream, read),
      apiCalls: '-',
      target: 'upstream <= 2x read',
      met: met(upstream <= 2 * read),
      values: { profile, files, probers, upstreamBytes: upstream, readBytes: read, ms },
    };
  });
}

async function cappedSequential(config: BenchConfig): Promise<Row> {
  const cap = 20e6;
  const size = config.quick ? 48 * MiB : 512 * MiB;
  return withStack(1, { downloadBytesPerSecond: cap }, async (stack) => {
    await stack.sim.addFiles(0, [{ name: 'capped.bin', size, seed: 9 }]);
    // Parallel ranged streams as shipped (default --parallel-streams 5).
    const bridge = await stack.bridge();
    const drained = await drainFor(`${bridge.url}/capped.bin`, {}, config.quick ? 20_000 : 60_000);
    const stats = await stack.sim.stats();
    const mbs = mbPerSecond(drained.bytes, drained.ms);
    return {
      row: 'M3',
      measure: `sequential GET, download host capped at ${cap / 1e6} MB/s per connection (MB/s)`,
      bridge: fmt(mbs),
      direct: fmt(cap / 1e6),
      ratio: ratio(mbs, cap / 1e6),
      apiCalls: '-',
      target: 'bridge >= 3x the cap, within 30 connections',
      met: met(mbs >= 3 * (cap / 1e6) && stats.peakConcurrentDownloads <= 30),
      note: `default --parallel-streams; peak concurrent upstream downloads ${stats.peakConcurrentDownloads}${drained.complete ? '' : `; cut after the time cap (${fmt(drained.bytes / MiB)} MiB read)`}`,
      values: { cap, bytes: drained.bytes, ms: drained.ms, mbs, peakDownloads: stats.peakConcurrentDownloads },
    };
  });
}

export async function runMedia(config: BenchConfig): Promise<Row[]> {
  const rows: Row[] = [];
  if (config.quick) {
    // The quick run must finish within a minute: loopback only, the small file, no scan.
    rows.push(await ffmpegPattern('loopback', {}, 100e6, '100 MB'));
    rows.push(await cappedSequential(config));
    return rows;
  }
  const big = config.bigFileBytes;
  const bigLabel = `${fmt(big / 1024 ** 3, big >= 1024 ** 3 ? 0 : 2)} GiB`;
  for (const [profile, sim] of [['loopback', {}], ['realistic', REALISTIC]] as const) {
    rows.push(await ffmpegPattern(profile, sim, big, bigLabel));
    rows.push(await ffmpegPattern(profile, sim, 100e6, '100 MB'));
    rows.push(await concurrentScan(profile, sim, config));
  }
  rows.push(await cappedSequential(config));
  return rows;
}
