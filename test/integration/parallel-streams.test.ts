/**
 * Parallel ranged streams (issue 13): when one upstream connection is slower than the reader
 * (the simulator's per-connection cap), a sequential read through the block cache fetches chunks
 * ahead on more connections, within the connection budget. The simulator's counters are the witness; every byte is compared.
 * Nothing here measures time (the speed-up is bench row M3).
 */
import http from 'node:http';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { cachedStacks, type Stack } from './helpers.js';

const MIB = 1024 * 1024;

const stacks = cachedStacks('fichier-dav-parallel-');

function start(sim: { downloadBytesPerSecond?: number; downloadLineBytesPerSecond?: number }, downloadConnections = 8): Promise<Stack> {
  // Links live 5 min x the simulator's time scale (3 s) here: reuse them for less than that.
  return stacks.start(sim, { drive: { cacheBlockSize: MIB, linkReuseMs: 2_000, downloadConnections, parallelStreams: 5 } });
}

/**
 * GET of the whole file; at most `bytesPerSecond` when given (the client's own pace); `onReached`
 * runs once when `mark` bytes have arrived. Resolves with the body's SHA-256.
 */
function get(url: string, bytesPerSecond?: number, mark?: number, onReached?: () => void): Promise<{ status: number; sha256: string; length: number }> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false }, (response) => {
      const hash = createHash('sha256');
      const started = Date.now();
      let length = 0;
      response.on('data', (chunk: Buffer) => {
        hash.update(chunk);
        if (mark !== undefined && length < mark && length + chunk.length >= mark) onReached?.();
        length += chunk.length;
        if (!bytesPerSecond) return;
        const ahead = started + (length / bytesPerSecond) * 1000 - Date.now();
        if (ahead > 0) {
          response.pause();
          setTimeout(() => response.resume(), ahead);
        }
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, sha256: hash.digest('hex'), length }));
      response.on('error', reject);
    });
    request.on('error', reject);
  });
}

async function expectedSha(sim: Stack['sim'], fileUrl: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of sim.contentOf(fileUrl, 0, size - 1)) hash.update(chunk);
  return hash.digest('hex');
}

describe('a sequential read through the block cache', () => {
  it('uses more than one upstream connection when one connection is slower than the reader, bytes exact', async () => {
    const { sim, url } = await start({ downloadBytesPerSecond: 4e6 });
    const size = 40 * MIB + 777;
    const fileUrl = await sim.addFile({ name: 'slow-link.bin', synthetic: { size, seed: 21 } });
    await fetch(`${url}/`, { method: 'PROPFIND', headers: { Depth: '1' } });
    sim.reset();
    const body = await get(`${url}/slow-link.bin`);
    expect(body.status).toBe(200);
    expect(body.length).toBe(size);
    expect(body.sha256).toBe(await expectedSha(sim, fileUrl, size));
    const stats = sim.stats();
    expect(stats.peakConcurrentDownloads).toBeGreaterThan(1);
    // Within the connection budget (8 here) and the per-file cap.
    expect(stats.peakConcurrentDownloads).toBeLessThanOrEqual(6);
    // Chunks, not the same bytes twice: at most a block per connection more than the file.
    expect(stats.bytesServed).toBeLessThanOrEqual(size + stats.downloadRequests * MIB);
  }, 120_000);

  it('spreads a short read over more connections from its first MiB on, within a small account budget, no byte twice', async () => {
    // 3 connections for the whole account: parallel streams leave one free (a seek of another
    // client must not wait), so this read may use 2 at most.
    const { sim, url } = await start({ downloadBytesPerSecond: 4e6 }, 3);
    const size = 14 * MIB + 4321;
    const fileUrl = await sim.addFile({ name: 'short-slow.bin', synthetic: { size, seed: 23 } });
    await fetch(`${url}/`, { method: 'PROPFIND', headers: { Depth: '1' } });
    sim.reset();
    const body = await get(`${url}/short-slow.bin`);
    expect(body.status).toBe(200);
    expect(body.length).toBe(size);
    expect(body.sha256).toBe(await expectedSha(sim, fileUrl, size));
    const stats = sim.stats();
    expect(stats.peakConcurrentDownloads).toBe(2);
    // Each block is fetched by one connection: the chunks split the file, they do not overlap.
    expect(stats.bytesServed).toBeLessThanOrEqual(size + stats.downloadRequests * MIB);
  }, 120_000);

  it('stays on one upstream connection when a client pacing itself is slower than the link', async () => {
    const { sim, url } = await start({});
    const size = 40 * MIB + 777;
    const fileUrl = await sim.addFile({ name: 'fast-link.bin', synthetic: { size, seed: 22 } });
    await fetch(`${url}/`, { method: 'PROPFIND', headers: { Depth: '1' } });
    sim.reset();
    const body = await get(`${url}/fast-link.bin`, 8e6);
    expect(body.length).toBe(size);
    expect(body.sha256).toBe(await expectedSha(sim, fileUrl, size));
    const stats = sim.stats();
    // One connection at a time, and no byte fetched twice. (An open-ended read is a series of
    // bounded GETs, each opened as the reader moves on: see docs/media-reads.md.)
    expect(stats.peakConcurrentDownloads).toBe(1);
    expect(stats.bytesServed).toBe(size);
  }, 120_000);

  it('goes back to one upstream connection when more connections do not make the reader faster (the line is the limit), bytes exact', async () => {
    // The client's own line: every connection shares 8 MB/s. A reader waits for the link just as
    // with a slow connection, but a second connection only splits the same line.
    const { sim, url, bridge } = await start({ downloadLineBytesPerSecond: 8e6 });
    const size = 52 * MIB + 99;
    const fileUrl = await sim.addFile({ name: 'shared-line.bin', synthetic: { size, seed: 24 } });
    await fetch(`${url}/`, { method: 'PROPFIND', headers: { Depth: '1' } });
    sim.reset();
    const secondHalf = 28 * MIB;
    const body = await get(`${url}/shared-line.bin`, undefined, secondHalf, () => sim.reset());
    expect(body.status).toBe(200);
    expect(body.length).toBe(size);
    expect(body.sha256).toBe(await expectedSha(sim, fileUrl, size));
    // Once given up, the rest of the file came over one connection at a time (the next trial
    // waits twice the first gap: past the end of this file).
    expect(sim.stats().peakConcurrentDownloads).toBe(1);
    const cache = bridge.drive.cacheStats();
    // More connections were tried (the reader was starved) and given up, not kept.
    expect(cache.parallelTrials).toBeGreaterThanOrEqual(1);
    expect(cache.parallelKept).toBe(0);
  }, 120_000);
});
