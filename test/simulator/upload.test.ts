import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { api, endPlJson, getUploadServer, multipart, NO_LIMITS, raw, sleep, upload, whirlpoolHex } from './helpers.js';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: 'up-key', ...NO_LIMITS });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.clearFaults();
  sim.reset();
});

function links(r: { json: Record<string, unknown> }): Array<Record<string, string>> {
  return r.json.links as Array<Record<string, string>>;
}

describe('get_upload_server.cgi', () => {
  it('answers a bare host and a fresh 10-char id per call, without a status key, by GET or POST', async () => {
    const a = await api(sim, 'upload/get_upload_server.cgi', undefined, { method: 'GET' });
    const b = await api(sim, 'upload/get_upload_server.cgi', { pretty: 1 });
    for (const r of [a, b]) {
      expect(r.status).toBe(200);
      expect(Object.keys(r.json).sort()).toEqual(['id', 'url']);
      expect(r.json.url).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(r.json.id).toMatch(/^[A-Za-z0-9]{10}$/);
    }
    expect(a.json.id).not.toBe(b.json.id);
    // Round-robin over two separately routable nodes, none of them the API host.
    expect(a.json.url).not.toBe(b.json.url);
    expect(sim.uploadHosts).toContain(a.json.url);
    expect(sim.apiOrigin).not.toContain(a.json.url as string);
    expect(b.text).toContain('\n'); // pretty:1
  });

  it('works without any key (anonymous node), but still needs the JSON content type', async () => {
    const r = await api(sim, 'upload/get_upload_server.cgi', undefined, { method: 'GET', key: null });
    expect(r.status).toBe(200);
    expect(r.json.id).toMatch(/^[A-Za-z0-9]{10}$/);
    const bad = await api(sim, 'upload/get_upload_server.cgi', undefined, { method: 'GET', contentType: null });
    expect(bad.json).toEqual({ status: 'KO', message: 'Content-Type not JSON #24' });
  });
});

