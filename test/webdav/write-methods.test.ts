import { beforeEach, afterEach, describe, expect, it } from 'vitest';
import { MemoryDrive } from '../../src/drive/memory-drive.js';
import { textContent } from '../../src/webdav/xml/tree.js';
import { seedFile, startTestServer, type TestServer } from './helpers.js';
import { parseMultistatus } from './xml-helpers.js';

let s: TestServer;
let drive: MemoryDrive;

beforeEach(async () => {
  drive = new MemoryDrive({ capacityBytes: 1_000_000 });
  s = await startTestServer({ drive });
  await drive.mkdir('/dir');
  await seedFile(drive, '/dir/file.txt', 'original');
});
afterEach(() => s.close());

const content = async (path: string) => {
  const r = await s.request({ path });
  return r.status === 200 ? r.text : `#${r.status}`;
};

describe('OPTIONS', () => {
  it('advertises class 1 and 2, the methods, MS-Author-Via, without touching the drive', async () => {
    const r = await s.request({ method: 'OPTIONS', path: '/no/such/path' });
    expect(r.status).toBe(200);
    expect(r.headers.dav).toBe('1, 2');
    expect(r.headers['ms-author-via']).toBe('DAV');
    const allow = (r.headers.allow as string).split(', ');
    for (const m of ['OPTIONS', 'GET', 'HEAD', 'PUT', 'DELETE', 'MKCOL', 'COPY', 'MOVE', 'PROPFIND', 'PROPPATCH', 'LOCK', 'UNLOCK']) {
      expect(allow).toContain(m);
    }
  });

  it('works without auth while other methods go through the auth hook', async () => {
    const guarded = await startTestServer({
      drive,
      authorize: (_req, res) => {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="x"', 'Content-Length': 0 }).end();
        return false;
      },
    });
    try {
      expect((await guarded.request({ method: 'OPTIONS', path: '/' })).status).toBe(200);
      expect((await guarded.request({ method: 'PROPFIND', path: '/', headers: { Depth: '0' } })).status).toBe(401);
    } finally {
      await guarded.close();
    }
  });

  it('without a lock manager the server is class 1 and refuses LOCK', async () => {
    const plain = await startTestServer({ drive, locks: undefined });
    try {
      const r = await plain.request({ method: 'OPTIONS', path: '/' });
      expect(r.headers.dav).toBe('1');
      expect(r.headers.allow).not.toContain('LOCK');
      expect((await plain.request({ method: 'LOCK', path: '/dir' })).status).toBe(501);
    } finally {
      await plain.close();
    }
  });

  it('a method we do not implement is 501 (Node itself answers 400 to unknown tokens)', async () => {
    expect((await s.request({ method: 'REPORT', path: '/' })).status).toBe(501);
    expect((await s.request({ method: 'PATCH', path: '/dir/file.txt', body: 'x' })).status).toBe(501);
  });
});

describe('PUT', () => {
  it('201 for a new file, 204 for a replacement, content and ETag updated', async () => {
    const a = await s.request({ method: 'PUT', path: '/dir/new.txt', body: 'abc' });
    expect(a.status).toBe(201);
    expect(await content('/dir/new.txt')).toBe('abc');
    const b = await s.request({ method: 'PUT', path: '/dir/new.txt', body: 'abcdef' });
    expect(b.status).toBe(204);
    expect(b.headers.etag).not.toBe(a.headers.etag);
    expect(await content('/dir/new.txt')).toBe('abcdef');
  });

  it('a 0-byte PUT creates an empty file', async () => {
    expect((await s.request({ method: 'PUT', path: '/dir/empty', body: '' })).status).toBe(201);
    expect((await drive.stat('/dir/empty')).size).toBe(0);
  });

  it('chunked PUT with X-Expected-Entity-Length (Finder)', async () => {
    const r = await s.request({
      method: 'PUT',
      path: '/dir/finder.bin',
      headers: { 'Transfer-Encoding': 'chunked', 'X-Expected-Entity-Length': 5 },
      body: 'hello',
    });
    expect(r.status).toBe(201);
    expect(await content('/dir/finder.bin')).toBe('hello');
  });

  it('409 when the parent is missing, 405 on a collection', async () => {
    expect((await s.request({ method: 'PUT', path: '/nope/x.txt', body: 'x' })).status).toBe(409);
    expect((await s.request({ method: 'PUT', path: '/dir', body: 'x' })).status).toBe(405);
  });

  it('If-None-Match: * refuses to replace an existing file (412)', async () => {
    const r = await s.request({ method: 'PUT', path: '/dir/file.txt', headers: { 'If-None-Match': '*' }, body: 'new' });
    expect(r.status).toBe(412);
    expect(await content('/dir/file.txt')).toBe('original');
  });
});

