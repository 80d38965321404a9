/**
 * LOCK / UNLOCK over HTTP against the server on the in-memory drive: the Windows and Finder write
 * sequences, lock-null (locked empty) resources, refresh, timeouts with a fake clock, collection
 * locks, and the malformed headers that crash weak servers (clients.md).
 */
import http from 'node:http';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryDrive } from '../../src/drive/memory-drive.js';
import { LockManager } from '../../src/webdav/lock-manager.js';
import { startWebDavServer, type RunningWebDavServer } from '../../src/webdav/server.js';
import type { Logger } from '../../src/webdav/handler.js';
import { parseXml } from '../../src/webdav/xml/parse.js';
import { elementChildren, textContent, type XmlElement } from '../../src/webdav/xml/tree.js';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Send {
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Sent with Transfer-Encoding: chunked, one write per chunk. */
  chunks?: Buffer[];
}

let server: RunningWebDavServer;
let drive: MemoryDrive;
let locks: LockManager;
let now: number;
let serverErrors: string[];

const logger: Logger = {
  info: () => {},
  warn: () => {},
  error: (message, fields) => serverErrors.push(`${message} ${JSON.stringify(fields ?? {})}`),
};

beforeEach(async () => {
  now = 1_700_000_000_000;
  serverErrors = [];
  drive = new MemoryDrive();
  locks = new LockManager({ now: () => now, maxTimeoutSeconds: 3600 });
  server = await startWebDavServer({ drive, locks, logger });
});

afterEach(async () => {
  await server.close();
  expect(serverErrors).toEqual([]);
});

