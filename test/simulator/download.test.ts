import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { collect, SyntheticContent } from '../../src/simulator/content.js';
import { TRAILER_WHIRLPOOL } from '../../src/simulator/fixtures.js';
import { api, NO_LIMITS, raw } from './helpers.js';

let sim: Simulator;
// Real-size durations: windows are crossed with advanceClock, so a slow machine cannot expire a link early.
const SCALE = 1;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: 'dl-key', ...NO_LIMITS, timeScale: SCALE, maxConcurrentDownloads: 2 });
});
afterAll(async () => {
  await sim.close();
});
beforeEach(() => {
  sim.clearFaults();
  sim.reset();
});

async function token(url: string, extra: Record<string, unknown> = {}): Promise<string> {
  const r = await api(sim, 'download/get_token.cgi', { url, ...extra });
  expect(r.status).toBe(200);
  expect(r.json.status).toBe('OK');
  return r.json.url as string;
}

describe('download/get_token.cgi', () => {
  it('hands out a full URL on the download host', async () => {
    const url = await sim.addFile({ name: 'a.txt', content: 'abc' });
    const link = await token(url, { single: 1 });
    expect(link).toMatch(new RegExp(`^http://${sim.downloadHost.replace(/\./g, '\\.')}/[A-Za-z0-9_-]+$`));
  });

  it('answers 404 Resource not found #469 for an unknown file', async () => {
    const r = await api(sim, 'download/get_token.cgi', { url: 'https://1fichier.com/?aaaaaaaaaaaaaaaaaaaa' });
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ status: 'KO', message: 'Resource not found #469' });
  });

  it('asks for the password of a protected file', async () => {
    const url = await sim.addFile({ name: 'secret.txt', content: 'top', pass: 'sesame123' });
    const missing = await api(sim, 'download/get_token.cgi', { url });
    expect(missing.status).toBe(403);
    expect(missing.json.message).toMatch(/^Password not provided\. Resource not allowed #\d+$/);
    const wrong = await api(sim, 'download/get_token.cgi', { url, pass: 'nope' });
    expect(wrong.status).toBe(403);
    expect(wrong.json.message).toMatch(/^Invalid password\. Resource not allowed #\d+$/);
    const link = await token(url, { pass: 'sesame123' });
    expect((await raw(link)).body.toString()).toBe('top');
    // The request log keeps that a password was sent, never the password.
    expect(JSON.stringify(sim.log())).not.toContain('sesame123');
    expect(sim.log().filter((e) => e.endpoint === 'download/get_token.cgi').map((e) => (e.body as { pass?: string }).pass)).toEqual([undefined, '<redacted>', '<redacted>']);
  });
});

