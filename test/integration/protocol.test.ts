/**
 * WebDAV protocol behaviour of the product itself (bridge over the simulator), not just of the
 * WebDAV layer over the memory drive: PROPFIND forms, every range form, conditionals, OPTIONS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../webdav/helpers.js';
import { parseMultistatus } from '../webdav/xml-helpers.js';
import { startStack, streamToBuffer, type Stack } from './helpers.js';

let stack: Stack;
let port: number;
let movieUrl: string;
const SIZE = 3 * 1024 * 1024 + 5;

beforeAll(async () => {
  stack = await startStack();
  port = stack.bridge.port;
  const { sim } = stack;
  const docs = await sim.addFolder({ name: 'Docs' });
  await sim.addFile({ folderId: docs, name: 'a.txt', content: 'hello', contentType: 'text/plain' });
  await sim.addFile({ folderId: docs, name: 'été #1?.txt', content: 'accents' });
  await sim.addFolder({ parentId: docs, name: 'Sub' });
  movieUrl = await sim.addFile({ name: 'movie.mkv', synthetic: { size: SIZE, seed: 4 } });
});

afterAll(async () => {
  await stack.close();
});

const dav = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
  request(port, { method, path, headers, body });

async function expected(start: number, end: number): Promise<Buffer> {
  return streamToBuffer(stack.sim.contentOf(movieUrl, start, end));
}

describe('OPTIONS', () => {
  it('announces DAV 1 and 2 and the methods', async () => {
    const r = await dav('OPTIONS', '/');
    expect(r.status).toBe(200);
    expect(String(r.headers.dav)).toMatch(/1,\s*2/);
    for (const method of ['PROPFIND', 'GET', 'PUT', 'LOCK', 'UNLOCK', 'MOVE', 'COPY', 'PROPPATCH', 'MKCOL', 'DELETE']) {
      expect(String(r.headers.allow)).toContain(method);
    }
  });
});

describe('PROPFIND', () => {
  it('Depth 0 and 1, hrefs percent-encoded, collections with a trailing slash', async () => {
    const zero = await dav('PROPFIND', '/Docs', { Depth: '0' });
    expect(parseMultistatus(zero.text).map((r) => r.href)).toEqual(['/Docs/']);
    const one = await dav('PROPFIND', '/Docs/', { Depth: '1' });
    expect(parseMultistatus(one.text).map((r) => r.href).sort()).toEqual(
      ['/Docs/', '/Docs/Sub/', '/Docs/a.txt', '/Docs/%C3%A9t%C3%A9%20%231%3F.txt'].sort(),
    );
  });

  it('refuses Depth infinity and a missing Depth with propfind-finite-depth', async () => {
    for (const headers of [{ Depth: 'infinity' }, {} as Record<string, string>]) {
      const r = await dav('PROPFIND', '/', headers);
      expect(r.status).toBe(403);
      expect(r.text).toContain('propfind-finite-depth');
    }
  });

  it('answers named properties, unknown ones in a 404 propstat, with any prefix', async () => {
    const body = `<?xml version="1.0"?>
<x:propfind xmlns:x="DAV:" xmlns:z="urn:unknown"><x:prop><x:getcontentlength/><x:getlastmodified/><z:nothing/></x:prop></x:propfind>`;
    const r = await dav('PROPFIND', '/Docs/a.txt', { Depth: '0', 'Content-Type': 'application/xml' }, body);
    expect(r.status).toBe(207);
    expect(r.text).toMatch(/getcontentlength>5</);
    expect(r.text).toMatch(/getlastmodified>[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT</);
    expect(r.text).toMatch(/nothing[\s\S]*HTTP\/1.1 404 Not Found/);
  });

  it('answers allprop with the live properties and propname with names only', async () => {
    const all = await dav(
      'PROPFIND',
      '/Docs/a.txt',
      { Depth: '0' },
      '<?xml version="1.0"?><propfind xmlns="DAV:"><allprop/></propfind>',
    );
    for (const name of ['getcontentlength', 'getcontenttype', 'getetag', 'getlastmodified', 'creationdate', 'resourcetype', 'supportedlock']) {
      expect(all.text).toContain(name);
    }
    expect(all.text).toMatch(/creationdate>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ</);
    const names = await dav('PROPFIND', '/Docs/a.txt', { Depth: '0' }, '<?xml version="1.0"?><propfind xmlns="DAV:"><propname/></propfind>');
    expect(names.status).toBe(207);
    expect(names.text).not.toContain('hello');
    expect(names.text).toMatch(/<D:getcontentlength\/>/);
  });

  it('gives quota properties on collections', async () => {
    const r = await dav(
      'PROPFIND',
      '/Docs/',
      { Depth: '0' },
      '<?xml version="1.0"?><propfind xmlns="DAV:"><prop><quota-available-bytes/><quota-used-bytes/></prop></propfind>',
    );
    expect(r.text).toMatch(/quota-available-bytes>\d+</);
    expect(r.text).toMatch(/quota-used-bytes>\d+</);
  });

  it('answers 404 for a missing path and 400 for malformed XML', async () => {
    expect((await dav('PROPFIND', '/nope', { Depth: '0' })).status).toBe(404);
    expect((await dav('PROPFIND', '/', { Depth: '0' }, '<propfind xmlns="DAV:"><prop>')).status).toBe(400);
  });
});

describe('GET and HEAD', () => {
  it('serves every single-range form with the real total', async () => {
    const cases: Array<[string, number, number]> = [
      ['bytes=0-99', 0, 99],
      ['bytes=100-', 100, SIZE - 1],
      ['bytes=-500', SIZE - 500, SIZE - 1],
      [`bytes=${SIZE - 1}-${SIZE + 100}`, SIZE - 1, SIZE - 1],
      ['bytes=1048570-1048600', 1048570, 1048600],
    ];
    for (const [range, start, end] of cases) {
      const r = await dav('GET', '/movie.mkv', { Range: range });
      expect(r.status, range).toBe(206);
      expect(r.headers['content-range']).toBe(`bytes ${start}-${end}/${SIZE}`);
      expect(r.body.equals(await expected(start, end)), range).toBe(true);
    }
  });

  it('serves several ranges as multipart/byteranges', async () => {
    const r = await dav('GET', '/movie.mkv', { Range: 'bytes=0-9,2000000-2000009,-5' });
    expect(r.status).toBe(206);
    const type = String(r.headers['content-type']);
    const boundary = /boundary=([^;]+)/.exec(type)?.[1];
    expect(type).toMatch(/^multipart\/byteranges/);
    expect(boundary).toBeDefined();
    const parts = r.body.toString('latin1').split(`--${boundary}`).slice(1, -1);
    expect(parts).toHaveLength(3);
    const spans: Array<[number, number]> = [
      [0, 9],
      [2000000, 2000009],
      [SIZE - 5, SIZE - 1],
    ];
    for (const [index, part] of parts.entries()) {
      const [head, ...rest] = part.split('\r\n\r\n');
      const [start, end] = spans[index];
      expect(head).toContain(`Content-Range: bytes ${start}-${end}/${SIZE}`);
      const bytes = Buffer.from(rest.join('\r\n\r\n').replace(/\r\n$/, ''), 'latin1');
      expect(bytes.equals(await expected(start, end))).toBe(true);
    }
  });

  it('answers 416 with the total for an unsatisfiable range', async () => {
    const r = await dav('GET', '/movie.mkv', { Range: `bytes=${SIZE}-` });
    expect(r.status).toBe(416);
    expect(r.headers['content-range']).toBe(`bytes */${SIZE}`);
  });

  it('honours If-None-Match, If-Modified-Since and If-Range', async () => {
    const head = await dav('HEAD', '/movie.mkv');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe(String(SIZE));
    const etag = String(head.headers.etag);
    const lastModified = String(head.headers['last-modified']);
    expect((await dav('GET', '/movie.mkv', { 'If-None-Match': etag })).status).toBe(304);
    expect((await dav('GET', '/movie.mkv', { 'If-Modified-Since': lastModified })).status).toBe(304);
    const matching = await dav('GET', '/movie.mkv', { Range: 'bytes=0-9', 'If-Range': etag });
    expect(matching.status).toBe(206);
    const stale = await dav('GET', '/Docs/a.txt', { Range: 'bytes=0-1', 'If-Range': '"not-the-etag"' });
    expect(stale.status).toBe(200);
    expect(stale.text).toBe('hello');
  });
});
