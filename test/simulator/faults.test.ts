import { request } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { api, endPlJson, getUploadServer, multipart, NO_LIMITS, raw, upload } from './helpers.js';

let sim: Simulator;
const SCALE = 1;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: 'fault-key', ...NO_LIMITS, timeScale: SCALE });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.clearFaults();
  sim.reset();
});

const names = async (folderId: number): Promise<string[]> =>
  (((await api(sim, 'file/ls.cgi', { folder_id: folderId })).json.items as Array<{ filename: string }> | undefined) ?? []).map((i) => i.filename);

describe('upload faults (§10 item 15)', () => {
  it('end.pl answers links: [] for the next N JSON polls, then the real links', async () => {
    sim.setFaults({ endPlNoLinks: 1 });
    const out = await upload(sim, 'nolinks.txt', 'x');
    expect(out.endPl!.json).toEqual({ incoming: 0, links: [] });
    const again = await endPlJson(sim, out.node);
    expect((again.json.links as unknown[]).length).toBe(1);
  });

  it('end.pl reports a wrong Whirlpool for the next N answers', async () => {
    sim.setFaults({ endPlWrongWhirlpool: 1 });
    const out = await upload(sim, 'corrupt.txt', 'x');
    const wrong = (out.endPl!.json.links as Array<{ whirlpool: string }>)[0].whirlpool;
    const right = ((await endPlJson(sim, out.node)).json.links as Array<{ whirlpool: string }>)[0].whirlpool;
    expect(wrong).toMatch(/^[0-9a-f]{128}$/);
    expect(wrong).not.toBe(right);
    expect(wrong.slice(1)).toBe(right.slice(1));
  });

  it('end.pl answers HTML instead of JSON for configured extensions', async () => {
    sim.setFaults({ endPlHtmlExtensions: ['exe', '.JAR'] });
    const exe = await upload(sim, 'setup.exe', 'MZ');
    expect(exe.endPl!.status).toBe(200);
    expect(exe.endPl!.headers.get('content-type')).toMatch(/text\/html/);
    expect(() => JSON.parse(exe.endPl!.text)).toThrow();
    const jar = await upload(sim, 'lib.jar', 'PK');
    expect(jar.endPl!.text).toMatch(/^<!DOCTYPE html>/);
    const txt = await upload(sim, 'fine.txt', 'ok');
    expect((txt.endPl!.json.links as unknown[]).length).toBe(1);
  });

  it('end.pl says "please wait" for the first N polls of an upload', async () => {
    sim.setFaults({ endPlPleaseWait: 2 });
    const out = await upload(sim, 'wait.txt', 'w');
    expect(out.endPl!.text).toContain('Veuillez patienter');
    expect((await endPlJson(sim, out.node)).text).toContain('Please wait');
    const third = await endPlJson(sim, out.node);
    expect((third.json.links as Array<{ filename: string }>)[0]!.filename).toBe('wait.txt');
  });

  it('refuses the next upload with "Ne peut ouvrir le fichier destination" and stores nothing', async () => {
    const f = await sim.addFolder({ name: 'refusals' });
    sim.setFaults({ uploadRefusals: 1 });
    const refused = await upload(sim, 'r.txt', 'r', { did: f });
    expect(refused.post.status).toBe(200);
    expect(refused.post.body.toString()).toContain('<div class="bloc2">Ne peut ouvrir le fichier destination</div>');
    expect(await names(f)).toEqual([]);
    const ok = await upload(sim, 'r.txt', 'r', { did: f });
    expect(ok.post.status).toBe(302);
  });

  it('delays the visibility of new files in listings (eventual consistency)', async () => {
    const f = await sim.addFolder({ name: 'slowlist' });
    sim.setFaults({ listingDelayMs: 600_000 });
    const out = await upload(sim, 'later.txt', 'l', { did: f });
    const url = (out.endPl!.json.links as Array<{ download: string }>)[0]!.download;
    expect(await names(f)).toEqual([]);
    expect((await api(sim, 'folder/ls.cgi', { folder_id: f, files: 1 })).json.files).toBe(0);
    // The file exists (file/info works, the folder cannot be removed); listings catch up later.
    expect((await api(sim, 'file/info.cgi', { url })).status).toBe(200);
    expect((await api(sim, 'folder/rm.cgi', { folder_id: f })).json.status).toBe('KO');
    sim.advanceClock(600_000 * SCALE + 1);
    expect(await names(f)).toEqual(['later.txt']);
  });

  it('keeps deleted files in listings for a while, and counts them in folder/rm', async () => {
    const f = await sim.addFolder({ name: 'linger' });
    const url = await sim.addFile({ folderId: f, name: 'ghost.txt', content: 'g' });
    sim.setFaults({ deleteLingerMs: 600_000 });
    expect((await api(sim, 'file/rm.cgi', { files: [{ url }] })).json.removed).toBe(1);
    expect(await names(f)).toEqual(['ghost.txt']);
    expect((await api(sim, 'file/info.cgi', { url })).status).toBe(404);
    expect((await api(sim, 'folder/rm.cgi', { folder_id: f })).json.status).toBe('KO');
    sim.advanceClock(600_000 * SCALE + 1);
    expect(await names(f)).toEqual([]);
    expect((await api(sim, 'folder/rm.cgi', { folder_id: f })).json.status).toBe('OK');
  });
});

