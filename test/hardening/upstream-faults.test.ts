/**
 * Upstream faults through the bridge, with the simulator's injections: a flood storm while 20
 * clients browse and read, 5xx bursts, a simulator restart, cuts mid-download and mid-upload, and
 * a key 1fichier refuses. Cached data keeps being served; what needs the API answers 503 with
 * Retry-After quickly (the interactive deadline), never a hang or a 500.
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { KEY, assertAlive, startHardStack, type HardStack } from './helpers.js';

let s: HardStack | undefined;
afterEach(async () => {
  await s?.close();
  s = undefined;
});

function bytes(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed * 7) % 251;
  return b;
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Three folders of three files each; returns the expected bytes by path. */
async function seed(sim: Simulator): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (let f = 0; f < 3; f++) {
    const folderId = await sim.addFolder({ name: `F${f}` });
    for (let i = 0; i < 3; i++) {
      const content = bytes(20_000 + i * 1000, f * 10 + i);
      await sim.addFile({ folderId, name: `file${i}.bin`, content });
      files.set(`/F${f}/file${i}.bin`, content);
    }
  }
  await sim.addFolder({ name: 'Cold' });
  return files;
}

/** Lists every folder and reads every file once, so metadata and links are cached. */
async function warm(stack: HardStack, files: Map<string, Buffer>): Promise<void> {
  await assertAlive(stack, '/');
  for (let f = 0; f < 3; f++) await assertAlive(stack, `/F${f}/`);
  for (const [path, content] of files) expect((await stack.req({ path })).body.equals(content)).toBe(true);
}

describe('flood storm', () => {
  it('20 clients browsing and reading cached data see no 5xx and cause no API call during the cool-down; API work gets 503 + Retry-After', async () => {
    // Cool-down 300 s nominal = 3 s at the test scale; a waiting client gives up after 300 ms.
    s = await startHardStack({}, { client: { floodCooldownMs: 300_000, floodCooldownMaxMs: 300_000 }, upstreamDeadlineMs: 300 });
    const stack = s;
    const files = await seed(stack.sim);
    await warm(stack, files);

    stack.sim.setFaults({ failures: [{ host: 'api', flood: true, count: 1 }] });
    const first = await stack.req({ method: 'PROPFIND', path: '/Cold/', headers: { Depth: '1' } });
    expect(first.status).toBe(503);
    expect(Number(first.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(first.text).toMatch(/1fichier/);
    expect(stack.bridge.client.scheduler.cooldownRemainingMs()).toBeGreaterThan(0);

    const callsInLock = stack.apiCalls();
    const paths = [...files.keys()];
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 20 }, async (_, client) => {
        for (let i = 0; i < 6; i++) {
          const pick = (client * 7 + i * 3) % (paths.length + 4);
          if (pick >= paths.length) {
            const r = await stack.req({ method: 'PROPFIND', path: pick === paths.length ? '/' : `/F${pick % 3}/`, headers: { Depth: '1' } });
            statuses.push(r.status);
          } else {
            const path = paths[pick];
            const content = files.get(path)!;
            const start = (client * 97 + i * 13) % 5000;
            const r = await stack.req({ path, headers: { Range: `bytes=${start}-${start + 999}` } });
            statuses.push(r.status);
            expect(r.body.equals(content.subarray(start, start + 1000))).toBe(true);
          }
        }
      }),
    );
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    expect(statuses.length).toBe(120);

    // What needs the API is refused at once (the cool-down outlasts the deadline), not queued.
    for (const spec of [
      { method: 'PROPFIND', path: '/Cold/', headers: { Depth: '1' } },
      { method: 'MKCOL', path: '/F0/new' },
      { method: 'DELETE', path: '/F1/file0.bin' },
      { method: 'PUT', path: '/F2/new.bin', body: 'not now' },
      { method: 'PUT', path: '/F2/file1.bin', body: 'no overwrite either' },
    ]) {
      const r = await stack.req(spec);
      expect(r.status, spec.method).toBe(503);
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    }
    expect(stack.apiCalls()).toBe(callsInLock);
    expect(stack.calls('upload.cgi')).toBe(0);
    expect((await stack.req({ path: '/F2/file1.bin' })).body.equals(files.get('/F2/file1.bin')!)).toBe(true);
    expect(stack.log.errors).toEqual([]);

    // After the cool-down everything works again.
    await waitFor(() => stack.bridge.client.scheduler.cooldownRemainingMs() === 0, 'the cool-down to end');
    expect((await stack.req({ method: 'PROPFIND', path: '/Cold/', headers: { Depth: '1' } })).status).toBe(207);
    expect((await stack.req({ method: 'MKCOL', path: '/F0/new' })).status).toBe(201);
  });

  it('an expired listing is still served (stale) while 1fichier floods', async () => {
    s = await startHardStack(
      {},
      { client: { floodCooldownMs: 300_000, floodCooldownMaxMs: 300_000 }, upstreamDeadlineMs: 300, drive: { folderTtlMs: 1, folderStaleMs: 0 } },
    );
    const stack = s;
    const files = await seed(stack.sim);
    await assertAlive(stack, '/F0/');
    stack.sim.setFaults({ failures: [{ host: 'api', flood: true, count: 1 }] });
    expect((await stack.req({ method: 'PROPFIND', path: '/Cold/', headers: { Depth: '1' } })).status).toBe(503);
    const calls = stack.apiCalls();
    const r = await assertAlive(stack, '/F0/');
    expect(r.text).toContain('file2.bin');
    expect(stack.apiCalls()).toBe(calls);
    expect(files.size).toBe(9);
  });
});

