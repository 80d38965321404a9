/**
 * The read side end to end: WebDAV client → bridge → simulator, over HTTP, with the simulator's
 * stats as the witness of what each client request cost upstream.
 */
import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readBody, startStack, streamToBuffer, warningsDuring, type Stack } from './helpers.js';

let stack: Stack;

afterEach(async () => {
  await stack?.close();
});

function propfind(url: string, depth = '1'): Promise<Response> {
  return fetch(url, { method: 'PROPFIND', headers: { Depth: depth } });
}

describe('bridge read side', () => {
  beforeEach(async () => {
    // The direct path's costs (one upstream GET per range); media-cache.test.ts has the cache-on variants.
    stack = await startStack({}, { drive: { readCache: false } });
  });

  it('answers a cold PROPFIND Depth 1 with one folder listing and a repeat with none', async () => {
    const { sim, url } = stack;
    for (let index = 0; index < 50; index += 1) await sim.addFile({ name: `file-${index}.txt`, content: `#${index}` });
    const films = await sim.addFolder({ name: 'Films' });
    for (let index = 0; index < 30; index += 1) await sim.addFile({ folderId: films, name: `movie-${index}.mkv`, content: 'm' });
    sim.reset();

    const cold = await propfind(`${url}/`);
    expect(cold.status).toBe(207);
    const body = await cold.text();
    expect(body.match(/<D:response>/g)).toHaveLength(52);
    expect(stack.apiCalls()).toBe(1);
    expect(stack.calls('folder/ls.cgi')).toBe(1);

    const filmsCold = await propfind(`${url}/Films/`);
    expect((await filmsCold.text()).match(/<D:response>/g)).toHaveLength(31);
    expect(stack.apiCalls()).toBe(2);

    for (let index = 0; index < 5; index += 1) {
      expect((await propfind(`${url}/`)).status).toBe(207);
      expect((await propfind(`${url}/Films/`)).status).toBe(207);
      expect((await propfind(`${url}/Films/movie-3.mkv`, '0')).status).toBe(207);
    }
    expect(stack.apiCalls()).toBe(2);
  });

  it('a 64-range GET answers every part exact and leaves no abort listener behind per part (a leak warning per request before)', async () => {
    const { sim, url } = stack;
    const size = 4 * 1024 * 1024;
    const fileUrl = await sim.addFile({ name: 'parts.bin', synthetic: { size, seed: 12 } });
    await propfind(`${url}/`);
    const warnings = await warningsDuring(async () => {
      const starts = Array.from({ length: 64 }, (_, i) => i * 60_000);
      const response = await fetch(`${url}/parts.bin`, { headers: { Range: `bytes=${starts.map((start) => `${start}-${start + 99}`).join(',')}` } });
      expect(response.status).toBe(206);
      const body = await readBody(response);
      const text = body.toString('latin1');
      for (const start of starts) {
        const bytes = await streamToBuffer(sim.contentOf(fileUrl, start, start + 99));
        expect(text.includes(`Content-Range: bytes ${start}-${start + 99}/${size}\r\n\r\n${bytes.toString('latin1')}\r\n`)).toBe(true);
      }
    });
    expect(warnings.filter((warning) => warning.startsWith('MaxListenersExceededWarning'))).toEqual([]);
  });

  it('at a time scale, a link is not reused past its scaled life: a read after it asks a new one, no GET is refused', async () => {
    // Tokens live 5 min x 0.01 = 3 s here; the bridge reused links for an unscaled 4 minutes, so
    // every read after 3 s began with a GET the download host refused (404), then a second one.
    const { sim, url } = stack;
    const size = 300_000;
    const fileUrl = await sim.addFile({ name: 'later.bin', synthetic: { size, seed: 14 } });
    await propfind(`${url}/`);
    const first = await fetch(`${url}/later.bin`, { headers: { Range: 'bytes=0-999' } });
    expect((await readBody(first)).equals(await streamToBuffer(sim.contentOf(fileUrl, 0, 999)))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 3_500)); // past the token's scaled life
    sim.reset();
    const later = await fetch(`${url}/later.bin`, { headers: { Range: 'bytes=1000-1999' } });
    expect(later.status).toBe(206);
    expect((await readBody(later)).equals(await streamToBuffer(sim.contentOf(fileUrl, 1000, 1999)))).toBe(true);
    const downloads = sim.log().filter((entry) => entry.host === 'download');
    expect(downloads.map((entry) => entry.status)).toEqual([206]);
    expect(stack.calls('download/get_token.cgi')).toBe(1);
  });

  it('a read that waited for a connection longer than its link lives asks the link again, so no GET is refused', async () => {
    // One connection for the account, held about 4 s by a reader the capped download host keeps
    // busy (never idle, so never parked). The second reader's link was asked before its wait;
    // used after it (tokens live 3 s here) it was refused, and a second GET followed.
    await stack.close();
    stack = await startStack({ downloadBytesPerSecond: 2_000_000 }, { drive: { readCache: false, downloadConnections: 1 } });
    const { sim, url } = stack;
    const size = 8_000_000;
    const fileUrl = await sim.addFile({ name: 'shared.bin', synthetic: { size, seed: 16 } });
    await propfind(`${url}/`);
    sim.reset();
    const first = fetch(`${url}/shared.bin`).then(async (response) => (await readBody(response)).length);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const waiting = await fetch(`${url}/shared.bin`, { headers: { Range: 'bytes=500000-500999' } });
    expect(waiting.status).toBe(206);
    expect((await readBody(waiting)).equals(await streamToBuffer(sim.contentOf(fileUrl, 500_000, 500_999)))).toBe(true);
    expect(await first).toBe(size);
    const refused = sim.log().filter((entry) => entry.host === 'download' && entry.status >= 400);
    expect(refused).toEqual([]);
  }, 60_000);

  it('a link refused again after a fresh one answers 503 with a reason to retry, not 500', async () => {
    const { sim, url } = stack;
    await sim.addFile({ name: 'refused.bin', synthetic: { size: 100_000, seed: 15 } });
    await propfind(`${url}/`);
    // Every token is dead when it is used.
    sim.setOptions({ tokenLifetimeMs: 0 });
    const response = await fetch(`${url}/refused.bin`, { headers: { Range: 'bytes=0-99' } });
    const text = await response.text();
    expect(response.status, text).toBe(503);
    expect(response.headers.get('retry-after')).toBe('2');
    expect(text).toMatch(/refused two fresh links in a row/);
  });

  it('serves 20 Range GETs with exact bytes, one get_token in total and one upstream GET each', async () => {
    const { sim, url } = stack;
    const size = 8 * 1024 * 1024 + 123;
    const fileUrl = await sim.addFile({ name: 'movie.mkv', synthetic: { size, seed: 11 } });
    await propfind(`${url}/`);
    sim.reset();

    const ranges = [
      'bytes=0-1023',
      'bytes=-65536',
      'bytes=-1',
      `bytes=${size - 10}-`,
      'bytes=4194304-4259839',
      'bytes=1048576-',
      'bytes=0-0',
      'bytes=7000000-7000999',
    ];
    while (ranges.length < 20) {
      const start = (ranges.length * 374_773) % size;
      ranges.push(`bytes=${start}-${Math.min(size - 1, start + 100_000)}`);
    }
    for (const range of ranges) {
      const response = await fetch(`${url}/movie.mkv`, { headers: { Range: range } });
      expect(response.status).toBe(206);
      const match = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(response.headers.get('content-range') ?? '');
      expect(match, range).not.toBeNull();
      const [start, end, total] = match!.slice(1).map(Number);
      expect(total).toBe(size);
      const got = await readBody(response);
      const expected = await streamToBuffer(sim.contentOf(fileUrl, start, end));
      expect(got.length).toBe(end - start + 1);
      expect(got.equals(expected), range).toBe(true);
    }
    expect(stack.calls('download/get_token.cgi')).toBe(1);
    expect(sim.stats().downloadRequests).toBe(20);
    expect(stack.apiCalls()).toBe(1);
  });

  it('stops the upstream transfer when the client disconnects after the first KiB of 1 GiB', async () => {
    const { sim, url } = stack;
    const size = 1024 ** 3;
    await sim.addFile({ name: 'huge.bin', synthetic: { size, seed: 5 } });
    await propfind(`${url}/`);
    await new Promise<void>((resolve, reject) => {
      const request = http.get(`${url}/huge.bin`, (response) => {
        let received = 0;
        response.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received >= 1024) {
            request.destroy();
            resolve();
          }
        });
        response.on('error', () => resolve());
      });
      request.on('error', (error) => ((error as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(error)));
    });
    // Give the bridge time to notice and cut its own upstream request.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const served = sim.stats().bytesServed;
    expect(served).toBeLessThan(64 * 1024 * 1024);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sim.stats().bytesServed).toBe(served);
  });

  it('resumes a download the simulator cuts mid-stream; the client gets every byte', async () => {
    const { sim, url } = stack;
    const size = 5 * 1024 * 1024;
    const fileUrl = await sim.addFile({ name: 'cut.bin', synthetic: { size, seed: 21 } });
    await propfind(`${url}/`);
    sim.setFaults({ cutDownload: { bytes: 1_000_000, count: 3 } });
    const response = await fetch(`${url}/cut.bin`);
    expect(response.status).toBe(200);
    const got = await readBody(response);
    expect(got.length).toBe(size);
    expect(got.equals(await streamToBuffer(sim.contentOf(fileUrl)))).toBe(true);
    expect(sim.stats().downloadRequests).toBe(4);
  });

  it('answers HEAD and conditional GETs without downloading', async () => {
    const { sim, url } = stack;
    await sim.addFile({ name: 'doc.pdf', content: Buffer.alloc(4096, 3) });
    const head = await fetch(`${url}/doc.pdf`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('4096');
    expect(head.headers.get('content-type')).toBe('application/pdf');
    const etag = head.headers.get('etag')!;
    const conditional = await fetch(`${url}/doc.pdf`, { headers: { 'If-None-Match': etag } });
    expect(conditional.status).toBe(304);
    expect(sim.stats().downloadRequests).toBe(0);
  });

  it('reports the account quota (RFC 4331) from one cached user/info call', async () => {
    const { url } = stack;
    const body = `<?xml version="1.0"?><propfind xmlns="DAV:"><prop><quota-available-bytes/><quota-used-bytes/></prop></propfind>`;
    // The start-up key check made one user/info already; count from here.
    const before = stack.calls('user/info.cgi');
    for (let index = 0; index < 3; index += 1) {
      const response = await fetch(`${url}/`, { method: 'PROPFIND', headers: { Depth: '0' }, body });
      const text = await response.text();
      expect(text).toMatch(/quota-available-bytes>\d+</);
      expect(text).toMatch(/quota-used-bytes>\d+</);
    }
    expect(stack.calls('user/info.cgi') - before).toBeLessThanOrEqual(1);
  });
});