function send(method: string, path: string, options: Send = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(options.headers ?? {}) };
    if (options.chunks) headers['Transfer-Encoding'] = 'chunked';
    else headers['Content-Length'] = String(options.body === undefined ? 0 : Buffer.byteLength(options.body));
    const req = http.request({ host: '127.0.0.1', port: server.port, method, path, headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (options.chunks) for (const c of options.chunks) req.write(c);
    else if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

const lockBody = (scope: 'exclusive' | 'shared' = 'exclusive', owner = '<D:href>mailto:tester@example.com</D:href>') =>
  `<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:${scope}/></D:lockscope>` +
  `<D:locktype><D:write/></D:locktype><D:owner>${owner}</D:owner></D:lockinfo>`;

async function lock(path: string, headers: Record<string, string> = {}, body = lockBody()): Promise<{ reply: Reply; token: string }> {
  const reply = await send('LOCK', path, { headers: { 'Content-Type': 'application/xml', ...headers }, body });
  const m = /^<(.+)>$/.exec(String(reply.headers['lock-token'] ?? ''));
  return { reply, token: m?.[1] ?? '' };
}

async function put(path: string, content: string, headers: Record<string, string> = {}): Promise<Reply> {
  return send('PUT', path, { headers, body: content });
}

async function read(path: string): Promise<string> {
  const reply = await send('GET', path);
  expect(reply.status).toBe(200);
  return reply.body;
}

function find(el: XmlElement, local: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    if (e.ns === 'DAV:' && e.local === local) out.push(e);
    elementChildren(e).forEach(walk);
  };
  walk(el);
  return out;
}

describe('LOCK: new locks', () => {
  it('locks an existing file: 200, Lock-Token header, lockdiscovery body with owner, depth, timeout', async () => {
    expect((await put('/doc.txt', 'hello')).status).toBe(201);
    const { reply, token } = await lock('/doc.txt', { Depth: '0', Timeout: 'Second-600' });
    expect(reply.status).toBe(200);
    expect(token).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    expect(reply.headers['content-type']).toMatch(/^application\/xml/);
    const doc = parseXml(reply.body);
    expect(doc.ns).toBe('DAV:');
    expect(doc.local).toBe('prop');
    const [active] = find(doc, 'activelock');
    expect(textContent(find(active, 'locktoken')[0]).trim()).toBe(token);
    expect(find(active, 'exclusive')).toHaveLength(1);
    expect(find(active, 'write')).toHaveLength(1);
    expect(textContent(find(active, 'depth')[0])).toBe('0');
    expect(textContent(find(active, 'timeout')[0])).toBe('Second-600');
    expect(textContent(find(active, 'lockroot')[0])).toBe('/doc.txt');
    // The owner's <D:href> comes back in the DAV: namespace, not as an unqualified element.
    const owner = find(active, 'owner')[0];
    const ownerHref = elementChildren(owner)[0];
    expect({ ns: ownerHref.ns, local: ownerHref.local, text: textContent(ownerHref) }).toEqual({
      ns: 'DAV:',
      local: 'href',
      text: 'mailto:tester@example.com',
    });
  });

  it('defaults to depth infinity and the configured maximum timeout', async () => {
    await send('MKCOL', '/folder');
    const { reply } = await lock('/folder', { Timeout: 'Infinite, Second-4100000000' });
    expect(reply.status).toBe(200);
    const active = find(parseXml(reply.body), 'activelock')[0];
    expect(textContent(find(active, 'depth')[0])).toBe('infinity');
    expect(textContent(find(active, 'timeout')[0])).toBe('Second-3600');
  });

  it('shows the lock in PROPFIND lockdiscovery, and on members of a depth-infinity lock', async () => {
    await send('MKCOL', '/folder');
    await put('/folder/a.txt', 'a');
    const { token } = await lock('/folder', { Depth: 'infinity' });
    const reply = await send('PROPFIND', '/folder/a.txt', {
      headers: { Depth: '0' },
      body: '<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/><D:supportedlock/></D:prop></D:propfind>',
    });
    expect(reply.status).toBe(207);
    const doc = parseXml(reply.body);
    expect(textContent(find(doc, 'locktoken')[0]).trim()).toBe(token);
    expect(find(doc, 'lockentry')).toHaveLength(2);
  });

  it('a second exclusive lock conflicts: 423 no-conflicting-lock', async () => {
    await put('/doc.txt', 'x');
    await lock('/doc.txt');
    const { reply } = await lock('/doc.txt');
    expect(reply.status).toBe(423);
    const doc = parseXml(reply.body);
    expect(doc.local).toBe('error');
    expect(find(doc, 'no-conflicting-lock')).toHaveLength(1);
    expect(reply.headers['lock-token']).toBeUndefined();
  });

  it('shared locks coexist; an exclusive one then conflicts', async () => {
    await put('/doc.txt', 'x');
    const a = await lock('/doc.txt', {}, lockBody('shared'));
    const b = await lock('/doc.txt', {}, lockBody('shared'));
    expect([a.reply.status, b.reply.status]).toEqual([200, 200]);
    expect(a.token).not.toBe(b.token);
    expect((await lock('/doc.txt')).reply.status).toBe(423);
  });

  it('a depth-infinity lock on a folder conflicts with a lock below it', async () => {
    await send('MKCOL', '/folder');
    await put('/folder/a.txt', 'a');
    await lock('/folder/a.txt', { Depth: '0' });
    expect((await lock('/folder', { Depth: 'infinity' })).reply.status).toBe(423);
    expect((await lock('/folder', { Depth: '0' })).reply.status).toBe(200);
  });

  it('a lock taken on the NFD form of a name guards its NFC form, and the other way round', async () => {
    // macOS sends names decomposed (e + U+0301), Windows composed (é): one resource for the drive.
    const nfd = '/Cafe%CC%81.txt';
    const nfc = '/Caf%C3%A9.txt';
    expect((await send('PUT', nfd, { body: 'x' })).status).toBe(201);
    const locked = await send('LOCK', nfd, { body: lockBody() });
    expect(locked.status).toBe(200);
    expect((await send('PUT', nfc, { body: 'y' })).status).toBe(423);
    expect((await send('LOCK', nfc, { body: lockBody() })).status).toBe(423);
    const token = String(locked.headers['lock-token']);
    expect((await send('UNLOCK', nfc, { headers: { 'Lock-Token': token } })).status).toBe(204);
    expect((await send('PUT', nfc, { body: 'y' })).status).not.toBe(423);
  });

  it('refuses malformed bodies and headers with 400, never a crash', async () => {
    await put('/doc.txt', 'x');
    const bad = [
      { body: '<D:lockinfo xmlns:D="DAV:"><D:lockscope>' },
      { body: '<D:propfind xmlns:D="DAV:"/>' },
      { body: '<D:lockinfo xmlns:D="DAV:"><D:locktype><D:write/></D:locktype></D:lockinfo>' },
      { body: '<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>' },
      { body: '<lockinfo><lockscope><exclusive/></lockscope><locktype><write/></locktype></lockinfo>' },
      { body: '<!DOCTYPE x [<!ENTITY a "aaaa">]><D:lockinfo xmlns:D="DAV:">&a;</D:lockinfo>' },
      { body: lockBody(), headers: { Depth: '1' } },
      { body: lockBody(), headers: { Depth: 'sideways' } },
    ];
    for (const b of bad) {
      const reply = await send('LOCK', '/doc.txt', { body: b.body, headers: b.headers });
      expect(reply.status, b.body).toBe(400);
    }
    expect(await locks.size()).toBe(0);
  });

  it('answers 422 for a lock type other than write', async () => {
    await put('/doc.txt', 'x');
    const body = '<D:lockinfo xmlns:D="DAV:" xmlns:X="urn:x"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><X:read/></D:locktype></D:lockinfo>';
    expect((await send('LOCK', '/doc.txt', { body })).status).toBe(422);
  });

  it('ignores an unusable Timeout header instead of failing', async () => {
    await put('/doc.txt', 'x');
    const { reply } = await lock('/doc.txt', { Timeout: 'Whenever, Second-abc' });
    expect(reply.status).toBe(200);
    expect(textContent(find(parseXml(reply.body), 'timeout')[0])).toBe('Second-3600');
  });
});

describe('LOCK on an unmapped URL (locked empty resource)', () => {
  it('creates an empty file: 201, listed, readable, survives UNLOCK', async () => {
    const { reply, token } = await lock('/new.txt', { Depth: '0' });
    expect(reply.status).toBe(201);
    expect(reply.headers['lock-token']).toBe(`<${token}>`);
    expect((await drive.stat('/new.txt')).size).toBe(0);
    expect(await read('/new.txt')).toBe('');
    expect((await send('UNLOCK', '/new.txt', { headers: { 'Lock-Token': `<${token}>` } })).status).toBe(204);
    expect((await drive.stat('/new.txt')).kind).toBe('file');
  });

  it('needs the parent: 409 and no lock left behind', async () => {
    const { reply } = await lock('/missing/new.txt');
    expect(reply.status).toBe(409);
    expect(await locks.size()).toBe(0);
  });

  it('inside a collection locked by someone else: 423, nothing created', async () => {
    await send('MKCOL', '/folder');
    await lock('/folder', { Depth: 'infinity' });
    const { reply } = await lock('/folder/new.txt', { Depth: '0' });
    expect(reply.status).toBe(423);
    await expect(drive.stat('/folder/new.txt')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('a depth-0 lock on the parent protects its membership: creating needs that token', async () => {
    await send('MKCOL', '/folder');
    const parent = await lock('/folder', { Depth: '0' });
    expect((await lock('/folder/new.txt', { Depth: '0' })).reply.status).toBe(423);
    const ok = await lock('/folder/new.txt', { Depth: '0', If: `</folder> (<${parent.token}>)` });
    expect(ok.reply.status).toBe(201);
  });
});

describe('LOCK refresh', () => {
  it('refreshes with the If header: 200 with the refreshed lock and the new timeout', async () => {
    await put('/doc.txt', 'x');
    const { token } = await lock('/doc.txt', { Timeout: 'Second-60' });
    now += 50_000;
    const reply = await send('LOCK', '/doc.txt', { headers: { If: `(<${token}>)`, Timeout: 'Second-120' } });
    expect(reply.status).toBe(200);
    const active = find(parseXml(reply.body), 'activelock')[0];
    expect(textContent(find(active, 'locktoken')[0]).trim()).toBe(token);
    expect(textContent(find(active, 'timeout')[0])).toBe('Second-120');
    now += 100_000; // 150 s after creation: alive only thanks to the refresh
    expect((await put('/doc.txt', 'y')).status).toBe(423);
  });

  it('refreshes a collection lock through a member (indirect refresh)', async () => {
    await send('MKCOL', '/folder');
    await put('/folder/a.txt', 'a');
    const { token } = await lock('/folder', { Timeout: 'Second-60' });
    const reply = await send('LOCK', '/folder/a.txt', { headers: { If: `(<${token}>)`, Timeout: 'Second-600' } });
    expect(reply.status).toBe(200);
    expect(textContent(find(parseXml(reply.body), 'lockroot')[0])).toBe('/folder');
  });

  it('412 for a token that is not a lock on this resource; 400 without If; 400 for a malformed If', async () => {
    await put('/doc.txt', 'x');
    await put('/other.txt', 'x');
    const { token } = await lock('/other.txt');
    expect((await send('LOCK', '/doc.txt', { headers: { If: `(<${token}>)` } })).status).toBe(412);
    expect((await send('LOCK', '/doc.txt', { headers: { If: '(<urn:uuid:nope>)' } })).status).toBe(412);
    expect((await send('LOCK', '/doc.txt', { headers: { If: `</other.txt> (<${token}>)` } })).status).toBe(412);
    expect((await send('LOCK', '/doc.txt')).status).toBe(400);
    expect((await send('LOCK', '/doc.txt', { headers: { If: '(<urn:uuid:nope>' } })).status).toBe(400);
  });

  it('an expired lock cannot be refreshed and no longer blocks writes', async () => {
    await put('/doc.txt', 'x');
    const { token } = await lock('/doc.txt', { Timeout: 'Second-30' });
    expect((await put('/doc.txt', 'y')).status).toBe(423);
    now += 30_000;
    expect((await send('LOCK', '/doc.txt', { headers: { If: `(<${token}>)` } })).status).toBe(412);
    expect((await put('/doc.txt', 'y')).status).toBe(204);
  });
});

describe('UNLOCK', () => {
  it('204, after which writes need no token', async () => {
    await put('/doc.txt', 'x');
    const { token } = await lock('/doc.txt');
    expect((await put('/doc.txt', 'y')).status).toBe(423);
    expect((await send('UNLOCK', '/doc.txt', { headers: { 'Lock-Token': `<${token}>` } })).status).toBe(204);
    expect((await put('/doc.txt', 'y')).status).toBe(204);
  });

  it('400 without the header or with a token not in angle brackets', async () => {
    await put('/doc.txt', 'x');
    const { token } = await lock('/doc.txt');
    for (const value of [undefined, token, `<${token}`, '<>', '< urn:uuid:x>', '<not a uri>', `<${token}> <${token}>`]) {
      const headers: Record<string, string> = value === undefined ? {} : { 'Lock-Token': value };
      expect((await send('UNLOCK', '/doc.txt', { headers })).status, String(value)).toBe(400);
    }
    expect(await locks.size()).toBe(1);
  });

  it('409 lock-token-matches-request-uri for an unknown token or another resource’s lock', async () => {
    await put('/doc.txt', 'x');
    await put('/other.txt', 'x');
    const { token } = await lock('/other.txt');
    for (const t of ['opaquelocktoken:foobar', token]) {
      const reply = await send('UNLOCK', '/doc.txt', { headers: { 'Lock-Token': `<${t}>` } });
      expect(reply.status).toBe(409);
      expect(find(parseXml(reply.body), 'lock-token-matches-request-uri')).toHaveLength(1);
    }
    expect(await locks.size()).toBe(1);
  });

  it('unlocks a collection lock from a member inside it', async () => {
    await send('MKCOL', '/folder');
    await put('/folder/a.txt', 'a');
    const { token } = await lock('/folder');
    expect((await send('UNLOCK', '/folder/a.txt', { headers: { 'Lock-Token': `<${token}>` } })).status).toBe(204);
    expect(await locks.size()).toBe(0);
  });
});

describe('writes against locks', () => {
  it('every write method without the token gets 423 lock-token-submitted naming the lock root', async () => {
    await put('/doc.txt', 'x');
    await put('/source.txt', 's');
    await lock('/doc.txt');
    const attempts: Array<[string, Send]> = [
      ['PUT', { body: 'y' }],
      ['DELETE', {}],
      ['MOVE', { headers: { Destination: '/moved.txt' } }],
      ['PROPPATCH', { body: '<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>' }],
    ];
    for (const [method, options] of attempts) {
      const reply = await send(method, '/doc.txt', options);
      expect(reply.status, method).toBe(423);
      const doc = parseXml(reply.body);
      expect(textContent(find(find(doc, 'lock-token-submitted')[0], 'href')[0]), method).toBe('/doc.txt');
    }
    expect((await send('COPY', '/source.txt', { headers: { Destination: '/doc.txt' } })).status).toBe(423);
    expect(await read('/doc.txt')).toBe('x');
  });

  it('a wrong token: If true through another list still gives 423; a false If gives 412', async () => {
    await put('/doc.txt', 'x');
    const { token } = await lock('/doc.txt');
    expect((await put('/doc.txt', 'y', { If: `(<${token}x>) (Not <DAV:no-lock>)` })).status).toBe(423);
    expect((await put('/doc.txt', 'y', { If: '(<DAV:no-lock>)' })).status).toBe(412);
    expect((await put('/doc.txt', 'y', { If: '(<DAV:no-lock' })).status).toBe(400);
    expect(await read('/doc.txt')).toBe('x');
  });

  it('the token with the current ETag passes; with a stale ETag → 412', async () => {
    await put('/doc.txt', 'x');
    const { token } = await lock('/doc.txt');
    const etag = (await send('HEAD', '/doc.txt')).headers.etag as string;
    expect(etag).toMatch(/^"/);
    expect((await put('/doc.txt', 'y', { If: `(<${token}> [${etag}])` })).status).toBe(204);
    expect((await put('/doc.txt', 'z', { If: `(<${token}> [${etag}])` })).status).toBe(412);
    expect(await read('/doc.txt')).toBe('y');
  });

  it('a depth-infinity collection lock guards members and new members', async () => {
    await send('MKCOL', '/folder');
    await put('/folder/a.txt', 'a');
    const { token } = await lock('/folder', { Depth: 'infinity' });
    expect((await put('/folder/a.txt', 'b')).status).toBe(423);
    expect((await put('/folder/new.txt', 'n')).status).toBe(423);
    expect((await send('MKCOL', '/folder/sub')).status).toBe(423);
    expect((await send('DELETE', '/folder')).status).toBe(423);
    // neon tags the lock root; Windows sends the token untagged: both work.
    expect((await put('/folder/a.txt', 'b', { If: `<http://127.0.0.1:${server.port}/folder/> (<${token}>)` })).status).toBe(204);
    expect((await put('/folder/new.txt', 'n', { If: `(<${token}>)` })).status).toBe(201);
    expect(await read('/folder/new.txt')).toBe('n');
  });

  it('deleting a folder with a locked member needs that member’s token', async () => {
    await send('MKCOL', '/folder');
    await put('/folder/a.txt', 'a');
    const { token } = await lock('/folder/a.txt');
    expect((await send('DELETE', '/folder')).status).toBe(423);
    expect((await send('DELETE', '/folder', { headers: { If: `</folder/a.txt> (<${token}>)` } })).status).toBe(204);
    expect(await locks.size()).toBe(0);
  });

  it('MOVE drops the source’s locks; COPY does not carry locks to the copy', async () => {
    await put('/doc.txt', 'x');
    const { token } = await lock('/doc.txt');
    expect((await send('COPY', '/doc.txt', { headers: { Destination: '/copy.txt' } })).status).toBe(201);
    expect(await locks.activeLocks('/copy.txt')).toEqual([]);
    expect((await send('MOVE', '/doc.txt', { headers: { Destination: '/moved.txt', If: `(<${token}>)` } })).status).toBe(201);
    expect(await locks.size()).toBe(0);
    expect((await put('/moved.txt', 'y')).status).toBe(204);
  });
});

describe('client sequences', () => {
  it('Windows: PUT 0 bytes, LOCK, PUT content with If, PROPPATCH Win32*, UNLOCK', async () => {
    expect((await put('/Report.docx', '')).status).toBe(201);
    const { reply, token } = await lock('/Report.docx', { Timeout: 'Second-3600' }, lockBody('exclusive', '<D:href>DOMAIN\\user</D:href>'));
    expect(reply.status).toBe(200);
    expect((await put('/Report.docx', 'content v1')).status).toBe(423);
    expect((await put('/Report.docx', 'content v1', { If: `(<${token}>)` })).status).toBe(204);
    const win32 =
      '<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop>' +
      '<Z:Win32CreationTime>Mon, 23 Nov 2026 12:00:00 GMT</Z:Win32CreationTime>' +
      '<Z:Win32LastAccessTime>Mon, 23 Nov 2026 12:00:01 GMT</Z:Win32LastAccessTime>' +
      '<Z:Win32LastModifiedTime>Mon, 23 Nov 2026 12:00:02 GMT</Z:Win32LastModifiedTime>' +
      '<Z:Win32FileAttributes>00000020</Z:Win32FileAttributes>' +
      '</D:prop></D:set></D:propertyupdate>';
    expect((await send('PROPPATCH', '/Report.docx', { body: win32 })).status).toBe(423);
    const patched = await send('PROPPATCH', '/Report.docx', { body: win32, headers: { If: `(<${token}>)` } });
    expect(patched.status).toBe(207);
    const statuses = find(parseXml(patched.body), 'status').map((s) => textContent(s));
    expect(statuses).toEqual(['HTTP/1.1 200 OK']);
    expect(find(find(parseXml(patched.body), 'propstat')[0], 'prop')[0].children).toHaveLength(4);
    expect((await send('UNLOCK', '/Report.docx', { headers: { 'Lock-Token': `<${token}>` } })).status).toBe(204);
    expect(await read('/Report.docx')).toBe('content v1');
    const props = await drive.getProperties('/Report.docx');
    expect(props.map((p) => p.name).sort()).toEqual(['Win32CreationTime', 'Win32FileAttributes', 'Win32LastAccessTime', 'Win32LastModifiedTime']);
    expect((await put('/Report.docx', 'content v2')).status).toBe(204);
  });

  it('Finder: LOCK a new name (201), chunked PUT with X-Expected-Entity-Length, ._ file, UNLOCK', async () => {
    await send('MKCOL', '/Photos');
    const { reply, token } = await lock('/Photos/IMG_0001.jpg', { Depth: '0', Timeout: 'Second-600' });
    expect(reply.status).toBe(201);
    const content = Buffer.alloc(200_000, 7);
    const chunks = [content.subarray(0, 65_536), content.subarray(65_536, 131_072), content.subarray(131_072)];
    const denied = await send('PUT', '/Photos/IMG_0001.jpg', { chunks, headers: { 'X-Expected-Entity-Length': String(content.length) } });
    expect(denied.status).toBe(423);
    const stored = await send('PUT', '/Photos/IMG_0001.jpg', {
      chunks,
      headers: { 'X-Expected-Entity-Length': String(content.length), If: `(<${token}>)` },
    });
    expect(stored.status).toBe(204);
    expect((await put('/Photos/._IMG_0001.jpg', 'apple double')).status).toBe(201);
    expect((await put('/Photos/.DS_Store', 'ds')).status).toBe(201);
    expect((await send('UNLOCK', '/Photos/IMG_0001.jpg', { headers: { 'Lock-Token': `<${token}>` } })).status).toBe(204);
    const entry = await drive.stat('/Photos/IMG_0001.jpg');
    expect(entry.size).toBe(content.length);
    const body = await send('GET', '/Photos/IMG_0001.jpg');
    expect(Buffer.from(body.body, 'latin1').length).toBeGreaterThan(0);
    expect((await drive.list('/Photos')).map((e) => e.name).sort()).toEqual(['.DS_Store', '._IMG_0001.jpg', 'IMG_0001.jpg']);
  });
});

describe('without a lock manager', () => {
  it('LOCK and UNLOCK are not offered (class 1)', async () => {
    const plain = await startWebDavServer({ drive: new MemoryDrive(), logger });
    try {
      const reply = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port: plain.port, method: 'LOCK', path: '/x', headers: { 'Content-Length': '0' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      expect(reply).toBe(501);
    } finally {
      await plain.close();
    }
  });
});
