import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type StartOptions } from '../../src/simulator/index.js';
import { api, sleep } from './helpers.js';

// timeScale 0.1: 3 req/s becomes 30 req/s, 30 s windows 3 s, 1 h 6 min. Windows are crossed with
// advanceClock, never by waiting, and are long enough that a stalled machine cannot leave them early.
const SCALE = 0.1;
let sim: Simulator | undefined;

async function start(opts: StartOptions = {}): Promise<Simulator> {
  sim = await startSimulator({ apiKey: 'lim-key', timeScale: SCALE, ...opts });
  return sim;
}

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const FLOOD_374 = { status: 'KO', message: 'Flood detected: IP Locked #374' };

describe('rate limit: token bucket of about 3 req/s per key (§6, §10 item 27)', () => {
  it('answers 403 Flood #374 past the burst, then locks every call for the lock window', async () => {
    const s = await start({ rateBurst: 3, ratePerSecond: 0.001 });
    for (let i = 0; i < 3; i++) expect((await api(s, 'remote/ls.cgi', {})).status).toBe(200);
    const flood = await api(s, 'remote/ls.cgi', {});
    expect(flood.status).toBe(403);
    expect(flood.json).toEqual(FLOOD_374);
    // Locked: a different endpoint answers the same 403 (scope 'key').
    const locked = await api(s, 'folder/mkdir.cgi', { name: 'x' });
    expect(locked.status).toBe(403);
    expect(locked.json).toEqual(FLOOD_374);
    expect(s.stats().floods).toBe(2);
    expect(s.stats().locked).toEqual(['*']);
    // After the (scaled) 30 s lock, and with a refilled bucket, calls pass again.
    s.setOptions({ ratePerSecond: 3 });
    s.advanceClock(30_000 * SCALE + 5);
    expect((await api(s, 'remote/ls.cgi', {})).status).toBe(200);
  });

  it('lets a client paced under the rate through, and refuses one going faster', async () => {
    // 3 req/s at scale 0.1 is 30 req/s: one call per 33.4 ms of simulated time.
    const s = await start({ perFolderListingWindowMs: 0 });
    for (let i = 0; i < 10; i++) {
      s.advanceClock(40);
      expect((await api(s, 'remote/ls.cgi', {})).status).toBe(200);
    }
    s.setOptions({ ratePerSecond: 0.001 });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await api(s, 'remote/ls.cgi', {})).status);
    expect(statuses).toContain(403);
  });

  it('uses #412 when configured, and can extend the lock on every hit', async () => {
    const s = await start({ rateBurst: 1, ratePerSecond: 0.001, floodCode: 412, extendLockOnHit: true, floodLockMs: 10_000 });
    await api(s, 'remote/ls.cgi', {});
    expect((await api(s, 'remote/ls.cgi', {})).json.message).toBe('Flood detected: IP Locked #412');
    s.setOptions({ ratePerSecond: 1000 });
    s.advanceClock(600);
    expect((await api(s, 'remote/ls.cgi', {})).status).toBe(403); // extends to +1000 ms
    s.advanceClock(600);
    expect((await api(s, 'remote/ls.cgi', {})).status).toBe(403); // still inside the extended lock
    s.advanceClock(1001);
    expect((await api(s, 'remote/ls.cgi', {})).status).toBe(200);
  });

  it('does not rate-limit at all when limitsEnabled is false', async () => {
    const s = await start({ limitsEnabled: false, ratePerSecond: 0.001, rateBurst: 1 });
    for (let i = 0; i < 5; i++) expect((await api(s, 'file/ls.cgi', { folder_id: 0 })).status).toBe(200);
  });
});

