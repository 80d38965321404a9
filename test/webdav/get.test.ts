import http from 'node:http';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryDrive } from '../../src/drive/memory-drive.js';
import type { Drive, ReadOptions } from '../../src/drive/types.js';
import { countingDrive, patternBytes, seedFile, startTestServer, type TestServer } from './helpers.js';

const SIZE = 10_000;
const content = patternBytes(SIZE);
let s: TestServer;
let counts: Record<string, number>;
let etag: string;
let lastModified: string;

beforeAll(async () => {
  const memory = new MemoryDrive({ now: () => new Date('2024-01-02T03:04:05.678Z') });
  await seedFile(memory, '/movie.mp4', content, 'video/mp4');
  await seedFile(memory, '/empty.txt', '');
  await memory.mkdir('/folder');
  await seedFile(memory, '/folder/<b>&.txt', 'x');
  const counting = countingDrive(memory);
  counts = counting.counts;
  s = await startTestServer({ drive: counting.drive });
  const head = await s.request({ method: 'HEAD', path: '/movie.mp4' });
  etag = head.headers.etag as string;
  lastModified = head.headers['last-modified'] as string;
});
afterAll(() => s.close());

const get = (headers: Record<string, string> = {}, path = '/movie.mp4', method = 'GET') =>
  s.request({ method, path, headers });

describe('GET and HEAD of a whole file', () => {
  it('GET returns the bytes and the validators', async () => {
    const r = await get();
    expect(r.status).toBe(200);
    expect(r.body.equals(content)).toBe(true);
    expect(r.headers['content-length']).toBe(String(SIZE));
    expect(r.headers['content-type']).toBe('video/mp4');
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.headers.etag).toMatch(/^"[^"]+"$/);
    expect(r.headers['last-modified']).toBe('Tue, 02 Jan 2024 03:04:05 GMT');
  });

  it('HEAD has the same headers, no body, and does not read the drive', async () => {
    const before = counts.read ?? 0;
    const r = await get({}, '/movie.mp4', 'HEAD');
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(0);
    expect(r.headers['content-length']).toBe(String(SIZE));
    expect(counts.read ?? 0).toBe(before);
  });

  it('an empty file answers 200 with no body', async () => {
    const r = await get({}, '/empty.txt');
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe('0');
  });

  it('a missing file is 404', async () => {
    expect((await get({}, '/missing')).status).toBe(404);
  });

  it('GET on a collection answers a small HTML index with escaped, encoded links', async () => {
    const r = await get({}, '/folder/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/html/);
    expect(r.text).toContain('href="/folder/%3Cb%3E%26.txt"');
    expect(r.text).toContain('&lt;b&gt;&amp;.txt');
  });
});