describe('upload.cgi and end.pl', () => {
  it('stores the part, answers 302 to a relative end.pl, and reports size as a string with the real whirlpool', async () => {
    const data = Buffer.from('hello 1fichier, with accents: é à ç\n');
    const folder = await sim.addFolder({ name: `up-${Date.now()}` });
    const out = await upload(sim, 'Résumé été.txt', data, { did: folder });
    expect(out.post.status).toBe(302);
    expect(out.post.headers.location).toBe(`/end.pl?xid=${out.node.id}`);
    expect(out.post.headers['content-type']).toMatch(/text\/html/);
    expect(out.endPl!.status).toBe(200);
    expect(out.endPl!.json.incoming).toBe(0);
    const [link] = links(out.endPl!);
    expect(link!.filename).toBe('Résumé été.txt');
    expect(link!.size).toBe(String(data.length));
    expect(typeof link!.size).toBe('string');
    expect(link!.whirlpool).toBe(await whirlpoolHex(data));
    expect(link!.whirlpool).toMatch(/^[0-9a-f]{128}$/);
    expect(link!.download).toMatch(/^https:\/\/1fichier\.com\/\?[a-z0-9]{20}$/);
    expect(link!.remove).toBe('');

    const ls = await api(sim, 'file/ls.cgi', { folder_id: folder });
    const items = ls.json.items as Array<Record<string, unknown>>;
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ url: link!.download, filename: 'Résumé été.txt', size: data.length, checksum: link!.whirlpool });
    const chunks: Buffer[] = [];
    for await (const c of sim.contentOf(link!.download)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it('computes the whirlpool of a multi-MiB upload streamed to disk', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 11);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31 + (i >> 10)) & 255;
    const out = await upload(sim, 'big.bin', data);
    const [link] = links(out.endPl!);
    expect(link!.size).toBe(String(data.length));
    expect(link!.whirlpool).toBe(await whirlpoolHex(data));
    expect(sim.stats().bytesReceived).toBeGreaterThanOrEqual(data.length);
  });

  it('serves end.pl repeatedly (HTML without the JSON header, JSON with it, or with ?JSON=1)', async () => {
    const out = await upload(sim, 'twice.txt', 'twice');
    const html = await raw(`http://${out.node.url}/end.pl?xid=${out.node.id}`);
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toMatch(/text\/html/);
    expect(html.body.toString()).toContain('<table class="premium">');
    expect(html.body.toString()).toContain('twice.txt');
    const again = await endPlJson(sim, out.node);
    expect(links(again)[0]!.filename).toBe('twice.txt');
    const query = await fetch(`http://${out.node.url}/end.pl?xid=${out.node.id}&JSON=1`);
    expect(((await query.json()) as { links: unknown[] }).links).toHaveLength(1);
    expect(sim.stats().calls['end.pl']).toBe(4);
  });

  it('expires the end.pl report after its lifetime (2 h)', async () => {
    const out = await upload(sim, 'expires.txt', 'x');
    sim.advanceClock(2 * 3600 * 1000 + 5);
    const r = await endPlJson(sim, out.node);
    expect(r.headers.get('content-type')).toMatch(/text\/html/);
    expect(r.text).toContain('introuvable');
  });

  it('refuses end.pl on the wrong node', async () => {
    const out = await upload(sim, 'node.txt', 'x');
    const other = sim.uploadHosts.find((h) => h !== out.node.url)!;
    const r = await endPlJson(sim, out.node, other);
    expect(r.headers.get('content-type')).toMatch(/text\/html/);
    expect(r.json).toEqual({});
  });

  it('refuses upload.cgi on the wrong node, on the API host, and with a reused id', async () => {
    const node = await getUploadServer(sim);
    const mp = multipart([{ name: 'file[]', filename: 'a.txt', data: 'abc' }]);
    const headers = { 'content-type': mp.contentType, authorization: `Bearer ${sim.apiKey}` };
    const other = sim.uploadHosts.find((h) => h !== node.url)!;
    const wrong = await raw(`http://${other}/upload.cgi?id=${node.id}`, { method: 'POST', headers, body: mp.body });
    expect(wrong.status).toBe(200);
    expect(wrong.body.toString()).toMatch(/<div class="bloc2">[^<]*inconnu/);
    const onApi = await raw(`${sim.apiOrigin}/upload.cgi?id=${node.id}`, { method: 'POST', headers, body: mp.body });
    expect(onApi.status).toBe(404);
    const ok = await raw(`http://${node.url}/upload.cgi?id=${node.id}`, { method: 'POST', headers, body: mp.body });
    expect(ok.status).toBe(302);
    const reused = await raw(`http://${node.url}/upload.cgi?id=${node.id}`, { method: 'POST', headers, body: mp.body });
    expect(reused.status).toBe(200);
    expect(reused.body.toString()).toContain('bloc2');
    const unknown = await raw(`http://${node.url}/upload.cgi?id=ZZZZZZZZZZ`, { method: 'POST', headers, body: mp.body });
    expect(unknown.body.toString()).toContain('bloc2');
  });

  it('answers "Pas de fichier trouvé dans l\'envoi" when no file[] part is sent', async () => {
    const node = await getUploadServer(sim);
    const mp = multipart([{ name: 'file', filename: 'wrong-field.txt', data: 'abc' }, { name: 'did', data: '0' }]);
    const r = await raw(`http://${node.url}/upload.cgi?id=${node.id}`, {
      method: 'POST',
      headers: { 'content-type': mp.contentType, authorization: `Bearer ${sim.apiKey}` },
      body: mp.body,
    });
    expect(r.status).toBe(200);
    expect(r.body.toString()).toContain(`<div class="bloc2">Pas de fichier trouvé dans l&#39;envoi</div>`);
  });

  it('refuses a chunked upload (Content-Length is required)', async () => {
    const node = await getUploadServer(sim);
    const mp = multipart([{ name: 'file[]', filename: 'chunked.txt', data: 'abc' }]);
    const r = await raw(`http://${node.url}/upload.cgi?id=${node.id}`, {
      method: 'POST',
      headers: { 'content-type': mp.contentType, authorization: `Bearer ${sim.apiKey}` },
      body: mp.body,
      chunked: true,
    });
    expect(r.status).toBe(411);
    expect(r.headers['content-type']).toMatch(/text\/html/);
    const ls = await api(sim, 'file/ls.cgi', { folder_id: 0 });
    expect(JSON.stringify(ls.json)).not.toContain('chunked.txt');
  });

  it('silently stores in the root when did is invalid', async () => {
    const out = await upload(sim, 'lost-did.txt', 'x', { did: 987654321 });
    expect(out.post.status).toBe(302);
    const url = links(out.endPl!)[0]!.download;
    const info = await api(sim, 'file/info.cgi', { url });
    expect(info.json.folder_id).toBe(0);
  });

  it('keeps anonymous uploads out of the account (removal link, not listed)', async () => {
    const out = await upload(sim, 'anon.txt', 'x', { key: null });
    const link = links(out.endPl!)[0]!;
    expect(link.remove).not.toBe('');
    const all = await api(sim, 'file/ls.cgi', { folder_id: 0 });
    expect(JSON.stringify(all.json)).not.toContain(link.download);
    expect((await api(sim, 'file/info.cgi', { url: link.download })).status).toBe(404);
  });

  it('stores a sanitised name different from a part filename with forbidden characters', async () => {
    const out = await upload(sim, ` bad"name'<$>.txt `, 'x');
    const link = links(out.endPl!)[0]!;
    expect(link.filename).toBe('badname.txt');
    // Full-width look-alikes round-trip unchanged.
    const fw = await upload(sim, '␠＂＇＄＜＞＼｀／␠.txt', 'y');
    expect(links(fw.endPl!)[0]!.filename).toBe('␠＂＇＄＜＞＼｀／␠.txt');
  });

  it('refuses a 0-byte file', async () => {
    const out = await upload(sim, 'empty.txt', Buffer.alloc(0));
    expect(out.post.status).toBe(200);
    expect(out.post.body.toString()).toContain('Pas de fichier trouvé');
  });

  it('stores duplicates: two uploads of one name give two files, never an overwrite', async () => {
    const folder = await sim.addFolder({ name: `dup-${Date.now()}` });
    const a = await upload(sim, 'same.txt', 'first', { did: folder });
    const b = await upload(sim, 'same.txt', 'second!', { did: folder });
    const urlA = links(a.endPl!)[0]!.download;
    const urlB = links(b.endPl!)[0]!.download;
    expect(urlA).not.toBe(urlB);
    const ls = await api(sim, 'folder/ls.cgi', { folder_id: folder, files: 1 });
    const items = ls.json.items as Array<Record<string, unknown>>;
    expect(items.map((i) => i.filename)).toEqual(['same.txt', 'same.txt']);
    expect(items.map((i) => i.size).sort()).toEqual([5, 7]);
  });

  it('refuses a file above maxFileSize (300 GB by default) with an HTML page', async () => {
    sim.setOptions({ maxFileSize: 1000 });
    try {
      const out = await upload(sim, 'too-big.bin', Buffer.alloc(5000, 1));
      expect(out.post.status).toBe(200);
      expect(out.post.body.toString()).toContain('<div class="bloc2">Fichier trop volumineux</div>');
      expect(out.endPl).toBeUndefined();
    } finally {
      sim.setOptions({ maxFileSize: 300e9 });
    }
    expect((await upload(sim, 'ok-now.bin', Buffer.alloc(5000, 1))).post.status).toBe(302);
  });

  it('stores every file[] part of a multi-file upload and lists them all in end.pl', async () => {
    const out = await upload(sim, 'one.txt', '1', { extraParts: [{ name: 'file[]', filename: 'two.txt', data: '22' }] });
    expect(links(out.endPl!).map((l) => [l.filename, l.size])).toEqual([['one.txt', '1'], ['two.txt', '2']]);
  });

  it('cleans up after a client that goes away mid-upload, and keeps serving', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sim-abort-'));
    const local = await startSimulator({ apiKey: 'abort-key', ...NO_LIMITS, dataDir: dir });
    try {
      const node = await getUploadServer(local);
      const [host, port] = node.url.split(':');
      const sock = connect(Number(port), host);
      await new Promise((r) => sock.on('connect', r));
      const b = 'XXB';
      sock.write(
        `POST /upload.cgi?id=${node.id} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer abort-key\r\n` +
          `Content-Type: multipart/form-data; boundary=${b}\r\nContent-Length: 10000000\r\n\r\n` +
          `--${b}\r\nContent-Disposition: form-data; name="file[]"; filename="a.bin"\r\n\r\n` + 'z'.repeat(100_000),
      );
      for (let i = 0; i < 100 && readdirSync(dir).length === 0; i++) await sleep(10);
      expect(readdirSync(dir)).toHaveLength(1);
      sock.destroy();
      for (let i = 0; i < 100 && readdirSync(dir).length > 0; i++) await sleep(10);
      expect(readdirSync(dir)).toEqual([]);
      expect((await upload(local, 'after.txt', 'fine')).post.status).toBe(302);
    } finally {
      await local.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