describe('bridge redirect mode', () => {
  beforeEach(async () => {
    stack = await startStack({}, { downloads: 'redirect' });
  });

  it('answers GET with a 302 to a working direct link', async () => {
    const { sim, url } = stack;
    const fileUrl = await sim.addFile({ name: 'clip.mp4', content: Buffer.from('video bytes') });
    const response = await fetch(`${url}/clip.mp4`, { redirect: 'manual' });
    expect(response.status).toBe(302);
    const location = response.headers.get('location')!;
    expect(location).toContain(sim.downloadHost);
    const direct = await fetch(location, { headers: { Range: 'bytes=0-4' } });
    expect(direct.status).toBe(206);
    expect((await readBody(direct)).equals(await streamToBuffer(sim.contentOf(fileUrl, 0, 4)))).toBe(true);
  });
});

describe.each([
  ['with the block cache', {}],
  ['without the block cache', { readCache: false }],
])('a GET whose download link cannot be had (%s)', (_label, drive) => {
  beforeEach(async () => {
    stack = await startStack({}, { drive, upstreamDeadlineMs: 2_000 });
  });

  it('answers 503 with Retry-After before any byte, then serves once 1fichier recovers', async () => {
    const { sim, url } = stack;
    const fileUrl = await sim.addFile({ name: 'blocked.bin', content: Buffer.alloc(10_000, 6) });
    await propfind(`${url}/`);
    sim.setFaults({ failures: [{ host: 'api', endpoint: 'download/get_token.cgi', flood: true, count: 1000 }] });
    const refused = await fetch(`${url}/blocked.bin`, { headers: { Range: 'bytes=0-99' } });
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    await refused.text();
    sim.clearFaults();
    sim.reset();
    // The scheduler's flood cool-down (scaled) must run out before it sends anything again.
    while (stack.bridge.client.scheduler.cooldownRemainingMs() > 0) await new Promise((resolve) => setTimeout(resolve, 50));
    const served = await fetch(`${url}/blocked.bin`, { headers: { Range: 'bytes=0-99' } });
    expect(served.status).toBe(206);
    expect((await readBody(served)).equals(await streamToBuffer(sim.contentOf(fileUrl, 0, 99)))).toBe(true);
  }, 60_000);
});
