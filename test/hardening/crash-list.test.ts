/**
 * The crash list of clients.md, replayed against the bridge over the simulator (the memory-drive
 * versions live in test/webdav/robustness.test.ts). Every hostile request gets its clear 4xx,
 * reaches 1fichier not at all where it should not, and is followed by a PROPFIND that proves the
 * server still answers, with no error logged.
 */
import { BILLION_LAUGHS_PROPPATCH } from '../support/hostile.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertAlive, rawExchange, startHardStack, type HardStack } from './helpers.js';

let s: HardStack;

beforeAll(async () => {
  s = await startHardStack();
  const folder = await s.sim.addFolder({ name: 'dir' });
  await s.sim.addFile({ folderId: folder, name: 'file.txt', content: 'content' });
  // Warm the cache so "no API call" checks measure only the hostile request.
  await assertAlive(s, '/dir/');
});

afterAll(() => s?.close());

afterEach(async () => {
  const r = await assertAlive(s, '/dir/');
  expect(r.text).toContain('file.txt');
  expect(s.log.errors).toEqual([]);
});

function statusOf(head: string): number {
  return Number(head.slice(9, 12));
}

describe('bad percent-encoding', () => {
  it.each(['/%NETHOOD%', '/%E0%A4%A', '/dir/%', '/dir/%zz', '/%C0%AF'])('%s → 400 on every method, no API call', async (path) => {
    const before = s.apiCalls();
    for (const method of ['GET', 'HEAD', 'PROPFIND', 'PUT', 'DELETE', 'MKCOL', 'MOVE', 'COPY', 'PROPPATCH', 'LOCK']) {
      const r = await s.req({ method, path, headers: { Depth: '0', Destination: '/dir/x' } });
      expect(r.status, `${method} ${path}`).toBe(400);
    }
    expect(s.apiCalls()).toBe(before);
  });

  it.each(['/%NETHOOD%', '/dir/%E0%A4%A', 'http://127.0.0.1:PORT/dir/%zz'])('Destination %s → 400, file untouched', async (template) => {
    const destination = template.replace('PORT', String(s.port));
    for (const method of ['MOVE', 'COPY']) {
      const r = await s.req({ method, path: '/dir/file.txt', headers: { Destination: destination } });
      expect(r.status, `${method} → ${destination}`).toBe(400);
    }
    expect((await s.req({ path: '/dir/file.txt' })).text).toBe('content');
  });

  it('a Destination on another host → 502, nothing moved', async () => {
    const r = await s.req({ method: 'MOVE', path: '/dir/file.txt', headers: { Destination: 'http://elsewhere.example/dir/y.txt' } });
    expect(r.status).toBe(502);
    expect((await s.req({ method: 'COPY', path: '/dir/file.txt', headers: { Destination: 'ftp://127.0.0.1/x' } })).status).toBe(502);
    expect((await s.req({ path: '/dir/file.txt' })).text).toBe('content');
  });
});

describe('bodies', () => {
  it.each(['PROPFIND', 'PROPPATCH', 'LOCK', 'MKCOL', 'GET', 'DELETE', 'MOVE'])(
    'a huge Content-Length on %s → 413 at once, without waiting for (or allocating) the body',
    async (method) => {
      const head = await rawExchange(
        s.port,
        `${method} /dir/file.txt HTTP/1.1\r\nHost: x\r\nDepth: 0\r\nDestination: /dir/z\r\nContent-Length: 99999999999999\r\n\r\n<a`,
      );
      expect(statusOf(head)).toBe(413);
      expect(head).toMatch(/connection: close/i);
    },
  );

  it('an XML body over 1 MiB, chunked or not, → 413', async () => {
    const big = `<D:propfind xmlns:D="DAV:"><D:prop>${'<D:x/>'.repeat(200_000)}</D:prop></D:propfind>`;
    expect(Buffer.byteLength(big)).toBeGreaterThan(1024 * 1024);
    expect((await s.req({ method: 'PROPFIND', path: '/dir/', headers: { Depth: '0' }, body: big })).status).toBe(413);
    expect((await s.req({ method: 'PROPFIND', path: '/dir/', headers: { Depth: '0', 'Transfer-Encoding': 'chunked' }, body: big })).status).toBe(413);
  });

  it('an invalid Content-Length → 400', async () => {
    const head = await rawExchange(s.port, `PROPFIND /dir/ HTTP/1.1\r\nHost: x\r\nDepth: 0\r\nContent-Length: 12abc\r\n\r\n`);
    expect(statusOf(head)).toBe(400);
  });
});

