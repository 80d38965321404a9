/**
 * Input limits and slow clients against the bridge over the simulator: path and name lengths,
 * a slowloris head, the connection cap, and HTTPS.
 */
import https from 'node:https';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_CERT, TEST_KEY } from '../simulator/tls-fixture.js';
import { assertAlive, rawExchange, startHardStack, type HardStack } from './helpers.js';

describe('path and name lengths', () => {
  let s: HardStack;
  beforeAll(async () => {
    s = await startHardStack();
    await s.sim.addFolder({ name: 'dir' });
  });
  afterAll(() => s?.close());

  it('a path over 4096 bytes → 414', async () => {
    const long = '/dir/' + Array.from({ length: 20 }, () => 'a'.repeat(240)).join('/');
    for (const method of ['GET', 'PROPFIND', 'PUT', 'MKCOL']) {
      const r = await s.req({ method, path: long, headers: { Depth: '0' }, body: method === 'PUT' ? 'x' : undefined });
      expect(r.status, method).toBe(414);
    }
    // The same in percent-encoded multibyte characters (bytes counted, not escapes).
    const encoded = '/dir/' + encodeURIComponent('é'.repeat(2100));
    expect((await s.req({ path: encoded })).status).toBe(414);
    await assertAlive(s, '/dir/');
  });

  it('a name over 250 characters → 400 naming the limit, for PUT (empty or not), MKCOL, MOVE and COPY; nothing stored', async () => {
    const name = 'n'.repeat(251);
    const put = await s.req({ method: 'PUT', path: `/dir/${name}`, body: 'data' });
    expect(put.status).toBe(400);
    expect(put.text).toMatch(/250 characters/);
    const empty = await s.req({ method: 'PUT', path: `/dir/${name}.txt`, body: '' });
    expect(empty.status).toBe(400);
    const mkcol = await s.req({ method: 'MKCOL', path: `/dir/${name}` });
    expect(mkcol.status).toBe(400);
    expect(mkcol.text).toMatch(/250 characters/);
    expect((await s.req({ method: 'PUT', path: '/dir/short.txt', body: 'short' })).status).toBe(201);
    for (const method of ['MOVE', 'COPY']) {
      const r = await s.req({ method, path: '/dir/short.txt', headers: { Destination: `/dir/${name}` } });
      expect(r.status, method).toBe(400);
    }
    const list = await assertAlive(s, '/dir/');
    expect(list.text).toContain('short.txt');
    expect(list.text).not.toContain('nnnnnnnnnn');
    // 250 characters exactly is fine, also with multibyte characters.
    expect((await s.req({ method: 'PUT', path: `/dir/${encodeURIComponent('é'.repeat(250))}`, body: 'ok' })).status).toBe(201);
  });
});

describe('slow and greedy clients', () => {
  let s: HardStack;
  beforeAll(async () => {
    s = await startHardStack({}, { limits: { headersTimeoutMs: 600, maxConnections: 6 } });
  });
  afterAll(() => s?.close());

  it('a head sent byte by byte forever is cut (slowloris), and the server keeps serving', async () => {
    const outcome = await new Promise<{ closed: boolean; data: string }>((resolve) => {
      const socket = net.connect(s.port, '127.0.0.1');
      let data = '';
      let timer: NodeJS.Timeout | undefined;
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => (data += chunk));
      socket.on('connect', () => {
        socket.write('PROPFIND / HTTP/1.1\r\nHost: x\r\nX-Slow: ');
        timer = setInterval(() => socket.write('a'), 50);
      });
      const finish = () => {
        clearInterval(timer);
        resolve({ closed: true, data });
      };
      socket.on('close', finish);
      socket.on('error', () => {});
    });
    expect(outcome.closed).toBe(true);
    expect(outcome.data === '' || /^HTTP\/1\.1 408/.test(outcome.data)).toBe(true);
    await assertAlive(s);
  });

  it('connections beyond the cap get a plain 503 at once; the server serves again when they go', async () => {
    // Connections that got past authentication (here: answered a request) hold their slots;
    // idle connections that never did are closed to make room instead (connection-exhaustion.test.ts).
    const held: net.Socket[] = [];
    for (let i = 0; i < 6; i++) {
      held.push(
        await new Promise<net.Socket>((resolve, reject) => {
          const socket = net.connect(s.port, '127.0.0.1', () => socket.write('PROPFIND / HTTP/1.1\r\nHost: x\r\nDepth: 0\r\n\r\n'));
          socket.once('data', () => resolve(socket));
          socket.on('error', reject);
        }),
      );
    }
    // Let the server register the held connections.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const refused = await rawExchange(s.port, 'PROPFIND / HTTP/1.1\r\nHost: x\r\nDepth: 0\r\n\r\n');
    expect(refused).toMatch(/^HTTP\/1\.1 503/);
    expect(refused).toMatch(/Too many connections/);
    expect(refused).toMatch(/Retry-After: 5/i);
    for (const socket of held) socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    await assertAlive(s);
    expect(s.log.lines.some((line) => line.includes('too many connections'))).toBe(true);
  });
});