describe('quota during a flood', () => {
  it('a PROPFIND asking for quota (as Explorer and Finder do) still lists a cached folder when the quota cannot be read', async () => {
    s = await startHardStack({}, { client: { floodCooldownMs: 300_000, floodCooldownMaxMs: 300_000 }, upstreamDeadlineMs: 300 });
    const stack = s;
    await seed(stack.sim);
    await assertAlive(stack, '/F0/'); // allprop: no quota asked, none cached
    stack.sim.setFaults({ failures: [{ host: 'api', flood: true, count: 1 }] });
    expect((await stack.req({ method: 'PROPFIND', path: '/Cold/', headers: { Depth: '1' } })).status).toBe(503);
    const body = `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:quota-available-bytes/><D:quota-used-bytes/><D:getcontentlength/><D:resourcetype/></D:prop></D:propfind>`;
    const r = await stack.req({ method: 'PROPFIND', path: '/F0/', headers: { Depth: '1' }, body });
    expect(r.status).toBe(207);
    expect(r.text).toContain('file2.bin');
    expect(r.text).toMatch(/404 Not Found/);
  });
});

describe('5xx bursts', () => {
  it('a short burst is retried invisibly; a long one gives 503 (not 500, not a hang); then it recovers', async () => {
    s = await startHardStack({}, { upstreamDeadlineMs: 2_000 });
    const stack = s;
    await seed(stack.sim);
    await assertAlive(stack, '/');
    stack.sim.setFaults({ failures: [{ host: 'api', status: 502, count: 3 }] });
    const retried = await stack.req({ method: 'PROPFIND', path: '/F0/', headers: { Depth: '1' } });
    expect(retried.status).toBe(207);
    expect(retried.text).toContain('file0.bin');

    stack.sim.setFaults({ failures: [{ host: 'api', status: 503, count: 100_000 }] });
    const cached = await stack.req({ method: 'PROPFIND', path: '/F0/', headers: { Depth: '1' } });
    expect(cached.status).toBe(207);
    const failed = await stack.req({ method: 'PROPFIND', path: '/F1/', headers: { Depth: '1' } });
    expect(failed.status).toBe(503);
    expect(failed.headers['retry-after']).toBeDefined();
    const write = await stack.req({ method: 'MKCOL', path: '/F0/sub' });
    expect(write.status).toBe(503);

    stack.sim.clearFaults();
    expect((await stack.req({ method: 'PROPFIND', path: '/F1/', headers: { Depth: '1' } })).status).toBe(207);
    expect(stack.log.errors).toEqual([]);
  });
});

