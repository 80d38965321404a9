import { createServer, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { api, NO_LIMITS, raw, sleep, upload, whirlpoolHex } from './helpers.js';
import { TEST_CERT, TEST_KEY } from './tls-fixture.js';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: 'ctl-key', ...NO_LIMITS });
});
afterAll(async () => {
  await sim.close();
});

describe('stats and request log (§10 item 30)', () => {
  it('counts calls per endpoint, outcomes, bytes, and logs method/path/host/status/time without the key', async () => {
    await fetch(`${sim.apiOrigin}/__sim/reset`, { method: 'POST' });
    await api(sim, 'folder/ls.cgi', { folder_id: 0 });
    await api(sim, 'folder/ls.cgi', { folder_id: 0 }, { contentType: null });
    const out = await upload(sim, 'stat.txt', 'stat bytes');
    const url = (out.endPl!.json.links as Array<{ download: string }>)[0]!.download;
    const link = (await api(sim, 'download/get_token.cgi', { url })).json.url as string;
    await raw(link);

    const stats = (await (await fetch(`${sim.apiOrigin}/__sim/stats`)).json()) as Record<string, unknown>;
    expect(stats.calls).toEqual({ 'folder/ls.cgi': 2, 'upload/get_upload_server.cgi': 1, 'upload.cgi': 1, 'end.pl': 1, 'download/get_token.cgi': 1, download: 1 });
    expect((stats.outcomes as Record<string, unknown>)['folder/ls.cgi']).toEqual({ OK: 1, KO: 1 });
    expect((stats.outcomes as Record<string, unknown>)['upload.cgi']).toEqual({ redirect: 1 });
    expect((stats.statuses as Record<string, unknown>)['folder/ls.cgi']).toEqual({ '200': 1, '400': 1 });
    expect(stats).toMatchObject({ floods: 0, downloadRequests: 1, bytesServed: 10, uploads: 1, peakConcurrentDownloads: 1, concurrentDownloads: 0 });
    expect(stats.bytesReceived as number).toBeGreaterThan(10);

    const log = (await (await fetch(`${sim.apiOrigin}/__sim/log`)).json()) as Array<Record<string, unknown>>;
    expect(log.map((e) => `${e.host} ${e.method} ${e.endpoint} ${e.status}`)).toEqual([
      'api POST folder/ls.cgi 200',
      'api POST folder/ls.cgi 400',
      'api GET upload/get_upload_server.cgi 200',
      'upload POST upload.cgi 302',
      'upload GET end.pl 200',
      'api POST download/get_token.cgi 200',
      'download GET download 200',
    ]);
    expect(log[0]).toMatchObject({ path: '/v1/folder/ls.cgi', body: { folder_id: 0 }, auth: true, outcome: 'OK' });
    expect(log[1]).toMatchObject({ outcome: 'KO', message: 'Content-Type not JSON #24' });
    expect(log[4]!.headers).toMatchObject({ json: '1' });
    expect(typeof log[0]!.ms).toBe('number');
    expect(new Date(log[0]!.time as string).getTime()).toBe(log[0]!.ms);
    expect(JSON.stringify(log)).not.toContain('ctl-key');
    expect(JSON.stringify(await (await fetch(`${sim.apiOrigin}/__sim/options`)).json())).not.toContain('ctl-key');
    // Control calls are not counted.
    expect(sim.stats().calls['__sim']).toBeUndefined();
    sim.reset();
    expect(sim.stats().calls).toEqual({});
    expect(sim.log()).toEqual([]);
  });

  it('changes options over HTTP and rejects unknown or start-up-only ones', async () => {
    const r = await fetch(`${sim.apiOrigin}/__sim/options`, { method: 'POST', body: JSON.stringify({ floodCode: 412, listingOrder: 'newest-first' }) });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ floodCode: 412, listingOrder: 'newest-first' });
    expect(sim.options().floodCode).toBe(412);
    for (const bad of [{ nope: 1 }, { port: 5 }, { floodCode: 999 }, { timeScale: 0 }, { ratePerSecond: 'fast' }]) {
      const b = await fetch(`${sim.apiOrigin}/__sim/options`, { method: 'POST', body: JSON.stringify(bad) });
      expect(b.status, JSON.stringify(bad)).toBe(400);
    }
    sim.setOptions({ floodCode: 374, listingOrder: 'hashed' });
    expect(() => sim.setOptions({ nameMode: 'loose' as never })).toThrow(/nameMode/);
  });
});

