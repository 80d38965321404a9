/**
 * Writes that never lose, empty or duplicate a file, whatever clients race: bridge + simulator
 * over real HTTP, the account checked through the simulator after each case.
 *
 * 1. A PUT body is checked against every announced length; a mismatch answers 400 and the old file
 *    stays byte for byte (a chunked PUT with X-Expected-Entity-Length: 0 used to empty it).
 * 2. A MOVE onto a path being written waits for that write, then applies whole (it used to answer
 *    404 after moving the source anyway).
 * 3. Concurrent PUTs of one path leave exactly one file holding one complete body.
 * 4. Concurrent MKCOLs of one new folder: one 201, the others 405, one upstream call.
 * 5. end.pl never confirming: the client is answered 503 + Retry-After in time, and its going away
 *    does not cut the bookkeeping short: one file remains, no alias.
 * 6. A write to a path whose earlier tree write is still being rolled back waits for that rollback
 *    or answers 503: never 404 for the set-aside folder, never a second folder of its name.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { BridgeOptions } from '../../src/cli/bridge.js';
import type { StartOptions } from '../../src/simulator/index.js';
import { accountView, eventually } from './account-view.js';
import { readBody, startStack, type Stack } from './helpers.js';
import { bodyOf, send } from './write-http.js';

let stack: Stack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function start(sim: StartOptions = {}, bridge: Partial<BridgeOptions> = {}): Promise<Stack> {
  stack = await startStack(sim, bridge);
  return stack;
}

async function bridgeBytes(s: Stack, path: string): Promise<Buffer | number> {
  const response = await fetch(`${s.url}${path}`);
  if (response.status !== 200) {
    await response.arrayBuffer();
    return response.status;
  }
  return readBody(response);
}

async function putWhole(s: Stack, path: string, body: Buffer): Promise<number> {
  const response = await fetch(`${s.url}${path}`, { method: 'PUT', body });
  await response.arrayBuffer();
  return response.status;
}

describe('1. a PUT body is checked against every announced length', () => {
  const old = bodyOf(1, 1000);
  const fresh = bodyOf(2, 1000);
  const cases: Array<{ name: string; headers: Record<string, string | number>; pieces: Buffer[] }> = [
    { name: 'chunked, X-Expected-Entity-Length 0, 1000-byte body', headers: { 'Transfer-Encoding': 'chunked', 'X-Expected-Entity-Length': 0 }, pieces: [fresh] },
    { name: 'chunked, X-Expected-Entity-Length 500, 1000-byte body', headers: { 'Transfer-Encoding': 'chunked', 'X-Expected-Entity-Length': 500 }, pieces: [fresh.subarray(0, 500), fresh.subarray(500)] },
    { name: 'chunked, X-Expected-Entity-Length 2000, 1000-byte body', headers: { 'Transfer-Encoding': 'chunked', 'X-Expected-Entity-Length': 2000 }, pieces: [fresh] },
    { name: 'Content-Length 1000 with X-Expected-Entity-Length 999', headers: { 'Content-Length': 1000, 'X-Expected-Entity-Length': 999 }, pieces: [fresh] },
    { name: 'Content-Length 1000 with OC-Total-Length 5', headers: { 'Content-Length': 1000, 'OC-Total-Length': 5 }, pieces: [fresh] },
    { name: 'chunked, malformed X-Expected-Entity-Length', headers: { 'Transfer-Encoding': 'chunked', 'X-Expected-Entity-Length': '12abc' }, pieces: [fresh] },
  ];
  for (const { name, headers, pieces } of cases) {
    it(`${name}: 400 with a reason, the old file untouched`, async () => {
      const s = await start();
      expect(await putWhole(s, '/f.bin', old)).toBe(201);
      const answer = await send({ method: 'PUT', url: `${s.url}/f.bin`, headers, pieces, pauseMs: 50 });
      expect(answer.status, answer.text).toBe(400);
      expect(answer.text).toMatch(/announced|byte count|lengths disagree/);
      expect(await bridgeBytes(s, '/f.bin')).toEqual(old);
      const view = await accountView(s.sim);
      expect(view.files.get('/f.bin')).toEqual(old);
      expect([...view.files.keys()]).toEqual(['/f.bin']);
      expect(view.duplicates).toEqual([]);
    });
  }

  it('a chunked body matching its X-Expected-Entity-Length replaces the file (204)', async () => {
    const s = await start();
    expect(await putWhole(s, '/f.bin', old)).toBe(201);
    const answer = await send({
      method: 'PUT',
      url: `${s.url}/f.bin`,
      headers: { 'Transfer-Encoding': 'chunked', 'X-Expected-Entity-Length': 1000 },
      pieces: [fresh.subarray(0, 500), fresh.subarray(500)],
      pauseMs: 50,
    });
    expect(answer.status, answer.text).toBe(204);
    const view = await accountView(s.sim);
    expect(view.files.get('/f.bin')).toEqual(fresh);
    expect(view.duplicates).toEqual([]);
  });
});

describe('2. a MOVE onto a path being written', () => {
  it('waits for the write, then moves whole: source gone, destination holds it, no alias (3 rounds)', async () => {
    const s = await start();
    for (let round = 0; round < 3; round += 1) {
      const source = bodyOf(10 + round, 40_000);
      const written = bodyOf(20 + round, 60_000);
      expect(await putWhole(s, `/src${round}.bin`, source)).toBe(201);
      expect(await putWhole(s, `/dst${round}.bin`, bodyOf(30 + round, 1000))).toBe(201);
      let moving: Promise<Response> | undefined;
      const put = send({
        method: 'PUT',
        url: `${s.url}/dst${round}.bin`,
        headers: { 'Content-Length': written.length },
        pieces: [written.subarray(0, 20_000), written.subarray(20_000, 40_000), written.subarray(40_000)],
        pauseMs: 300,
        onPiece: (index) => {
          // After the second piece: the PUT is certainly inside the drive by then.
          if (index === 1) {
            moving = fetch(`${s.url}/src${round}.bin`, {
              method: 'MOVE',
              headers: { Destination: `${s.url}/dst${round}.bin`, Overwrite: 'T' },
            });
          }
        },
      });
      expect((await put).status).toBe(204);
      const moved = await moving!;
      await moved.arrayBuffer();
      expect(moved.status).toBe(204);
      expect(await bridgeBytes(s, `/src${round}.bin`)).toBe(404);
      expect(await bridgeBytes(s, `/dst${round}.bin`)).toEqual(source);
    }
    const view = await accountView(s.sim);
    expect([...view.files.keys()].sort()).toEqual(['/dst0.bin', '/dst1.bin', '/dst2.bin']);
    for (let round = 0; round < 3; round += 1) expect(view.files.get(`/dst${round}.bin`)).toEqual(bodyOf(10 + round, 40_000));
    expect(view.duplicates).toEqual([]);
  });
});

describe('3. concurrent PUTs of one path', () => {
  it('leave exactly one file, holding one of the complete bodies, and no alias', async () => {
    const s = await start();
    expect(await putWhole(s, '/same.bin', bodyOf(99, 5000))).toBe(201);
    const bodies = [1, 2, 3, 4, 5].map((seed) => bodyOf(seed, 30_000 + seed));
    const statuses = await Promise.all(bodies.map((body) => putWhole(s, '/same.bin', body)));
    expect(statuses).toEqual([204, 204, 204, 204, 204]);
    const view = await accountView(s.sim);
    expect(view.duplicates).toEqual([]);
    expect([...view.files.keys()]).toEqual(['/same.bin']);
    expect(bodies.some((body) => body.equals(view.files.get('/same.bin')!))).toBe(true);
    const listing = await fetch(`${s.url}/`, { method: 'PROPFIND', headers: { Depth: '1' } }).then((r) => r.text());
    expect(listing).not.toMatch(/same \[/);
  });
});

describe('4. concurrent MKCOL of one new folder', () => {
  it('answers 201 once and 405 to the others, with one upstream call', async () => {
    const s = await start();
    const statuses = await Promise.all(
      [0, 1, 2, 3].map(() => fetch(`${s.url}/Par/`, { method: 'MKCOL' }).then(async (r) => (await r.arrayBuffer(), r.status))),
    );
    expect(statuses.sort()).toEqual([201, 405, 405, 405]);
    expect(s.calls('folder/mkdir.cgi')).toBe(1);
    const view = await accountView(s.sim);
    expect([...view.folders]).toEqual(['/Par']);
    expect(view.duplicates).toEqual([]);
  });

  it('a folder another client made first ("already exists" #613) answers 405, not 502', async () => {
    const s = await start();
    expect((await fetch(`${s.url}/`, { method: 'PROPFIND', headers: { Depth: '1' } })).status).toBe(207);
    await s.sim.addFolder({ name: 'Elsewhere' });
    const response = await fetch(`${s.url}/Elsewhere/`, { method: 'MKCOL' });
    expect(response.status).toBe(405);
  });
});

describe('5. when end.pl never confirms an upload', () => {
  const old = bodyOf(40, 2000);
  const fresh = bodyOf(41, 3000);

  it('the client gets 503 with Retry-After in time; the upload is finished in the background', async () => {
    const s = await start({}, { drive: { answerDeadlineMs: 300 } });
    expect(await putWhole(s, '/late.bin', old)).toBe(201);
    s.sim.setFaults({ endPlPleaseWait: 1000 });
    const answer = await send({ method: 'PUT', url: `${s.url}/late.bin`, headers: { 'Content-Length': fresh.length }, pieces: [fresh] });
    expect(answer.status).toBe(503);
    expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    const view = await eventually(
      () => accountView(s.sim),
      (v) => v.duplicates.length === 0 && v.files.get('/late.bin')?.equals(fresh) === true,
    );
    expect(view.duplicates).toEqual([]);
    expect(view.files.get('/late.bin')).toEqual(fresh);
    expect([...view.files.keys()]).toEqual(['/late.bin']);
  });

  it('a client that goes away does not cut the bookkeeping short: one file, no duplicate', async () => {
    const s = await start();
    expect(await putWhole(s, '/gone.bin', old)).toBe(201);
    s.sim.setFaults({ endPlPleaseWait: 1000 });
    const controller = new AbortController();
    const answer = send({
      method: 'PUT',
      url: `${s.url}/gone.bin`,
      headers: { 'Content-Length': fresh.length },
      pieces: [fresh],
      signal: controller.signal,
      onPiece: () => setTimeout(() => controller.abort(), 500),
    });
    expect((await answer).status).toBe(0);
    const view = await eventually(
      () => accountView(s.sim),
      (v) => v.duplicates.length === 0 && v.files.size === 1,
    );
    expect(view.duplicates).toEqual([]);
    expect([...view.files.keys()]).toEqual(['/gone.bin']);
    // Either outcome is whole: the client was told nothing.
    const bytes = view.files.get('/gone.bin')!;
    expect(bytes.equals(fresh) || bytes.equals(old)).toBe(true);
  });
});

describe('a COPY onto a folder with content whose setting aside fails', () => {
  it('answers an error and leaves the destination folder and its files as they were', async () => {
    const s = await start();
    const source = await s.sim.addFolder({ name: 'Src' });
    await s.sim.addFile({ folderId: source, name: 'new.bin', content: bodyOf(5, 600) });
    const dest = await s.sim.addFolder({ name: 'Dest' });
    await s.sim.addFile({ folderId: dest, name: 'kept.bin', content: bodyOf(6, 900) });
    expect((await fetch(`${s.url}/Dest/`, { method: 'PROPFIND', headers: { Depth: '1' } })).status).toBe(207);
    expect((await fetch(`${s.url}/Src/`, { method: 'PROPFIND', headers: { Depth: '1' } })).status).toBe(207);
    // Every folder rename fails past the client's retries: the destination is never set aside. The
    // old rollback then removed "what the COPY made" by name, which was the destination itself.
    s.sim.setFaults({ failures: [{ endpoint: 'folder/mv.cgi', status: 503, count: 1000 }] });
    const answer = await fetch(`${s.url}/Src`, { method: 'COPY', headers: { Destination: `${s.url}/Dest`, Overwrite: 'T' } });
    await answer.arrayBuffer();
    s.sim.setFaults({});
    expect(answer.status).toBeGreaterThanOrEqual(500);
    const view = await accountView(s.sim);
    expect(view.files.get('/Dest/kept.bin')).toEqual(bodyOf(6, 900));
    expect(view.files.get('/Src/new.bin')).toEqual(bodyOf(5, 600));
    expect(await bridgeBytes(s, '/Dest/kept.bin')).toEqual(bodyOf(6, 900));
  }, 120_000);
});

describe('an empty (local-only) file moved onto a folder with content', () => {
  it('the folder is replaced whole or not at all, even when removing its tree keeps failing', async () => {
    const s = await start();
    const dest = await s.sim.addFolder({ name: 'Dest' });
    const sub = await s.sim.addFolder({ parentId: dest, name: 'sub' });
    await s.sim.addFile({ folderId: dest, name: 'a.bin', content: bodyOf(3, 700) });
    await s.sim.addFile({ folderId: sub, name: 'b.bin', content: bodyOf(4, 800) });
    expect(await putWhole(s, '/empty.txt', Buffer.alloc(0))).toBe(201);
    expect((await fetch(`${s.url}/Dest/`, { method: 'PROPFIND', headers: { Depth: '1' } })).status).toBe(207);
    // Every folder removal fails past the client's retries: the old code removed the files first,
    // then failed on the folders, and answered an error with the destination's content gone.
    s.sim.setFaults({ failures: [{ endpoint: 'folder/rm.cgi', status: 500, count: 1000 }] });
    const answer = await fetch(`${s.url}/empty.txt`, { method: 'MOVE', headers: { Destination: `${s.url}/Dest`, Overwrite: 'T' } });
    await answer.arrayBuffer();
    const view = await accountView(s.sim);
    if (answer.status >= 200 && answer.status < 300) {
      // Applied: /Dest is now the empty file, and no visible trace of the old tree is left.
      expect(await bridgeBytes(s, '/Dest')).toEqual(Buffer.alloc(0));
      expect(await bridgeBytes(s, '/empty.txt')).toBe(404);
      expect([...view.files.keys()].filter((path) => path.startsWith('/Dest/'))).toEqual([]);
    } else {
      // Not applied: source and destination as they were.
      expect(await bridgeBytes(s, '/Dest/a.bin')).toEqual(bodyOf(3, 700));
      expect(await bridgeBytes(s, '/Dest/sub/b.bin')).toEqual(bodyOf(4, 800));
      expect(view.files.get('/Dest/a.bin')).toEqual(bodyOf(3, 700));
      expect(view.files.get('/Dest/sub/b.bin')).toEqual(bodyOf(4, 800));
    }
    s.sim.setFaults({});
  }, 120_000);
});

describe('a write to a path whose earlier tree write is still being rolled back', () => {
  it('is refused for now (5xx), never answered as if the set-aside folder were gone; the rollback then gives it back whole', async () => {
    const s = await start();
    const a = await s.sim.addFolder({ name: 'A' });
    await s.sim.addFile({ folderId: a, name: 'src.bin', content: bodyOf(7, 500) });
    const b = await s.sim.addFolder({ name: 'B' });
    await s.sim.addFile({ folderId: b, name: 'kept.bin', content: bodyOf(8, 700) });
    for (const path of ['/', '/A/', '/B/']) expect((await fetch(`${s.url}${path}`, { method: 'PROPFIND', headers: { Depth: '1' } })).status).toBe(207);
    // MOVE /A onto /B: the first folder/mv.cgi (setting /B aside) goes through; from the second
    // one on (renaming /A, then giving /B its name back) every call fails past the client's
    // retries, so the rollback stays pending with /B under its hidden name.
    s.sim.setFaults({ slow: [{ endpoint: 'folder/mv.cgi', delayMs: 3_000, count: 2 }] });
    const moving = fetch(`${s.url}/A`, { method: 'MOVE', headers: { Destination: `${s.url}/B`, Overwrite: 'T' } });
    // The second call waits 3 s before it is answered: the failures are on before it is.
    while (s.sim.log().filter((entry) => entry.endpoint === 'folder/mv.cgi' && entry.status === 200).length === 0) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    s.sim.setFaults({ failures: [{ endpoint: 'folder/mv.cgi', status: 503, count: 100_000 }] });
    const moved = await moving;
    await moved.arrayBuffer();
    expect(moved.status).toBeGreaterThanOrEqual(500);
    // /B exists for the clients (the MOVE was answered an error): no write may act as if it did not.
    const status = async (method: string, path: string, body?: Buffer) => {
      const response = await fetch(`${s.url}${path}`, { method, body });
      await response.arrayBuffer();
      return response.status;
    };
    expect(await status('DELETE', '/B')).toBeGreaterThanOrEqual(500); // was 404
    expect(await status('MKCOL', '/B')).toBeGreaterThanOrEqual(500); // was 201: a second /B
    expect(await status('PUT', '/B/new.bin', bodyOf(9, 300))).toBeGreaterThanOrEqual(500); // was 201, into that second /B
    s.sim.clearFaults();
    // The next write settles the rollback first, then applies to /B as it is.
    expect(await status('PUT', '/B/new.bin', bodyOf(9, 300))).toBe(201);
    const view = await accountView(s.sim);
    expect([...view.folders].sort()).toEqual(['/A', '/B']);
    expect(view.files.get('/A/src.bin')).toEqual(bodyOf(7, 500));
    expect(view.files.get('/B/kept.bin')).toEqual(bodyOf(8, 700));
    expect(view.files.get('/B/new.bin')).toEqual(bodyOf(9, 300));
    expect(view.duplicates).toEqual([]);
    expect(await bridgeBytes(s, '/B/kept.bin')).toEqual(bodyOf(8, 700));
    expect(await status('DELETE', '/B')).toBe(204);
  }, 120_000);
});