describe('download host', () => {
  it('serves the bytes with Content-Disposition filename*=UTF-8 and Accept-Ranges', async () => {
    const data = Buffer.from('Bonjour le monde, ça va ?');
    const url = await sim.addFile({ name: 'Château ＂x＂.txt', content: data });
    const r = await raw(await token(url));
    expect(r.status).toBe(200);
    expect(r.body.equals(data)).toBe(true);
    expect(r.headers['content-length']).toBe(String(data.length));
    expect(r.headers['accept-ranges']).toBe('bytes');
    expect(r.headers['content-type']).toBe('text/plain');
    expect(r.headers['content-disposition']).toContain(`filename*=UTF-8''${encodeURIComponent('Château ＂x＂.txt')}`);
    expect(r.headers['content-disposition']).toMatch(/^attachment;/);
    const s = sim.stats();
    expect(s.downloadRequests).toBe(1);
    expect(s.bytesServed).toBe(data.length);
  });

  it('answers ranges with 206 and Content-Range carrying the total, and 416 with bytes */TOTAL', async () => {
    const url = await sim.addFile({ name: 'range.bin', content: Buffer.from('0123456789') });
    const link = await token(url);
    const mid = await raw(link, { headers: { range: 'bytes=2-5' } });
    expect(mid.status).toBe(206);
    expect(mid.headers['content-range']).toBe('bytes 2-5/10');
    expect(mid.body.toString()).toBe('2345');
    const tail = await raw(link, { headers: { range: 'bytes=-3' } });
    expect(tail.status).toBe(206);
    expect(tail.headers['content-range']).toBe('bytes 7-9/10');
    expect(tail.body.toString()).toBe('789');
    const open = await raw(link, { headers: { range: 'bytes=8-' } });
    expect(open.body.toString()).toBe('89');
    const bad = await raw(link, { headers: { range: 'bytes=50-60' } });
    expect(bad.status).toBe(416);
    expect(bad.headers['content-range']).toBe('bytes */10');
  });

  it("the demo's large synthetic files carry the real Whirlpool of their bytes (the generator still makes what was hashed)", async () => {
    // The 4 GiB film's digest comes from the same generator; hashing it here would take a minute.
    expect(await SyntheticContent.realWhirlpool(48 * 2 ** 20, 11)).toBe(TRAILER_WHIRLPOOL);
    await expect(SyntheticContent.of(10, 1, 'not-hex')).rejects.toThrow(/128 lowercase hex/);
  });

  it('serves a synthetic 4 GiB file at any offset without storing it', async () => {
    const size = 4 * 2 ** 30 + 5;
    const url = await sim.addFile({ name: 'movie.mkv', synthetic: { size, seed: 7 } });
    const info = await api(sim, 'file/info.cgi', { url });
    expect(info.json.size).toBe(size);
    expect(info.json['content-type']).toBe('video/x-matroska');
    const link = await token(url);
    const end = await raw(link, { headers: { range: `bytes=${size - 100}-` } });
    expect(end.status).toBe(206);
    expect(end.headers['content-range']).toBe(`bytes ${size - 100}-${size - 1}/${size}`);
    expect(end.body.length).toBe(100);
    // The same bytes as the simulator's own view of the content, and deterministic per seed.
    const truthEnd = await collect(sim.contentOf(url, size - 100, size - 1));
    expect(end.body.equals(truthEnd)).toBe(true);
    const across = await raw(link, { headers: { range: `bytes=${2 ** 20 - 8}-${2 ** 20 + 7}` } });
    const head = await collect(sim.contentOf(url, 0, 2 ** 21 - 1));
    expect(across.body.equals(head.subarray(2 ** 20 - 8, 2 ** 20 + 8))).toBe(true);
    // Blocks differ from one another (a rotation per MiB), so an off-by-a-block bug shows.
    expect(head.subarray(0, 64).equals(head.subarray(2 ** 20, 2 ** 20 + 64))).toBe(false);
    // A full streaming pass over 4 GiB counts every byte, without buffering it.
    let total = 0;
    for await (const c of sim.contentOf(url)) total += (c as Buffer).length;
    expect(total).toBe(size);
  }, 60_000);

  it('honours single: a second GET of a single-use link answers an HTML page', async () => {
    const url = await sim.addFile({ name: 'once.txt', content: 'once' });
    const link = await token(url, { single: 1 });
    expect((await raw(link)).body.toString()).toBe('once');
    const again = await raw(link);
    expect(again.status).toBe(404);
    expect(again.headers['content-type']).toMatch(/text\/html/);
    expect(again.body.toString()).not.toContain('once');
    // Without single, the link serves several GETs.
    const multi = await token(url);
    expect((await raw(multi)).status).toBe(200);
    expect((await raw(multi)).status).toBe(200);
  });

  it('expires links after 5 minutes (scaled) with an HTML page, status configurable', async () => {
    const url = await sim.addFile({ name: 'late.txt', content: 'late' });
    const link = await token(url);
    sim.advanceClock(5 * 60_000 * SCALE + 1);
    const dead = await raw(link);
    expect(dead.status).toBe(404);
    expect(dead.headers['content-type']).toMatch(/text\/html/);
    sim.setOptions({ deadTokenStatus: 410 });
    try {
      expect((await raw(link)).status).toBe(410);
      expect((await raw(`http://${sim.downloadHost}/%E0%A4%A`)).status).toBe(410);
      const unknown = await raw(`http://${sim.downloadHost}/doesnotexist`);
      expect(unknown.status).toBe(410);
      expect(unknown.body.toString()).toContain('bloc2');
    } finally {
      sim.setOptions({ deadTokenStatus: 404 });
    }
  });

  it('caps concurrent downloads per account with a 403 HTML page and tracks the peak', async () => {
    const size = 256 * 2 ** 20;
    const url = await sim.addFile({ name: 'slow.bin', synthetic: { size, seed: 3 } });
    const { request } = await import('node:http');
    // Open two downloads and read nothing, so they stay in flight.
    const open = async (): Promise<import('node:http').ClientRequest> => {
      const link = await token(url);
      return new Promise((resolve) => {
        const req = request(link, { agent: false }, () => resolve(req));
        req.end();
      });
    };
    const a = await open();
    const b = await open();
    const third = await raw(await token(url));
    expect(third.status).toBe(403);
    expect(third.headers['content-type']).toMatch(/text\/html/);
    expect(sim.stats().peakConcurrentDownloads).toBe(2);
    expect(sim.stats().concurrentDownloads).toBe(2);
    a.destroy();
    b.destroy();
    for (let i = 0; i < 100 && sim.stats().concurrentDownloads > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(sim.stats().concurrentDownloads).toBe(0);
    expect((await raw(await token(url), { headers: { range: 'bytes=0-9' } })).status).toBe(206);
  });
});