describe('a slow 1fichier', () => {
  it('a listing that takes too long gives 503 + Retry-After at the deadline; cached folders still answer at once', async () => {
    s = await startHardStack({}, { upstreamDeadlineMs: 400 });
    const stack = s;
    await seed(stack.sim);
    await assertAlive(stack, '/F0/');
    stack.sim.setFaults({ slow: [{ host: 'api', delayMs: 3_000 }] });
    const slow = await stack.req({ method: 'PROPFIND', path: '/F1/', headers: { Depth: '1' } });
    expect(slow.status).toBe(503);
    expect(slow.text).toMatch(/did not answer within/);
    expect(Number(slow.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await assertAlive(stack, '/F0/')).text).toContain('file2.bin');
    stack.sim.clearFaults();
    expect((await stack.req({ method: 'PROPFIND', path: '/F1/', headers: { Depth: '1' } })).status).toBe(207);
  });
});

describe('simulator restart', () => {
  /**
   * A TCP relay in front of the simulator's API, so a restarted simulator (on new ephemeral ports:
   * reusing the old ones races with other tests) is reachable at the address the bridge knows.
   */
  async function relay(): Promise<{ port: number; target: number | undefined; close(): Promise<void> }> {
    const state = { target: undefined as number | undefined };
    const sockets = new Set<net.Socket>();
    const server = net.createServer((client) => {
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      client.on('error', () => {});
      if (state.target === undefined) return client.destroy();
      const upstream = net.connect(state.target, '127.0.0.1');
      sockets.add(upstream);
      upstream.on('close', () => sockets.delete(upstream));
      upstream.on('error', () => client.destroy());
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      port: (server.address() as net.AddressInfo).port,
      get target() {
        return state.target;
      },
      set target(value) {
        state.target = value;
        // A restart drops every open connection.
        for (const socket of sockets) socket.destroy();
      },
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    } as { port: number; target: number | undefined; close(): Promise<void> };
  }

  it('while 1fichier is unreachable cached folders answer and the rest is 503; after it is back, all works', async () => {
    const first = await startSimulator({ apiKey: KEY, timeScale: 0.01 });
    const front = await relay();
    front.target = Number(new URL(first.apiUrl).port);
    let second: Simulator | undefined;
    // Listings expire quickly, so the test also covers expired listings served while 1fichier is down.
    s = await startHardStack({}, { apiUrl: `http://127.0.0.1:${front.port}/v1`, upstreamDeadlineMs: 1_000, drive: { folderTtlMs: 200, folderStaleMs: 0 } });
    const stack = s;
    try {
      await seed(first);
      await assertAlive(stack, '/F0/');
      await first.close();
      front.target = undefined;
      await new Promise((resolve) => setTimeout(resolve, 250));

      expect((await assertAlive(stack, '/F0/')).text).toContain('file1.bin');
      const down = await stack.req({ method: 'PROPFIND', path: '/F2/', headers: { Depth: '1' } });
      expect(down.status).toBe(503);
      expect(down.headers['retry-after']).toBeDefined();

      second = await startSimulator({ apiKey: KEY, timeScale: 0.01 });
      front.target = Number(new URL(second.apiUrl).port);
      const folderId = await second.addFolder({ name: 'Fresh' });
      await second.addFile({ folderId, name: 'new.txt', content: 'back' });
      await new Promise((resolve) => setTimeout(resolve, 250));
      const r = await assertAlive(stack, '/Fresh/');
      expect(r.text).toContain('new.txt');
      expect((await stack.req({ path: '/Fresh/new.txt' })).text).toBe('back');
      expect((await stack.req({ method: 'PUT', path: '/Fresh/up.txt', body: 'uploaded after the restart' })).status).toBe(201);
    } finally {
      await second?.close();
      await first.close();
      await front.close();
    }
  });
});

describe('cuts', () => {
  it('connections cut mid-download: every byte right', async () => {
    s = await startHardStack();
    const stack = s;
    const content = bytes(300_000, 9);
    const folderId = await stack.sim.addFolder({ name: 'media' });
    await stack.sim.addFile({ folderId, name: 'movie.bin', content });
    stack.sim.setFaults({ cutDownload: { bytes: 40_000, count: 3 } });
    const whole = await stack.req({ path: '/media/movie.bin' });
    expect(whole.status).toBe(200);
    expect(whole.body.equals(content)).toBe(true);
    stack.sim.setFaults({ cutDownload: { bytes: 10_000, count: 2 } });
    const part = await stack.req({ path: '/media/movie.bin', headers: { Range: 'bytes=100000-199999' } });
    expect(part.status).toBe(206);
    expect(part.body.equals(content.subarray(100_000, 200_000))).toBe(true);
  });

  it('an upload cut on the 1fichier side leaves the old file in place, whole', async () => {
    s = await startHardStack();
    const stack = s;
    const old = bytes(50_000, 1);
    const folderId = await stack.sim.addFolder({ name: 'docs' });
    await stack.sim.addFile({ folderId, name: 'report.bin', content: old });
    await assertAlive(stack, '/docs/');
    stack.sim.setFaults({ failures: [{ host: 'upload', endpoint: 'upload.cgi', drop: true, count: 1 }] });
    const put = await stack.req({ method: 'PUT', path: '/docs/report.bin', body: bytes(60_000, 2) });
    expect(put.status).toBeGreaterThanOrEqual(500);
    expect(put.status).not.toBe(500);
    const after = await stack.req({ path: '/docs/report.bin' });
    expect(after.body.equals(old)).toBe(true);
    const list = await assertAlive(stack, '/docs/');
    expect(list.text.match(/<D:href>[^<]*report\.bin<\/D:href>/g)?.length).toBe(1);
  });

  it('a client that cuts its own upload mid-body leaves no partial file and the old one intact', async () => {
    s = await startHardStack();
    const stack = s;
    const old = bytes(30_000, 3);
    const folderId = await stack.sim.addFolder({ name: 'docs' });
    await stack.sim.addFile({ folderId, name: 'draft.bin', content: old });
    await assertAlive(stack, '/docs/');
    for (const path of ['/docs/draft.bin', '/docs/brand-new.bin']) {
      await new Promise<void>((resolve) => {
        const req = http.request({
          host: '127.0.0.1',
          port: stack.port,
          method: 'PUT',
          path,
          headers: { 'Content-Length': 200_000 },
        });
        req.on('error', () => resolve());
        req.on('response', (res) => {
          res.resume();
          resolve();
        });
        req.write(bytes(80_000, 4), () => setTimeout(() => req.destroy(), 100));
      });
    }
    // Give the bridge time to notice the aborts and clean up.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await stack.req({ path: '/docs/draft.bin' })).body.equals(old)).toBe(true);
    expect((await stack.req({ path: '/docs/brand-new.bin' })).status).toBe(404);
    const list = await assertAlive(stack, '/docs/');
    expect(list.text).not.toContain('brand-new');
    expect(stack.log.errors).toEqual([]);
  });
});

describe('a key 1fichier refuses', () => {
  it('refused at start: the bridge does not start, and says why without showing the key', async () => {
    const wrongKey = 'wrong-key-SECRET-0123456789abcdef';
    const refused = await startHardStack({}, { apiKey: wrongKey }).then(
      () => undefined,
      (error: unknown) => error as Error & { exitCode?: number },
    );
    expect(refused?.message).toMatch(/refused the API key/);
    expect(refused?.exitCode).toBe(4);
    expect(refused?.message).not.toContain(wrongKey);
  });

  it('refused while serving (a key revoked on 1fichier): 502 saying how to fix it, logged once, the key never shown', async () => {
    const wrongKey = 'wrong-key-SECRET-0123456789abcdef';
    s = await startHardStack({}, {});
    const stack = s;
    // 1fichier now accepts only another key: ours is revoked from here on.
    stack.sim.setOptions({ apiKey: wrongKey });
    const bodies: string[] = [];
    for (const spec of [
      { method: 'PROPFIND', path: '/', headers: { Depth: '1' } },
      { method: 'PROPFIND', path: '/a/', headers: { Depth: '1' } },
      { method: 'GET', path: '/a/b.txt' },
      { method: 'MKCOL', path: '/new' },
    ]) {
      const r = await stack.req(spec);
      expect(r.status, spec.method).toBe(502);
      expect(r.text).toMatch(/refused the API key/);
      expect(r.text).toMatch(/FICHIER_API_KEY/);
      bodies.push(r.text);
    }
    const reports = stack.log.lines.filter((line) => line.includes('refused the API key'));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatch(/^error /);
    for (const text of [...bodies, ...stack.log.lines]) {
      expect(text).not.toContain(wrongKey);
      expect(text).not.toContain(KEY);
    }
  });
});