describe('PROPPATCH', () => {
  it('several <set> and <remove> blocks in one request apply in order', async () => {
    const body = `<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:" xmlns:x="urn:x">
  <D:set><D:prop><x:a>1</x:a><x:b>2</x:b></D:prop></D:set>
  <D:remove><D:prop><x:a/></D:prop></D:remove>
  <D:set><D:prop><Z:Win32FileAttributes>00000020</Z:Win32FileAttributes></D:prop></D:set>
  <D:remove><D:prop><x:never-set/></D:prop></D:remove>
  <D:set><D:prop><x:a>3</x:a></D:prop></D:set>
</D:propertyupdate>`;
    const r = await s.req({ method: 'PROPPATCH', path: '/dir/file.txt', body });
    expect(r.status).toBe(207);
    expect(r.text).not.toMatch(/HTTP\/1.1 (4|5)\d\d/);
    const props = await s.req({ method: 'PROPFIND', path: '/dir/file.txt', headers: { Depth: '0' } });
    expect(props.text).toMatch(/<[^>]*a[^>]*>3</);
    expect(props.text).toMatch(/<[^>]*b[^>]*>2</);
    expect(props.text).toContain('00000020');
  });
});

describe('headers', () => {
  it('an untagged If with an unknown token → 412 and nothing written', async () => {
    const before = s.calls('upload.cgi');
    expect((await s.req({ method: 'PUT', path: '/dir/file.txt', headers: { If: '(<urn:uuid:nope>)' }, body: 'x' })).status).toBe(412);
    expect(s.calls('upload.cgi')).toBe(before);
  });

  it('a malformed If → 400 on writes and reads', async () => {
    expect((await s.req({ method: 'PUT', path: '/dir/file.txt', headers: { If: '(((garbage' }, body: 'x' })).status).toBe(400);
    expect((await s.req({ method: 'GET', path: '/dir/file.txt', headers: { If: '<<<' } })).status).toBe(400);
    expect((await s.req({ method: 'DELETE', path: '/dir/file.txt', headers: { If: '(Not' } })).status).toBe(400);
    expect((await s.req({ path: '/dir/file.txt' })).text).toBe('content');
  });

  it('a Lock-Token without brackets → 400', async () => {
    expect((await s.req({ method: 'UNLOCK', path: '/dir/file.txt', headers: { 'Lock-Token': 'urn:uuid:1234' } })).status).toBe(400);
  });

  it('PROPFIND without Depth → 403 propfind-finite-depth, and the account is not walked', async () => {
    const before = s.apiCalls();
    const r = await s.req({ method: 'PROPFIND', path: '/' });
    expect(r.status).toBe(403);
    expect(r.text).toContain('propfind-finite-depth');
    expect((await s.req({ method: 'PROPFIND', path: '/', headers: { Depth: 'infinity' } })).status).toBe(403);
    expect(s.apiCalls()).toBe(before);
  });
});

describe('hostile XML', () => {
  const billionLaughs = BILLION_LAUGHS_PROPPATCH;

  it('billion laughs in PROPPATCH → 400, nothing stored', async () => {
    const r = await s.req({ method: 'PROPPATCH', path: '/dir/file.txt', body: billionLaughs });
    expect(r.status).toBe(400);
    const props = await s.req({ method: 'PROPFIND', path: '/dir/file.txt', headers: { Depth: '0' } });
    expect(props.text).not.toContain('lollol');
  });

  it.each([
    ['external entity', `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><D:propfind xmlns:D="DAV:"><D:prop><x xmlns="u">&xxe;</x></D:prop></D:propfind>`],
    ['parameter entity', `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY % p SYSTEM "http://127.0.0.1:1/x.dtd"> %p;]><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`],
    ['bare DOCTYPE', `<!DOCTYPE propfind><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`],
    ['not well-formed', `<D:propfind xmlns:D="DAV:"><D:prop></D:propfind>`],
    ['garbage', 'this is not xml'],
  ])('PROPFIND with %s → 400', async (_label, body) => {
    const r = await s.req({ method: 'PROPFIND', path: '/dir/', headers: { Depth: '0' }, body });
    expect(r.status).toBe(400);
    expect(r.text).not.toContain('root:');
  });

  it('invalid XML in LOCK → 400, and no lock is left behind', async () => {
    expect((await s.req({ method: 'LOCK', path: '/dir/file.txt', body: '<D:lockinfo xmlns:D="DAV:"><D:lockscope>' })).status).toBe(400);
    expect((await s.req({ method: 'PUT', path: '/dir/other.txt', body: 'free' })).status).toBe(201);
  });
});
