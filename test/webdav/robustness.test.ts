/**
 * The crash list of clients.md: every request that brings weak WebDAV servers down, each followed
 * by a request that proves this one still answers.
 */
import { BILLION_LAUGHS_PROPPATCH } from '../support/hostile.js';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDrive } from '../../src/drive/memory-drive.js';
import { DriveError, type Drive } from '../../src/drive/types.js';
import { seedFile, startTestServer, type TestServer } from './helpers.js';

let s: TestServer;
let drive: MemoryDrive;

beforeAll(async () => {
  drive = new MemoryDrive();
  s = await startTestServer({ drive, maxXmlBodyBytes: 64 * 1024 });
  await drive.mkdir('/dir');
  await seedFile(drive, '/dir/file.txt', 'content');
});
afterAll(() => s.close());

afterEach(async () => {
  // The server is alive and well after every hostile request.
  const r = await s.request({ method: 'PROPFIND', path: '/dir/', headers: { Depth: '1' } });
  expect(r.status).toBe(207);
  expect(r.text).toContain('file.txt');
  expect(s.logger.errors).toEqual([]);
});

/** Sends raw bytes and returns the status line and headers of the answer (no body wait). */
function raw(port: number, text: string): Promise<{ status: number; head: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
      const end = data.indexOf('\r\n\r\n');
      if (end !== -1) {
        socket.destroy();
        resolve({ status: Number(data.slice(9, 12)), head: data.slice(0, end) });
      }
    });
    socket.on('error', reject);
    socket.on('close', () => {
      if (!data.includes('\r\n\r\n')) reject(new Error(`connection closed without an answer: ${JSON.stringify(data)}`));
    });
  });
}