describe('endpoint windows (§10 item 28)', () => {
  // A large bucket, so every 403 below comes from the window under test, not from the rate.
  it('floods a second listing of the same folder within 30 s, not of another folder', async () => {
    const s = await start({ floodScope: 'category', rateBurst: 100 });
    const a = await s.addFolder({ name: 'A' });
    const b = await s.addFolder({ name: 'B' });
    expect((await api(s, 'file/ls.cgi', { folder_id: a })).status).toBe(200);
    expect((await api(s, 'file/ls.cgi', { folder_id: b })).status).toBe(200);
    const again = await api(s, 'file/ls.cgi', { folder_id: a });
    expect(again.status).toBe(403);
    expect(again.json).toEqual(FLOOD_374);
    // Category scope: listing is locked, the rest is not.
    expect((await api(s, 'file/ls.cgi', { folder_id: b })).status).toBe(403);
    expect((await api(s, 'remote/ls.cgi', {})).status).toBe(200);
    s.advanceClock(30_000 * SCALE + 5);
    expect((await api(s, 'file/ls.cgi', { folder_id: a })).status).toBe(200);
  });

  it('counts folder/ls with files:1 in the same per-folder window, but not plain folder/ls', async () => {
    const s = await start({ rateBurst: 100 });
    const a = await s.addFolder({ name: 'A' });
    expect((await api(s, 'folder/ls.cgi', { folder_id: a })).status).toBe(200);
    s.advanceClock(10);
    expect((await api(s, 'folder/ls.cgi', { folder_id: a })).status).toBe(200);
    s.advanceClock(10);
    expect((await api(s, 'folder/ls.cgi', { folder_id: a, files: 1 })).status).toBe(200);
    s.advanceClock(10);
    expect((await api(s, 'file/ls.cgi', { folder_id: a })).status).toBe(403);
  });

  it('allows file/ls -1 once per hour (scaled)', async () => {
    const s = await start({ rateBurst: 100 });
    expect((await api(s, 'file/ls.cgi', { folder_id: -1 })).status).toBe(200);
    s.advanceClock(31_000 * SCALE); // past the lock, still inside the hour
    const again = await api(s, 'file/ls.cgi', { folder_id: -1 });
    expect(again.status).toBe(403);
    expect(again.json).toEqual(FLOOD_374);
    s.advanceClock(3_600_000 * SCALE);
    expect((await api(s, 'file/ls.cgi', { folder_id: -1 })).status).toBe(200);
  });

  it('answers user/info more than once a minute with Flood detected: IP Locked #38', async () => {
    const s = await start({ rateBurst: 100 });
    expect((await api(s, 'user/info.cgi')).status).toBe(200);
    s.advanceClock(20);
    const flood = await api(s, 'user/info.cgi');
    expect(flood.status).toBe(403);
    expect(flood.json).toEqual({ status: 'KO', message: 'Flood detected: IP Locked #38' });
    s.advanceClock(60_000 * SCALE + 5);
    expect((await api(s, 'user/info.cgi')).status).toBe(200);
  });

  it('reset() clears locks and windows', async () => {
    const s = await start({ rateBurst: 100 });
    await api(s, 'user/info.cgi');
    expect((await api(s, 'user/info.cgi')).status).toBe(403);
    s.reset();
    expect((await api(s, 'user/info.cgi')).status).toBe(200);
  });

  it('really uses wall-clock time too: a scaled window passes by waiting', async () => {
    const s = await start({ timeScale: 0.001, rateBurst: 100 });
    const a = await s.addFolder({ name: 'W' });
    expect((await api(s, 'file/ls.cgi', { folder_id: a })).status).toBe(200);
    await sleep(30_000 * 0.001 + 40); // 30 ms window + lock: wait past both
    s.setOptions({ floodLockMs: 0 });
    expect((await api(s, 'file/ls.cgi', { folder_id: a })).status).toBe(200);
  });

  it('can word the flood as User Locked #218', async () => {
    const s = await start({ rateBurst: 1, ratePerSecond: 0.001, floodMessage: 'Flood detected: User Locked #218' });
    await api(s, 'remote/ls.cgi', {});
    expect((await api(s, 'remote/ls.cgi', {})).json).toEqual({ status: 'KO', message: 'Flood detected: User Locked #218' });
  });
});

describe('repeated errors ban (§10 item 29, optional)', () => {
  it('bans an IP after N consecutive 401/403/404 answers, then lifts the ban', async () => {
    const s = await start({ errorBanThreshold: 3, errorBanMs: 60_000, ratePerSecond: 1000, rateBurst: 1000 });
    for (let i = 0; i < 3; i++) expect((await api(s, 'file/info.cgi', { url: 'https://1fichier.com/?0000000000000000000' + i })).status).toBe(404);
    const banned = await api(s, 'remote/ls.cgi', {});
    expect(banned.status).toBe(403);
    expect(banned.json).toEqual(FLOOD_374);
    s.advanceClock(60_000 * SCALE + 5);
    expect((await api(s, 'remote/ls.cgi', {})).status).toBe(200);
  });

  it('is off by default and a success breaks the streak', async () => {
    const s = await start({ ratePerSecond: 1000, rateBurst: 1000 });
    for (let i = 0; i < 12; i++) await api(s, 'file/info.cgi', { url: 'https://1fichier.com/?00000000000000000000' });
    expect((await api(s, 'remote/ls.cgi', {})).status).toBe(200);
    s.setOptions({ errorBanThreshold: 2 });
    await api(s, 'file/info.cgi', { url: 'https://1fichier.com/?00000000000000000000' });
    await api(s, 'remote/ls.cgi', {});
    await api(s, 'file/info.cgi', { url: 'https://1fichier.com/?00000000000000000000' });
    expect((await api(s, 'remote/ls.cgi', {})).status).toBe(200);
  });
});