describe('transport faults on any host', () => {
  it('answers 5xx for the next N requests to one endpoint only', async () => {
    sim.setFaults({ failures: [{ host: 'api', endpoint: 'folder/ls.cgi', count: 2, status: 502 }] });
    expect((await api(sim, 'file/ls.cgi', { folder_id: 0 })).status).toBe(200);
    const a = await api(sim, 'folder/ls.cgi', {});
    expect(a.status).toBe(502);
    expect(a.headers.get('content-type')).toMatch(/text\/html/);
    expect((await api(sim, 'folder/ls.cgi', {})).status).toBe(502);
    expect((await api(sim, 'folder/ls.cgi', {})).status).toBe(200);
    expect(sim.stats().outcomes['folder/ls.cgi']).toEqual({ fault: 2, OK: 1 });
  });

  it('answers a forced flood refusal for the next N requests to one endpoint', async () => {
    sim.setFaults({ failures: [{ host: 'api', endpoint: 'file/rename.cgi', count: 1, flood: true }] });
    const flooded = await api(sim, 'file/rename.cgi', { urls: [] });
    expect(flooded.status).toBe(403);
    expect(flooded.json).toMatchObject({ status: 'KO', message: 'Flood detected: IP Locked #374' });
    expect(sim.stats().floods).toBe(1);
    expect((await api(sim, 'file/rename.cgi', { urls: [] })).status).not.toBe(403);
  });

  it('drops connections on the upload node and the download host', async () => {
    sim.setFaults({ failures: [{ host: 'upload', endpoint: 'upload.cgi', drop: true }] });
    const node = await getUploadServer(sim);
    const mp = multipart([{ name: 'file[]', filename: 'd.txt', data: 'd' }]);
    await expect(raw(`http://${node.url}/upload.cgi?id=${node.id}`, { method: 'POST', headers: { 'content-type': mp.contentType }, body: mp.body })).rejects.toThrow();
    const url = await sim.addFile({ name: 'dl.txt', content: 'download' });
    const link = (await api(sim, 'download/get_token.cgi', { url })).json.url as string;
    sim.setFaults({ failures: [{ host: 'download', drop: true, count: 1 }] });
    await expect(raw(link)).rejects.toThrow();
    expect((await raw(link)).body.toString()).toBe('download');
    expect(sim.stats().outcomes.download).toMatchObject({ dropped: 1, data: 1 });
  });

  it('cuts a download after N bytes', async () => {
    const url = await sim.addFile({ name: 'cut.bin', synthetic: { size: 4 * 2 ** 20, seed: 5 } });
    const link = (await api(sim, 'download/get_token.cgi', { url })).json.url as string;
    sim.setFaults({ cutDownload: { bytes: 100_000, count: 1 } });
    const got = await new Promise<{ bytes: number; error: boolean }>((resolve) => {
      let bytes = 0;
      const req = request(link, { agent: false }, (res) => {
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () => resolve({ bytes, error: false }));
        res.on('error', () => resolve({ bytes, error: true }));
        res.on('aborted', () => resolve({ bytes, error: true }));
      });
      req.on('error', () => resolve({ bytes, error: true }));
      req.end();
    });
    expect(got.error).toBe(true);
    expect(got.bytes).toBe(100_000);
    // The next download is whole, and a resume with Range gets the rest.
    const rest = await raw(link, { headers: { range: 'bytes=100000-' } });
    expect(rest.status).toBe(206);
    expect(rest.body.length).toBe(4 * 2 ** 20 - 100_000);
  });

  it('slows responses down by the configured delay', async () => {
    sim.setFaults({ slow: [{ host: 'api', endpoint: 'remote/ls.cgi', delayMs: 150, count: 1 }] });
    await api(sim, 'remote/ls.cgi', {});
    await api(sim, 'remote/ls.cgi', {});
    const log = sim.log().filter((e) => e.endpoint === 'remote/ls.cgi');
    expect(log).toHaveLength(2);
    expect(log[0]!.durationMs).toBeGreaterThanOrEqual(140);
  });

  it('switches faults over HTTP and validates them', async () => {
    const set = await fetch(`${sim.apiOrigin}/__sim/faults`, { method: 'POST', body: JSON.stringify({ uploadRefusals: 2 }) });
    expect(await set.json()).toEqual({ uploadRefusals: 2 });
    const bad = await fetch(`${sim.apiOrigin}/__sim/faults`, { method: 'POST', body: JSON.stringify({ nope: 1 }) });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toContain('nope');
    const cleared = await fetch(`${sim.apiOrigin}/__sim/faults`, { method: 'POST', body: JSON.stringify({ clear: true }) });
    expect(await cleared.json()).toEqual({});
    const off = await fetch(`${sim.apiOrigin}/__sim/faults`, { method: 'POST', body: JSON.stringify({ endPlNoLinks: 3 }) });
    expect(await off.json()).toEqual({ endPlNoLinks: 3 });
    expect(sim.faults()).toEqual({ endPlNoLinks: 3 });
    await fetch(`${sim.apiOrigin}/__sim/faults`, { method: 'POST', body: JSON.stringify({ endPlNoLinks: null }) });
    expect(sim.faults()).toEqual({});
  });
});