describe('remote upload (§4.17)', () => {
  let origin: Server;
  let originUrl: string;
  const payload = Buffer.from('remote payload, fetched from loopback only');

  beforeAll(async () => {
    origin = createServer((req, res) => {
      if (req.url === '/file.bin') {
        res.writeHead(200, { 'content-disposition': "attachment; filename*=UTF-8''r%C3%A9mote.bin" });
        res.end(payload);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
    originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => origin.close(() => r()));
  });

  it('fetches loopback URLs into the account and records a failure for anything else', async () => {
    const folder = await sim.addFolder({ name: 'remote' });
    const req = await api(sim, 'remote/request.cgi', { urls: [`${originUrl}/file.bin`, 'http://example.com/x.bin', `${originUrl}/missing`], folder_id: folder, headers: { 'X-Test': '1' } });
    expect(req.json).toMatchObject({ status: 'OK', id: expect.any(Number), urls: expect.any(Array) });
    const id = req.json.id as number;
    let info = await api(sim, 'remote/info.cgi', { id });
    for (let i = 0; i < 100 && info.json.execution_date === ''; i++) {
      await sleep(10);
      info = await api(sim, 'remote/info.cgi', { id });
    }
    expect(info.json.execution_date).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    const result = info.json.result as Array<Record<string, string>>;
    expect(result[0]).toMatchObject({ status: 'OK', url: `${originUrl}/file.bin` });
    expect(result[1]).toMatchObject({ status: 'KO', url: 'http://example.com/x.bin' });
    expect(result[1]!.message).toMatch(/loopback/);
    expect(result[2]!.status).toBe('KO');
    const file = await api(sim, 'file/info.cgi', { url: result[0]!.download_link });
    expect(file.json).toMatchObject({ filename: 'rémote.bin', size: payload.length, folder_id: folder, checksum: await whirlpoolHex(payload) });
    const ls = await api(sim, 'remote/ls.cgi', {});
    expect(ls.json.data).toEqual(expect.arrayContaining([expect.objectContaining({ id, request_date: expect.any(String) })]));
    expect((await api(sim, 'remote/info.cgi', { id: 1 })).status).toBe(404);
  });
});

describe('demo fixture and TLS', () => {
  it('serves the demo fixture over HTTPS on all three kinds of listener, with the public host in URLs', async () => {
    const tls = await startSimulator({ apiKey: 'tls-key', ...NO_LIMITS, fixture: 'demo', tlsCert: TEST_CERT, tlsKey: TEST_KEY, publicHost: 'localhost', uploadNodes: 3 });
    try {
      expect(tls.apiUrl).toMatch(/^https:\/\/localhost:\d+\/v1$/);
      expect(tls.uploadHosts).toHaveLength(3);
      expect(tls.uploadHosts[0]).toMatch(/^localhost:\d+$/);
      const call = (path: string, body: unknown, host = new URL(tls.apiUrl).port, method = 'POST'): Promise<{ status: number; text: string }> =>
        new Promise((resolve, reject) => {
          const req = httpsRequest(
            { host: '127.0.0.1', port: Number(host), path, method, ca: TEST_CERT, servername: undefined, checkServerIdentity: () => undefined, headers: { authorization: 'Bearer tls-key', 'content-type': 'application/json' } },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (c: string) => (text += c));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
            },
          );
          req.on('error', reject);
          req.end(method === 'POST' ? JSON.stringify(body) : undefined);
        });
      const root = JSON.parse((await call('/v1/folder/ls.cgi', { folder_id: 0, files: 1 })).text) as { name: string; sub_folders: Array<{ id: number; name: string }>; items: Array<{ filename: string }> };
      expect(root.name).toBe('Root');
      const folderNames = root.sub_folders.map((d) => d.name);
      expect(folderNames).toEqual(expect.arrayContaining(['Documents', 'Images', 'Vidéos', 'Rock ＆ Roll ＜live＞']));
      const docs = root.sub_folders.find((d) => d.name === 'Documents')!;
      const docList = JSON.parse((await call('/v1/file/ls.cgi', { folder_id: docs.id })).text) as { items: Array<{ filename: string }> };
      const docNames = docList.items.map((i) => i.filename);
      expect(docNames.filter((n) => n === 'rapport.txt')).toHaveLength(2);
      expect(docNames.some((n) => n.includes('＂') && n.includes('／'))).toBe(true);
      expect(docNames).toContain('␠espace autour␠.txt');
      const videos = root.sub_folders.find((d) => d.name === 'Vidéos')!;
      const vids = JSON.parse((await call('/v1/file/ls.cgi', { folder_id: videos.id })).text) as { items: Array<{ filename: string; size: number; url: string }> };
      const movie = vids.items.find((i) => i.filename.endsWith('.mkv'))!;
      expect(movie.size).toBeGreaterThan(4 * 2 ** 30);
      const token = JSON.parse((await call('/v1/download/get_token.cgi', { url: movie.url })).text) as { url: string };
      expect(token.url).toMatch(/^https:\/\/localhost:\d+\//);
      const u = new URL(token.url);
      const dl = await new Promise<{ status: number; range: string | undefined; len: number }>((resolve, reject) => {
        const req = httpsRequest({ host: '127.0.0.1', port: Number(u.port), path: u.pathname, ca: TEST_CERT, checkServerIdentity: () => undefined, headers: { range: 'bytes=0-1023' } }, (res) => {
          let len = 0;
          res.on('data', (c: Buffer) => (len += c.length));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, range: res.headers['content-range'], len }));
        });
        req.on('error', reject);
        req.end();
      });
      expect(dl).toEqual({ status: 206, range: `bytes 0-1023/${movie.size}`, len: 1024 });
      const node = JSON.parse((await call('/v1/upload/get_upload_server.cgi', undefined, new URL(tls.apiUrl).port, 'GET')).text) as { url: string; id: string };
      const endPl = await call(`/end.pl?xid=${node.id}`, undefined, node.url.split(':')[1], 'GET');
      expect(endPl.text).toContain('bloc2');
    } finally {
      await tls.close();
    }
  });
});