describe('idle connections', () => {
  let s: HardStack;
  beforeAll(async () => {
    s = await startHardStack({}, { limits: { idleTimeoutMs: 400, headersTimeoutMs: 30_000, keepAliveTimeoutMs: 30_000 } });
    await s.sim.addFolder({ name: 'up' });
  });
  afterAll(() => s?.close());

  function closedBy(socket: net.Socket): Promise<string> {
    return new Promise((resolve) => {
      let data = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => (data += chunk));
      socket.on('error', () => {});
      socket.on('close', () => resolve(data));
    });
  }

  it('a connection that never sends a request is closed', async () => {
    const socket = net.connect(s.port, '127.0.0.1');
    expect(await closedBy(socket)).toBe('');
  });

  it('an upload whose body stops coming is cut, and nothing is stored', async () => {
    const socket = net.connect(s.port, '127.0.0.1', () => {
      socket.write('PUT /up/stalled.bin HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n');
      socket.write(Buffer.alloc(20_000, 1));
    });
    await closedBy(socket);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const list = await assertAlive(s, '/up/');
    expect(list.text).not.toContain('stalled.bin');
  });

  it('a client waiting for us (1fichier slow to confirm an upload) is not cut', async () => {
    s.sim.setFaults({ slow: [{ host: 'upload', endpoint: 'end.pl', delayMs: 1_200, count: 1 }] });
    const r = await s.req({ method: 'PUT', path: '/up/patient.bin', body: Buffer.alloc(30_000, 2) });
    expect(r.status).toBe(201);
    expect((await s.req({ path: '/up/patient.bin' })).body.equals(Buffer.alloc(30_000, 2))).toBe(true);
  });
});

describe('HTTPS', () => {
  let s: HardStack;
  const auth = { user: 'win', password: 'Basic over TLS' };
  beforeAll(async () => {
    s = await startHardStack({}, { tls: { cert: TEST_CERT, key: TEST_KEY }, auth: { users: [auth] } });
    const folder = await s.sim.addFolder({ name: 'secure' });
    await s.sim.addFile({ folderId: folder, name: 'doc.txt', content: 'over tls' });
  });
  afterAll(() => s?.close());

  it('serves WebDAV over TLS with the certificate, Basic auth included', async () => {
    expect(s.bridge.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await s.req({ method: 'PROPFIND', path: '/secure/', headers: { Depth: '1' } })).status).toBe(401);
    const list = await s.req({ method: 'PROPFIND', path: '/secure/', headers: { Depth: '1' }, auth });
    expect(list.status).toBe(207);
    expect(list.text).toContain('doc.txt');
    expect((await s.req({ path: '/secure/doc.txt', auth })).text).toBe('over tls');
    // The certificate presented is the one given (a client pinning it as its CA connects).
    const pinned = await new Promise<number>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: s.port, method: 'OPTIONS', path: '/', ca: TEST_CERT, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(pinned).toBe(200);
  });

  it('plain HTTP on the TLS port gets nothing usable', async () => {
    const answer = await rawExchange(s.port, 'OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n', 2_000);
    expect(answer).not.toMatch(/^HTTP\/1\.1 200/);
  });
});
