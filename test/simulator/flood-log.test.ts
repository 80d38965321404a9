import { afterEach, describe, expect, it } from 'vitest';
import { describeFlood, startSimulator, type FloodRecord, type Simulator, type StartOptions } from '../../src/simulator/index.js';
import { api } from './helpers.js';

// Every flood answer is recorded with the calls its rule counted, so a test or a bench row that
// sees a flood can name the calls involved. Windows are crossed with advanceClock, never waited.
const SCALE = 0.1;
const KEY = 'flood-log-key';
let sim: Simulator | undefined;

async function start(opts: StartOptions = {}): Promise<Simulator> {
  sim = await startSimulator({ apiKey: KEY, timeScale: SCALE, ...opts });
  return sim;
}

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function statsOverHttp(s: Simulator): Promise<{ floods: number; floodLog: FloodRecord[] }> {
  const res = await fetch(`${s.apiOrigin}/__sim/stats`);
  return (await res.json()) as { floods: number; floodLog: FloodRecord[] };
}

describe('flood records', () => {
  it('a rate flood names the calls that emptied the bucket, and their connection', async () => {
    const s = await start({ rateBurst: 3, ratePerSecond: 0.001 });
    for (let i = 0; i < 3; i++) expect((await api(s, 'remote/ls.cgi', {})).status).toBe(200);
    expect((await api(s, 'folder/mkdir.cgi', { name: 'x' })).status).toBe(403);
    const [record, ...rest] = s.floodLog();
    expect(rest).toEqual([]);
    expect(record).toMatchObject({ endpoint: 'folder/mkdir.cgi', reason: 'rate', who: 'key' });
    expect(record!.counted.map((c) => c.endpoint)).toEqual(['remote/ls.cgi', 'remote/ls.cgi', 'remote/ls.cgi']);
    // Times are the simulator's clock (the request log's base: counted once the body is read,
    // at or after the arrival the log shows), in order.
    const log = s.log().filter((e) => e.host === 'api');
    record!.counted.forEach((c, i) => expect(c.at).toBeGreaterThanOrEqual(log[i]!.ms));
    expect(record!.counted.map((c) => c.caller)).toEqual(log.slice(0, 3).map((e) => e.caller));
    expect(record!.at).toBeGreaterThanOrEqual(record!.counted[2]!.at);
    // The connection is named as the request log names it, never the key.
    expect(record!.caller).toMatch(/^[\d.:a-f]+:\d+$/);
    expect(log.map((e) => e.caller)).toContain(record!.caller);
    expect(JSON.stringify(s.floodLog())).not.toContain(KEY);
    expect(describeFlood(record!, record!.counted[0]!.at)).toMatch(/^rate: folder\/mkdir\.cgi@\d+ms from .+ \[0\.001 calls\/s, burst 3 .*\] after remote\/ls\.cgi@0ms/);
  });

  it('a listing-window flood names the earlier listing of the folder, and answers during the lock name the flood that started it', async () => {
    const s = await start({ rateBurst: 100 });
    const a = await s.addFolder({ name: 'A' });
    expect((await api(s, 'file/ls.cgi', { folder_id: a })).status).toBe(200);
    s.advanceClock(500);
    expect((await api(s, 'file/ls.cgi', { folder_id: a })).status).toBe(403);
    expect((await api(s, 'remote/ls.cgi', {})).status).toBe(403);
    const [window, locked] = s.floodLog();
    const first = s.log().find((e) => e.endpoint === 'file/ls.cgi')!;
    expect(window).toMatchObject({ endpoint: 'file/ls.cgi', folder: String(a), reason: 'folder-window' });
    expect(window!.counted).toEqual([{ at: expect.any(Number), endpoint: 'file/ls.cgi', caller: first.caller, folder: String(a) }]);
    expect(window!.counted[0]!.at).toBeGreaterThanOrEqual(first.ms);
    expect(window!.at - window!.counted[0]!.at).toBeGreaterThanOrEqual(500);
    expect(window!.rule).toContain('scaled: 3000 ms');
    expect(locked).toMatchObject({ endpoint: 'remote/ls.cgi', reason: 'locked' });
    expect(locked!.counted).toEqual([{ at: window!.at, endpoint: 'file/ls.cgi', caller: window!.caller, folder: String(a), reason: 'folder-window' }]);
    // Through the control route, as a bench child or another process reads it.
    const stats = await statsOverHttp(s);
    expect(stats.floods).toBe(2);
    expect(stats.floodLog).toEqual(s.floodLog());
  });

  it('a user/info window flood names the earlier user/info; reset forgets the records', async () => {
    const s = await start({ rateBurst: 100 });
    expect((await api(s, 'user/info.cgi', {})).status).toBe(200);
    s.advanceClock(1000);
    expect((await api(s, 'user/info.cgi', {})).status).toBe(403);
    expect(s.floodLog()).toHaveLength(1);
    expect(s.floodLog()[0]).toMatchObject({ reason: 'user-info-window', counted: [{ endpoint: 'user/info.cgi' }] });
    s.reset();
    expect(s.floodLog()).toEqual([]);
    expect((await statsOverHttp(s)).floodLog).toEqual([]);
  });

  it('records nothing while every call is within the limits', async () => {
    const s = await start({ perFolderListingWindowMs: 0 });
    for (let i = 0; i < 5; i++) {
      s.advanceClock(400);
      expect((await api(s, 'remote/ls.cgi', {})).status).toBe(200);
    }
    expect(s.floodLog()).toEqual([]);
  });
});