describe('single ranges', () => {
  it.each([
    ['bytes=0-99', 0, 99],
    ['bytes=9000-', 9000, SIZE - 1],
    ['bytes=-500', SIZE - 500, SIZE - 1],
    ['bytes=1234-1234', 1234, 1234],
    ['bytes=9990-20000', 9990, SIZE - 1],
    // Ranges covering the whole file are 206 too (AVFoundation reads a 200 as "no range support").
    ['bytes=0-', 0, SIZE - 1],
    [`bytes=0-${SIZE - 1}`, 0, SIZE - 1],
    ['bytes=0-99999', 0, SIZE - 1],
    [`bytes=-${SIZE * 4}`, 0, SIZE - 1],
    ['bytes=0-4999,5000-', 0, SIZE - 1],
  ])('%s → 206 with exact bytes and real total', async (range, start, end) => {
    const before = counts.read ?? 0;
    const r = await get({ Range: range });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes ${start}-${end}/${SIZE}`);
    expect(r.headers['content-length']).toBe(String(end - start + 1));
    expect(r.body.equals(content.subarray(start, end + 1))).toBe(true);
    expect((counts.read ?? 0) - before).toBe(1);
  });

  it('HEAD with bytes=0- answers 206 with the whole size as the range', async () => {
    const r = await get({ Range: 'bytes=0-' }, '/movie.mp4', 'HEAD');
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes 0-${SIZE - 1}/${SIZE}`);
    expect(r.headers['content-length']).toBe(String(SIZE));
  });

  it('HEAD with a range answers the 206 headers without reading', async () => {
    const before = counts.read ?? 0;
    const r = await get({ Range: 'bytes=-10' }, '/movie.mp4', 'HEAD');
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes ${SIZE - 10}-${SIZE - 1}/${SIZE}`);
    expect(counts.read ?? 0).toBe(before);
  });

  it.each(['bytes=20000-', 'bytes=10000-10001', 'bytes=-0'])('unsatisfiable %s → 416 with bytes */TOTAL', async (range) => {
    const r = await get({ Range: range });
    expect(r.status).toBe(416);
    expect(r.headers['content-range']).toBe(`bytes */${SIZE}`);
  });

  it('any range on an empty file is 416 bytes */0', async () => {
    const r = await get({ Range: 'bytes=0-' }, '/empty.txt');
    expect(r.status).toBe(416);
    expect(r.headers['content-range']).toBe('bytes */0');
  });

  it('a malformed Range header is ignored (200 full body)', async () => {
    const r = await get({ Range: 'bytes=abc' });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(SIZE);
  });
});

function parseByteranges(contentType: string, body: Buffer) {
  const boundary = /boundary=([^;]+)/.exec(contentType)![1];
  const parts: { range: string; type: string; data: Buffer }[] = [];
  const delim = Buffer.from(`--${boundary}`);
  let pos = body.indexOf(delim);
  while (pos !== -1) {
    pos += delim.length;
    if (body.subarray(pos, pos + 2).toString() === '--') break;
    pos += 2; // CRLF after the boundary
    const headerEnd = body.indexOf('\r\n\r\n', pos);
    const headers = body.subarray(pos, headerEnd).toString().split('\r\n');
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), headerEnd + 4);
    parts.push({
      range: headers.find((h) => h.toLowerCase().startsWith('content-range:'))!.split(': ')[1],
      type: headers.find((h) => h.toLowerCase().startsWith('content-type:'))!.split(': ')[1],
      data: body.subarray(headerEnd + 4, next),
    });
    pos = next + 2;
  }
  expect(body.subarray(body.length - delim.length - 4).toString()).toBe(`--${boundary}--\r\n`);
  return parts;
}

describe('multiple ranges', () => {
  it('answers multipart/byteranges with byte-exact parts and one drive read per part', async () => {
    const before = counts.read ?? 0;
    const r = await get({ Range: 'bytes=0-9, 5000-5099, -16' });
    expect(r.status).toBe(206);
    expect(r.headers['content-type']).toMatch(/^multipart\/byteranges; boundary=/);
    expect(Number(r.headers['content-length'])).toBe(r.body.length);
    const parts = parseByteranges(r.headers['content-type'] as string, r.body);
    expect(parts.map((p) => p.range)).toEqual([`bytes 0-9/${SIZE}`, `bytes 5000-5099/${SIZE}`, `bytes 9984-9999/${SIZE}`]);
    expect(parts.every((p) => p.type === 'video/mp4')).toBe(true);
    expect(parts[0].data.equals(content.subarray(0, 10))).toBe(true);
    expect(parts[1].data.equals(content.subarray(5000, 5100))).toBe(true);
    expect(parts[2].data.equals(content.subarray(9984))).toBe(true);
    expect((counts.read ?? 0) - before).toBe(3);
  });

  it('64 parts (the most served as parts) leak no listener on the response: no MaxListenersExceededWarning, every part exact', async () => {
    // Each part used to be its own pipeline into the response, and each left listeners on it:
    // a hostile client's 64-range request printed a leak warning every time.
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on('warning', onWarning);
    try {
      const starts = Array.from({ length: 64 }, (_, i) => i * 150);
      const r = await get({ Range: `bytes=${starts.map((start) => `${start}-${start + 9}`).join(',')}` });
      expect(r.status).toBe(206);
      expect(Number(r.headers['content-length'])).toBe(r.body.length);
      const parts = parseByteranges(r.headers['content-type'] as string, r.body);
      expect(parts.map((p) => p.range)).toEqual(starts.map((start) => `bytes ${start}-${start + 9}/${SIZE}`));
      for (const [i, start] of starts.entries()) expect(parts[i].data.equals(content.subarray(start, start + 10))).toBe(true);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((warning) => warning.startsWith('MaxListenersExceededWarning'))).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('coalesces overlapping and adjacent ranges', async () => {
    const r = await get({ Range: 'bytes=100-199,150-299,300-309,2000-2009' });
    expect(r.status).toBe(206);
    const parts = parseByteranges(r.headers['content-type'] as string, r.body);
    expect(parts.map((p) => p.range)).toEqual([`bytes 100-309/${SIZE}`, `bytes 2000-2009/${SIZE}`]);
    expect(parts[0].data.equals(content.subarray(100, 310))).toBe(true);
  });

  it('ranges that merge into one answer a plain 206', async () => {
    const r = await get({ Range: 'bytes=0-9,10-19' });
    expect(r.status).toBe(206);
    expect(r.headers['content-range']).toBe(`bytes 0-19/${SIZE}`);
    expect(r.body.equals(content.subarray(0, 20))).toBe(true);
  });
});

describe('conditional requests', () => {
  it('If-None-Match with the current ETag → 304 (GET and HEAD)', async () => {
    for (const method of ['GET', 'HEAD']) {
      const r = await get({ 'If-None-Match': etag }, '/movie.mp4', method);
      expect(r.status).toBe(304);
      expect(r.body.length).toBe(0);
      expect(r.headers.etag).toBe(etag);
    }
  });

  it('If-None-Match with another ETag (or a weak match list) → 200 / 304', async () => {
    expect((await get({ 'If-None-Match': '"other"' })).status).toBe(200);
    expect((await get({ 'If-None-Match': `"x", W/${etag}` })).status).toBe(304);
    expect((await get({ 'If-None-Match': '*' })).status).toBe(304);
  });

  it('If-Match: current → 200, other → 412', async () => {
    expect((await get({ 'If-Match': etag })).status).toBe(200);
    expect((await get({ 'If-Match': '"nope"' })).status).toBe(412);
  });

  it('If-Modified-Since: at/after mtime → 304, before → 200', async () => {
    expect((await get({ 'If-Modified-Since': lastModified })).status).toBe(304);
    expect((await get({ 'If-Modified-Since': 'Mon, 01 Jan 2024 00:00:00 GMT' })).status).toBe(200);
  });

  it('If-None-Match takes precedence over If-Modified-Since', async () => {
    expect((await get({ 'If-None-Match': '"other"', 'If-Modified-Since': lastModified })).status).toBe(200);
  });

  it('If-Unmodified-Since before mtime → 412', async () => {
    expect((await get({ 'If-Unmodified-Since': 'Mon, 01 Jan 2024 00:00:00 GMT' })).status).toBe(412);
    expect((await get({ 'If-Unmodified-Since': lastModified })).status).toBe(200);
  });

  it('If-Range with the current ETag or date honours Range; a stale one sends the whole file', async () => {
    expect((await get({ Range: 'bytes=0-9', 'If-Range': etag })).status).toBe(206);
    expect((await get({ Range: 'bytes=0-9', 'If-Range': lastModified })).status).toBe(206);
    const stale = await get({ Range: 'bytes=0-9', 'If-Range': '"stale"' });
    expect(stale.status).toBe(200);
    expect(stale.body.equals(content)).toBe(true);
    expect((await get({ Range: 'bytes=0-9', 'If-Range': 'Mon, 01 Jan 2024 00:00:00 GMT' })).status).toBe(200);
  });
});

describe('client disconnect', () => {
  it('aborts the drive read (signal aborted, stream destroyed) and the server keeps serving', async () => {
    const memory = new MemoryDrive();
    await seedFile(memory, '/big.bin', patternBytes(1024));
    const seen: { signal?: AbortSignal; stream?: Readable } = {};
    // A drive whose read never ends by itself: only an abort can stop it.
    const endless: Drive = Object.assign(Object.create(memory) as Drive, {
      stat: async () => ({ ...(await memory.stat('/big.bin')), size: 1024 ** 3 }),
      read: async (_path: string, options: ReadOptions = {}) => {
        seen.signal = options.signal;
        const stream = new Readable({
          read() {
            setTimeout(() => this.push(Buffer.alloc(1024, 1)), 1);
          },
        });
        seen.stream = stream;
        return stream;
      },
    });
    const server = await startTestServer({ drive: endless });
    try {
      await new Promise<void>((resolve, reject) => {
        const req = http.get({ host: '127.0.0.1', port: server.port, path: '/big.bin', agent: false }, (res) => {
          expect(res.statusCode).toBe(200);
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(e)));
      });
      await vi.waitFor(() => {
        expect(seen.signal?.aborted).toBe(true);
        expect(seen.stream?.destroyed).toBe(true);
      });
      const ok = await server.request({ method: 'OPTIONS', path: '/' });
      expect(ok.status).toBe(200);
      expect(server.logger.errors).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('a drive stream that breaks mid-way', () => {
  it('cuts the connection (the client never mistakes a short body for the file) and keeps serving', async () => {
    const memory = new MemoryDrive();
    await seedFile(memory, '/f.bin', patternBytes(100_000));
    const breaking: Drive = Object.assign(Object.create(memory) as Drive, {
      read: async () => {
        let sent = false;
        return new Readable({
          read() {
            if (!sent) {
              sent = true;
              this.push(Buffer.alloc(1000, 2));
            } else {
              this.destroy(new Error('upstream connection reset'));
            }
          },
        });
      },
    });
    const server = await startTestServer({ drive: breaking });
    try {
      await expect(server.request({ path: '/f.bin' })).rejects.toThrow();
      expect((await server.request({ method: 'HEAD', path: '/f.bin' })).status).toBe(200);
      expect(server.logger.errors.length).toBe(1);
      expect(server.logger.errors[0]).toContain('upstream connection reset');
    } finally {
      await server.close();
    }
  });
});

describe('redirect mode', () => {
  it('answers 302 to Drive.directUrl when downloads = redirect', async () => {
    const memory = new MemoryDrive({ directUrlBase: 'http://127.0.0.1:1/dl' });
    await seedFile(memory, '/a b.txt', 'abc');
    const server = await startTestServer({ drive: memory, downloads: 'redirect' });
    try {
      const r = await server.request({ path: '/a%20b.txt' });
      expect(r.status).toBe(302);
      expect(r.headers.location).toBe('http://127.0.0.1:1/dl/a%20b.txt');
      // HEAD still answers locally with the real metadata.
      const h = await server.request({ method: 'HEAD', path: '/a%20b.txt' });
      expect(h.status).toBe(200);
      expect(h.headers['content-length']).toBe('3');
    } finally {
      await server.close();
    }
  });
});