describe('MKCOL', () => {
  it('201, then 405 when it exists, 409 without parent, 415 with a body', async () => {
    expect((await s.request({ method: 'MKCOL', path: '/dir/sub' })).status).toBe(201);
    expect((await s.request({ method: 'MKCOL', path: '/dir/sub/' })).status).toBe(405);
    expect((await s.request({ method: 'MKCOL', path: '/dir/file.txt' })).status).toBe(405);
    expect((await s.request({ method: 'MKCOL', path: '/a/b/c' })).status).toBe(409);
    expect((await s.request({ method: 'MKCOL', path: '/dir/withbody', body: '<x/>' })).status).toBe(415);
    expect((await drive.stat('/dir/sub')).kind).toBe('folder');
  });
});

describe('DELETE', () => {
  it('204 for a file, 204 for a whole folder with content, 404 after', async () => {
    await drive.mkdir('/dir/deep');
    await seedFile(drive, '/dir/deep/f', 'x');
    expect((await s.request({ method: 'DELETE', path: '/dir/file.txt' })).status).toBe(204);
    expect((await s.request({ method: 'DELETE', path: '/dir/' })).status).toBe(204);
    expect((await s.request({ method: 'DELETE', path: '/dir' })).status).toBe(404);
    expect((await s.request({ method: 'PROPFIND', path: '/dir/deep', headers: { Depth: '0' } })).status).toBe(404);
  });

  it('dead properties die with the resource', async () => {
    await drive.patchProperties('/dir/file.txt', [{ op: 'set', property: { namespace: 'urn:x', name: 'p', xml: 'v' } }]);
    await s.request({ method: 'DELETE', path: '/dir/file.txt' });
    await seedFile(drive, '/dir/file.txt', 'again');
    expect(await drive.getProperties('/dir/file.txt')).toEqual([]);
  });
});

describe('COPY and MOVE', () => {
  const dest = (path: string) => `http://127.0.0.1:${s.port}${path}`;

  it('COPY a file: 201, then 204 with overwrite, 412 with Overwrite: F', async () => {
    expect((await s.request({ method: 'COPY', path: '/dir/file.txt', headers: { Destination: dest('/copy.txt') } })).status).toBe(201);
    expect(await content('/copy.txt')).toBe('original');
    expect((await s.request({ method: 'COPY', path: '/dir/file.txt', headers: { Destination: '/copy.txt' } })).status).toBe(204);
    const f = await s.request({ method: 'COPY', path: '/dir/file.txt', headers: { Destination: '/copy.txt', Overwrite: 'F' } });
    expect(f.status).toBe(412);
  });

  it('COPY Depth 0 of a folder copies the folder alone; infinity copies its content', async () => {
    expect((await s.request({ method: 'COPY', path: '/dir', headers: { Destination: '/d0', Depth: '0' } })).status).toBe(201);
    expect(await drive.list('/d0')).toEqual([]);
    expect((await s.request({ method: 'COPY', path: '/dir', headers: { Destination: '/dinf' } })).status).toBe(201);
    expect(await content('/dinf/file.txt')).toBe('original');
    expect((await s.request({ method: 'COPY', path: '/dir', headers: { Destination: '/d1', Depth: '1' } })).status).toBe(400);
  });

  it('MOVE: 201, source gone, dead properties carried; 204 on overwrite', async () => {
    await drive.patchProperties('/dir/file.txt', [{ op: 'set', property: { namespace: 'urn:x', name: 'p', xml: 'v' } }]);
    expect((await s.request({ method: 'MOVE', path: '/dir/file.txt', headers: { Destination: dest('/moved%20here.txt') } })).status).toBe(201);
    expect(await content('/dir/file.txt')).toBe('#404');
    expect(await content('/moved%20here.txt')).toBe('original');
    expect(await drive.getProperties('/moved here.txt')).toEqual([{ namespace: 'urn:x', name: 'p', xml: 'v' }]);
    await seedFile(drive, '/other.txt', 'other');
    expect((await s.request({ method: 'MOVE', path: '/other.txt', headers: { Destination: '/moved%20here.txt' } })).status).toBe(204);
    expect(await content('/moved%20here.txt')).toBe('other');
  });

  it('MOVE with Depth other than infinity is 400; same source and destination is 403', async () => {
    expect((await s.request({ method: 'MOVE', path: '/dir', headers: { Destination: '/x', Depth: '0' } })).status).toBe(400);
    expect((await s.request({ method: 'MOVE', path: '/dir/file.txt', headers: { Destination: '/dir/file.txt' } })).status).toBe(403);
    expect((await s.request({ method: 'MOVE', path: '/dir', headers: { Destination: '/dir/inside' } })).status).toBe(403);
  });

  it('MOVE or COPY onto a folder holding the source is 403 and deletes nothing (Overwrite would delete the source)', async () => {
    await drive.mkdir('/dir/sub');
    await seedFile(drive, '/dir/sub/deep.txt', 'deep');
    await drive.mkdir('/Cafe\u0301');
    await seedFile(drive, '/Cafe\u0301/menu.txt', 'menu');
    for (const [method, path, destination] of [
      ['MOVE', '/dir/file.txt', '/dir/'],
      ['MOVE', '/dir/file.txt', '/dir'],
      ['COPY', '/dir/file.txt', '/dir/'],
      ['MOVE', '/dir/sub/deep.txt', '/dir'],
      ['MOVE', '/dir/sub', '/dir/'],
      ['COPY', '/dir/sub', '/dir'],
      ['MOVE', '/Cafe%CC%81/menu.txt', '/Caf%C3%A9/'],
    ]) {
      const r = await s.request({ method, path, headers: { Destination: dest(destination) } });
      expect(r.status, `${method} ${path} -> ${destination}`).toBe(403);
    }
    expect(await content('/dir/file.txt')).toBe('original');
    expect(await content('/dir/sub/deep.txt')).toBe('deep');
    expect(await content('/Cafe%CC%81/menu.txt')).toBe('menu');
  });

  it('409 when the destination parent is missing, 404 for a missing source, 502 for another host', async () => {
    expect((await s.request({ method: 'MOVE', path: '/dir/file.txt', headers: { Destination: '/no/parent.txt' } })).status).toBe(409);
    expect((await s.request({ method: 'COPY', path: '/missing', headers: { Destination: '/x' } })).status).toBe(404);
    expect((await s.request({ method: 'COPY', path: '/dir/file.txt', headers: { Destination: 'http://example.invalid/x' } })).status).toBe(502);
    expect((await s.request({ method: 'COPY', path: '/dir/file.txt' })).status).toBe(400);
    expect(await content('/dir/file.txt')).toBe('original');
  });
});