describe('bad paths', () => {
  it.each(['/%NETHOOD%', '/%E0%A4%A', '/dir/%', '/dir/%zz', '/%C0%AF', '/a%2Fb', '/a%00b'])('%s → 400 on every method', async (path) => {
    for (const method of ['GET', 'HEAD', 'PROPFIND', 'PUT', 'DELETE', 'MKCOL', 'MOVE', 'COPY', 'PROPPATCH', 'LOCK']) {
      const r = await s.request({ method, path, headers: { Depth: '0', Destination: '/x' } });
      expect(r.status, `${method} ${path}`).toBe(400);
    }
  });

  it.each(['/../etc/passwd', '/dir/../../x', '/%2e%2e/x'])('%s escaping the root → 400', async (path) => {
    expect((await s.request({ path })).status).toBe(400);
  });

  it('dot segments inside the root are resolved', async () => {
    expect((await s.request({ path: '/dir/./sub/../file.txt' })).text).toBe('content');
  });

  it('OPTIONS * answers for the server; * on another method is 400', async () => {
    const r = await raw(s.port, 'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(r.status).toBe(200);
    expect(r.head).toMatch(/\r\ndav: 1, 2/i);
    expect((await raw(s.port, 'GET * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).status).toBe(400);
  });

  it('a fragment in the request target is 400 and deletes nothing', async () => {
    const r = await raw(s.port, 'DELETE /dir/#frag HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(r.status).toBe(400);
    expect((await drive.stat('/dir')).kind).toBe('folder');
  });
});

describe('bad Destination', () => {
  it.each([
    ['bad percent-encoding (URI)', `http://127.0.0.1:PORT/%E0%A4%A`, 400],
    ['bad percent-encoding (path)', '/%NETHOOD%', 400],
    ['not a URI', 'http://[::1', 400],
    ['escaping the root', '/../../x', 400],
    ['another host', 'http://elsewhere.invalid/x', 502],
  ])('%s', async (_label, destination, status) => {
    for (const method of ['COPY', 'MOVE']) {
      const r = await s.request({ method, path: '/dir/file.txt', headers: { Destination: destination.replace('PORT', String(s.port)) } });
      expect(r.status, method).toBe(status);
    }
    expect((await drive.stat('/dir/file.txt')).size).toBe(7);
  });
});

describe('bodies', () => {
  it('a huge Content-Length on PROPFIND is refused at once (413), nothing allocated or awaited', async () => {
    const r = await raw(
      s.port,
      `PROPFIND /dir/ HTTP/1.1\r\nHost: x\r\nDepth: 0\r\nContent-Type: application/xml\r\nContent-Length: 999999999999\r\n\r\n<a`,
    );
    expect(r.status).toBe(413);
    expect(r.head).toMatch(/connection: close/i);
  });

  it.each(['PROPPATCH', 'LOCK', 'MKCOL', 'GET', 'DELETE'])('a huge Content-Length on %s is 413', async (method) => {
    const r = await raw(s.port, `${method} /dir/file.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\n\r\n`);
    expect(r.status).toBe(413);
  });

  it('a chunked body over the cap is cut off with 413 (counted as it streams)', async () => {
    const big = `<D:propfind xmlns:D="DAV:"><D:prop>${'<D:x/>'.repeat(20_000)}</D:prop></D:propfind>`;
    const r = await s.request({ method: 'PROPFIND', path: '/dir/', headers: { Depth: '0', 'Transfer-Encoding': 'chunked' }, body: big });
    expect(r.status).toBe(413);
  });

  it('an invalid Content-Length is 400', async () => {
    const r = await raw(s.port, `PROPFIND /dir/ HTTP/1.1\r\nHost: x\r\nDepth: 0\r\nContent-Length: 12abc\r\n\r\n`);
    expect(r.status).toBe(400);
  });
});

describe('hostile XML', () => {
  const billionLaughs = BILLION_LAUGHS_PROPPATCH;

  it('billion laughs in PROPPATCH → 400, nothing stored, nothing expanded', async () => {
    const r = await s.request({ method: 'PROPPATCH', path: '/dir/file.txt', body: billionLaughs });
    expect(r.status).toBe(400);
    expect(r.text).not.toContain('lollol');
    expect(await drive.getProperties('/dir/file.txt')).toEqual([]);
  });

  it.each([
    ['external entity', `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><D:propfind xmlns:D="DAV:"><D:prop><x xmlns="u">&xxe;</x></D:prop></D:propfind>`],
    ['bare DOCTYPE', `<!DOCTYPE propfind><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`],
    ['undeclared entity', `<D:propfind xmlns:D="DAV:"><D:prop><x xmlns="u">&lol9;</x></D:prop></D:propfind>`],
    ['not well-formed', `<D:propfind xmlns:D="DAV:"><D:prop></D:propfind>`],
    ['unbound prefix', `<D:propfind><D:allprop/></D:propfind>`],
    ['garbage', `this is not xml`],
    ['two roots', `<a xmlns="DAV:"/><b/>`],
    ['invalid UTF-8', Buffer.from([0x3c, 0x61, 0xff, 0xfe, 0x2f, 0x3e])],
  ])('PROPFIND with %s → 400', async (_label, body) => {
    const r = await s.request({ method: 'PROPFIND', path: '/dir/', headers: { Depth: '0' }, body });
    expect(r.status).toBe(400);
    expect(r.text).not.toContain('root:');
  });

  it('invalid XML in LOCK → 400', async () => {
    const r = await s.request({ method: 'LOCK', path: '/dir/file.txt', body: '<D:lockinfo xmlns:D="DAV:"><D:lockscope>' });
    expect(r.status).toBe(400);
  });

  it('elements nested absurdly deep → 400', async () => {
    const body = `<D:propfind xmlns:D="DAV:"><D:prop>${'<x xmlns="u">'.repeat(1000)}${'</x>'.repeat(1000)}</D:prop></D:propfind>`;
    expect((await s.request({ method: 'PROPFIND', path: '/dir/', headers: { Depth: '0' }, body })).status).toBe(400);
  });
});

describe('headers', () => {
  it('PROPFIND without Depth → 403 propfind-finite-depth', async () => {
    const r = await s.request({ method: 'PROPFIND', path: '/' });
    expect(r.status).toBe(403);
    expect(r.text).toContain('propfind-finite-depth');
  });

  it('an untagged If with an unknown token → 412, a malformed If → 400, nothing written', async () => {
    expect((await s.request({ method: 'PUT', path: '/dir/file.txt', headers: { If: '(<urn:uuid:nope>)' }, body: 'x' })).status).toBe(412);
    expect((await s.request({ method: 'PUT', path: '/dir/file.txt', headers: { If: '(((garbage' }, body: 'x' })).status).toBe(400);
    expect((await s.request({ method: 'GET', path: '/dir/file.txt', headers: { If: '<<<' } })).status).toBe(400);
    expect((await s.request({ path: '/dir/file.txt' })).text).toBe('content');
  });

  it('Lock-Token without brackets → 400', async () => {
    const r = await s.request({ method: 'UNLOCK', path: '/dir/file.txt', headers: { 'Lock-Token': 'urn:uuid:1234' } });
    expect(r.status).toBe(400);
  });

  it('invalid Depth and Overwrite values → 400', async () => {
    expect((await s.request({ method: 'PROPFIND', path: '/', headers: { Depth: 'two' } })).status).toBe(400);
    expect((await s.request({ method: 'COPY', path: '/dir/file.txt', headers: { Destination: '/c', Overwrite: 'maybe' } })).status).toBe(400);
  });
});

describe('drive failures', () => {
  async function withDrive(bad: Partial<Drive>, fn: (srv: TestServer) => Promise<void>) {
    const base = new MemoryDrive();
    const srv = await startTestServer({ drive: Object.assign(Object.create(base) as Drive, bad) });
    try {
      await fn(srv);
      expect((await srv.request({ method: 'OPTIONS', path: '/' })).status).toBe(200);
    } finally {
      await srv.close();
    }
  }

  it("'unavailable' → 503 with Retry-After", async () => {
    await withDrive({ stat: async () => Promise.reject(new DriveError('unavailable', 'flood cool-down', 42)) }, async (srv) => {
      const r = await srv.request({ path: '/x' });
      expect(r.status).toBe(503);
      expect(r.headers['retry-after']).toBe('42');
    });
  });

  it('a read that cannot start gets its real status (503), for single, full and multipart GETs', async () => {
    const base = new MemoryDrive();
    await seedFile(base, '/f', 'x'.repeat(100));
    const failing = Object.assign(Object.create(base) as Drive, {
      read: async () => Promise.reject(new DriveError('unavailable', 'no download token during cool-down', 7)),
    });
    const srv = await startTestServer({ drive: failing });
    try {
      for (const range of [undefined, 'bytes=0-9', 'bytes=0-9,50-59']) {
        const r = await srv.request({ path: '/f', headers: range ? { Range: range } : {} });
        expect(r.status, String(range)).toBe(503);
        expect(r.headers['retry-after']).toBe('7');
      }
    } finally {
      await srv.close();
    }
  });

  it.each([
    ['upstream', 502],
    ['forbidden', 403],
    ['insufficient-storage', 507],
    ['too-large', 413],
  ] as const)("'%s' → %i", async (code, status) => {
    await withDrive({ stat: async () => Promise.reject(new DriveError(code, 'nope')) }, async (srv) => {
      expect((await srv.request({ path: '/x' })).status).toBe(status);
    });
  });

  it('an unexpected exception → 500 with a short reason, logged, server alive', async () => {
    await withDrive({ stat: async () => Promise.reject(new TypeError('boom: secret internals')) }, async (srv) => {
      const r = await srv.request({ method: 'PROPFIND', path: '/', headers: { Depth: '0' } });
      expect(r.status).toBe(500);
      expect(r.text).not.toContain('secret');
      expect(srv.logger.errors.length).toBe(1);
      expect(srv.logger.errors[0]).toContain('boom');
    });
  });
});