describe('PROPPATCH', () => {
  const proppatch = (path: string, body: string) =>
    s.request({ method: 'PROPPATCH', path, headers: { 'Content-Type': 'application/xml' }, body });

  it('Windows Win32* properties: 207 with 200 for each, stored and given back by PROPFIND', async () => {
    const body = `<?xml version="1.0" encoding="utf-8" ?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop>
<Z:Win32CreationTime>Mon, 01 Jan 2024 10:00:00 GMT</Z:Win32CreationTime>
<Z:Win32LastAccessTime>Mon, 01 Jan 2024 10:00:01 GMT</Z:Win32LastAccessTime>
<Z:Win32LastModifiedTime>Mon, 01 Jan 2024 10:00:02 GMT</Z:Win32LastModifiedTime>
<Z:Win32FileAttributes>00000020</Z:Win32FileAttributes>
</D:prop></D:set></D:propertyupdate>`;
    const r = await proppatch('/dir/file.txt', body);
    expect(r.status).toBe(207);
    const [resp] = parseMultistatus(r.text);
    expect([...resp.propstats.keys()]).toEqual([200]);
    expect(resp.propstats.get(200)!.size).toBe(4);
    const pf = await s.request({
      method: 'PROPFIND',
      path: '/dir/file.txt',
      headers: { Depth: '0' },
      body: `<propfind xmlns="DAV:"><prop><Win32FileAttributes xmlns="urn:schemas-microsoft-com:"/></prop></propfind>`,
    });
    const [got] = parseMultistatus(pf.text);
    expect(textContent(got.propstats.get(200)!.get('{urn:schemas-microsoft-com:}Win32FileAttributes')!)).toBe('00000020');
  });

  it('several set and remove blocks are applied in order', async () => {
    const body = `<propertyupdate xmlns="DAV:" xmlns:x="urn:x">
      <set><prop><x:a>1</x:a><x:b>2</x:b></prop></set>
      <remove><prop><x:a/></prop></remove>
      <set><prop><x:c><x:nested attr="q">deep</x:nested></x:c></prop></set>
      <remove><prop><x:b/></prop></remove>
      <set><prop><x:b>3</x:b></prop></set>
    </propertyupdate>`;
    const r = await proppatch('/dir/file.txt', body);
    expect(r.status).toBe(207);
    expect([...parseMultistatus(r.text)[0].propstats.keys()]).toEqual([200]);
    const props = await drive.getProperties('/dir/file.txt');
    expect(props.map((p) => `${p.name}=${p.xml}`).sort()).toEqual(['b=3', 'c=<nested attr="q">deep</nested>']);
  });

  it('a protected live property: 403 for it, 424 for the others, nothing changed', async () => {
    const body = `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:ok xmlns:x="urn:x">1</x:ok><D:getetag>"forged"</D:getetag></D:prop></D:set></D:propertyupdate>`;
    const r = await proppatch('/dir/file.txt', body);
    expect(r.status).toBe(207);
    const [resp] = parseMultistatus(r.text);
    expect([...resp.propstats.get(403)!.keys()]).toEqual(['{DAV:}getetag']);
    expect([...resp.propstats.get(424)!.keys()]).toEqual(['{urn:x}ok']);
    expect(r.text).toContain('<D:cannot-modify-protected-property/>');
    expect(await drive.getProperties('/dir/file.txt')).toEqual([]);
  });

  it('404 on a missing resource, 400 for a body that is not propertyupdate', async () => {
    expect((await proppatch('/missing', `<propertyupdate xmlns="DAV:"><set><prop><a xmlns="urn:x"/></prop></set></propertyupdate>`)).status).toBe(404);
    expect((await proppatch('/dir/file.txt', `<propfind xmlns="DAV:"/>`)).status).toBe(400);
    expect((await proppatch('/dir/file.txt', '')).status).toBe(400);
  });
});
