/**
 * Change notifications end to end: a real bridge over the simulator, and recording fakes of
 * Jellyfin, Plex and a webhook. A PUT, a MOVE, a DELETE through the bridge and a change made on
 * the account directly (found by the --watch refresh) each give exactly one batched notification
 * per target, in the documented request shape, with the mapped path. A failing target is retried
 * while WebDAV keeps answering.
 */
import bcrypt from 'bcryptjs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../../src/cli/bridge.js';
import { BridgeMetrics } from '../../src/cli/metrics.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { KEY, SCALE } from '../integration/helpers.js';
import { renameOnAccount } from '../links/helpers.js';
import { startFakes, type Fakes, type Recorded } from './recording-fakes.js';

let sim: Simulator;
let bridge: RunningBridge;
let fakes: Fakes;
let stateDir: string;
let url: string;
const metrics = new BridgeMetrics();
const logLines: string[] = [];
const record = (message: string, fields?: Record<string, unknown>) => void logLines.push(`${message} ${JSON.stringify(fields ?? {})}`);
let videos: number;

beforeAll(async () => {
  fakes = await startFakes();
  sim = await startSimulator({ apiKey: KEY, timeScale: SCALE });
  videos = await sim.addFolder({ name: 'Vidéos' });
  await sim.addFile({ folderId: videos, name: 'ancien.mkv', content: Buffer.alloc(5000, 1) });
  await sim.addFolder({ name: 'Documents' });
  stateDir = await mkdtemp(join(tmpdir(), 'fichier-dav-notify-'));
  bridge = await startBridge({
    apiKey: KEY,
    apiUrl: sim.apiUrl,
    port: 0,
    stateDir,
    client: { timeScale: SCALE },
    metrics,
    logger: { info: record, warn: record, error: record },
    notify: {
      jellyfin: { url: fakes.url, apiKey: 'jellyfin-api-key-0123' },
      plex: { url: fakes.url, token: 'plex-token-4567' },
      webhook: `${fakes.url}/hook`,
      pathMap: ['/Vidéos=/mnt/fichier/Vidéos'],
      // Batches go out when the test flushes them (settle), so what one batch holds does not depend on timing.
      debounceMs: 60_000,
      retry: { firstDelayMs: 50 },
      watch: ['/Vidéos'],
      // Passes are run by the test (runOnce); the timer never fires during it.
      watchIntervalMs: 3_600_000,
    },
  });
  url = bridge.url.replace(/\/$/, '');
  await bridge.notifications!.watching!.runOnce();
}, 120_000);

afterAll(async () => {
  await bridge?.close();
  await sim?.close();
  await fakes?.close();
  await rm(stateDir, { recursive: true, force: true });
});

beforeEach(() => {
  fakes.requests.length = 0;
});

/** Sends what waits and waits for every delivery (retries included). */
const settle = () => bridge.notifications!.notifier.flush();

function jellyfinUpdates(): Array<Array<{ Path: string; UpdateType: string }>> {
  return fakes.to('/Library/Media/Updated', 'POST').map((request) => (JSON.parse(request.body) as { Updates: Array<{ Path: string; UpdateType: string }> }).Updates);
}

function hooks(): Array<{ folder: string; events: Array<Record<string, unknown>> }> {
  return fakes.to('/hook', 'POST').map((request) => JSON.parse(request.body) as { folder: string; events: Array<Record<string, unknown>> });
}

function plexRefreshes(): Recorded[] {
  return fakes.to('/library/sections/3/refresh', 'GET');
}

function expectDocumentedHeaders(): void {
  for (const request of fakes.to('/Library/Media/Updated')) {
    expect(request.headers['x-emby-token']).toBe('jellyfin-api-key-0123');
    expect(request.headers.authorization).toBe('MediaBrowser Token="jellyfin-api-key-0123"');
    expect(request.headers['content-type']).toBe('application/json');
  }
  for (const request of [...fakes.to('/library/sections'), ...plexRefreshes()]) expect(request.headers['x-plex-token']).toBe('plex-token-4567');
  for (const request of fakes.to('/hook')) expect(request.headers['content-type']).toBe('application/json');
}

describe('notifications of the bridge own writes', () => {
  it('a PUT: one batched notification per target, paths mapped', async () => {
    expect((await fetch(`${url}/Vid%C3%A9os/nouveau.mkv`, { method: 'PUT', body: Buffer.alloc(1234, 7) })).status).toBe(201);
    await settle();
    expect(jellyfinUpdates()).toEqual([[{ Path: '/mnt/fichier/Vidéos/nouveau.mkv', UpdateType: 'Created' }]]);
    expect(plexRefreshes()).toHaveLength(1);
    expect(plexRefreshes()[0]!.query.get('path')).toBe('/mnt/fichier/Vidéos');
    const [hook] = hooks();
    expect(hooks()).toHaveLength(1);
    expect(hook).toMatchObject({ folder: '/mnt/fichier/Vidéos', events: [{ event: 'created', path: '/mnt/fichier/Vidéos/nouveau.mkv', oldPath: null, size: 1234 }] });
    expect(Date.parse(hook!.events[0]!.time as string)).not.toBeNaN();
    expectDocumentedHeaders();
  }, 120_000);

  it('two PUTs in one folder before the quiet time: one request with both', async () => {
    const puts = ['a.mkv', 'b.srt'].map((name) => fetch(`${url}/Vid%C3%A9os/${name}`, { method: 'PUT', body: Buffer.alloc(100, 1) }));
    for (const answer of await Promise.all(puts)) expect(answer.status).toBe(201);
    await settle();
    expect(jellyfinUpdates()).toHaveLength(1);
    expect(jellyfinUpdates()[0]!.map((update) => update.Path).sort()).toEqual(['/mnt/fichier/Vidéos/a.mkv', '/mnt/fichier/Vidéos/b.srt']);
    expect(hooks()).toHaveLength(1);
    expect(plexRefreshes()).toHaveLength(1);
  }, 120_000);

  it('a MOVE: the old path deleted and the new one created, in one request', async () => {
    const answer = await fetch(`${url}/Vid%C3%A9os/nouveau.mkv`, { method: 'MOVE', headers: { Destination: `${url}/Vid%C3%A9os/renomm%C3%A9.mkv` } });
    expect(answer.status).toBe(201);
    await settle();
    expect(jellyfinUpdates()).toEqual([
      [
        { Path: '/mnt/fichier/Vidéos/nouveau.mkv', UpdateType: 'Deleted' },
        { Path: '/mnt/fichier/Vidéos/renommé.mkv', UpdateType: 'Created' },
      ],
    ]);
    expect(hooks()).toEqual([{ folder: '/mnt/fichier/Vidéos', events: [expect.objectContaining({ event: 'moved', path: '/mnt/fichier/Vidéos/renommé.mkv', oldPath: '/mnt/fichier/Vidéos/nouveau.mkv' })] }]);
    expect(plexRefreshes()).toHaveLength(1);
    expectDocumentedHeaders();
  }, 120_000);

  it('a DELETE: one Deleted notification', async () => {
    expect((await fetch(`${url}/Vid%C3%A9os/renomm%C3%A9.mkv`, { method: 'DELETE' })).status).toBe(204);
    await settle();
    expect(jellyfinUpdates()).toEqual([[{ Path: '/mnt/fichier/Vidéos/renommé.mkv', UpdateType: 'Deleted' }]]);
    expect(hooks()).toEqual([{ folder: '/mnt/fichier/Vidéos', events: [expect.objectContaining({ event: 'deleted', path: '/mnt/fichier/Vidéos/renommé.mkv' })] }]);
    expect(plexRefreshes()).toHaveLength(1);
  }, 120_000);

  it('a change outside every mapping reaches no media server (the webhook too has a mapping)', async () => {
    expect((await fetch(`${url}/Documents/facture.pdf`, { method: 'PUT', body: Buffer.alloc(10, 1) })).status).toBe(201);
    await settle();
    expect(fakes.requests).toEqual([]);
  }, 120_000);
});

describe('changes made on the account directly', () => {
  it('found by the watch refresh: exactly one notification per target', async () => {
    const added = await sim.addFile({ folderId: videos, name: 'depuis le site.mp4', content: Buffer.alloc(4321, 3) });
    await renameOnAccount(sim, (await bridge.drive.upstreamRef('/Vidéos/ancien.mkv') as { url: string }).url, 'ancien (2019).mkv');
    // The refresh respects 1fichier's per-folder window: passes before it opens find the saved listing.
    for (let pass = 0; pass < 50 && hooks().length === 0; pass += 1) {
      await bridge.notifications!.watching!.runOnce();
      await settle();
      if (hooks().length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await bridge.notifications!.watching!.runOnce();
    await settle();
    void added;
    expect(hooks()).toHaveLength(1);
    const events = hooks()[0]!.events;
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ event: 'created', path: '/mnt/fichier/Vidéos/depuis le site.mp4', size: 4321 }),
        expect.objectContaining({ event: 'moved', path: '/mnt/fichier/Vidéos/ancien (2019).mkv', oldPath: '/mnt/fichier/Vidéos/ancien.mkv' }),
      ]),
    );
    expect(jellyfinUpdates()).toHaveLength(1);
    expect(jellyfinUpdates()[0]).toEqual(
      expect.arrayContaining([
        { Path: '/mnt/fichier/Vidéos/depuis le site.mp4', UpdateType: 'Created' },
        { Path: '/mnt/fichier/Vidéos/ancien.mkv', UpdateType: 'Deleted' },
        { Path: '/mnt/fichier/Vidéos/ancien (2019).mkv', UpdateType: 'Created' },
      ]),
    );
    expect(plexRefreshes()).toHaveLength(1);
    expectDocumentedHeaders();
  }, 120_000);
});

describe('a failing target', () => {
  it('is retried (500, then accepted) while WebDAV requests keep answering', async () => {
    const held = fakes.holdNext('/Library/Media/Updated', 500);
    expect((await fetch(`${url}/Vid%C3%A9os/lent.mkv`, { method: 'PUT', body: Buffer.alloc(300, 2) })).status).toBe(201);
    const delivered = settle();
    await held.arrived;
    // Jellyfin has not answered yet: the bridge still serves reads and writes.
    const listing = await fetch(`${url}/Vid%C3%A9os/`, { method: 'PROPFIND', headers: { Depth: '1' } });
    expect(listing.status).toBe(207);
    expect(await listing.text()).toContain('lent.mkv');
    const get = await fetch(`${url}/Vid%C3%A9os/lent.mkv`);
    expect(get.status).toBe(200);
    expect((await get.arrayBuffer()).byteLength).toBe(300);
    expect((await fetch(`${url}/Vid%C3%A9os/autre.txt`, { method: 'PUT', body: 'x' })).status).toBe(201);
    held.release();
    await delivered;
    await settle();
    const attempts = jellyfinUpdates().filter((updates) => updates.some((update) => update.Path === '/mnt/fichier/Vidéos/lent.mkv'));
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).toEqual(attempts[1]);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/fichier_dav_notify_requests_total\{target="jellyfin",outcome="retried"\} 1\b/);
    expect(text).toMatch(/fichier_dav_notify_requests_total\{target="jellyfin",outcome="failed"\} 1\b/);
    expect(text).toMatch(/fichier_dav_notify_pending 0\b/);
    // The failure and the retry are in the log; the key and the token never are.
    expect(logLines.some((line) => line.startsWith('notify: failed; will retry') && line.includes('"target":"jellyfin"'))).toBe(true);
    expect(logLines.some((line) => line.startsWith('notify: sent'))).toBe(true);
    expect(logLines.filter((line) => line.includes('jellyfin-api-key-0123') || line.includes('plex-token-4567'))).toEqual([]);
  }, 120_000);
});

describe('notifications of a confined user', () => {
  it("a user whose home is /Vidéos PUTs /film.mkv: the account's path /Vidéos/film.mkv is notified", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fichier-dav-notify-home-'));
    const usersFile = join(dir, 'users.yaml');
    const alice = { user: 'alice', password: 'alice-password-1' };
    await writeFile(usersFile, ['users:', '  alice:', `    password: "${bcrypt.hashSync(alice.password, 4)}"`, '    home: /Vidéos', '    permissions: all', ''].join('\n'));
    const confined = await startBridge({
      apiKey: KEY,
      apiUrl: sim.apiUrl,
      port: 0,
      stateDir: join(dir, 'state'),
      client: { timeScale: SCALE },
      auth: { usersFile },
      notify: { webhook: `${fakes.url}/hook`, pathMap: ['/Vidéos=/mnt/fichier/Vidéos'], debounceMs: 60_000, retry: { firstDelayMs: 50 } },
    });
    try {
      const authorization = `Basic ${Buffer.from(`${alice.user}:${alice.password}`).toString('base64')}`;
      const put = await fetch(`${confined.url}film.mkv`, { method: 'PUT', headers: { authorization }, body: Buffer.alloc(321, 3) });
      expect(put.status).toBe(201);
      await confined.notifications!.notifier.flush();
      expect(hooks()).toEqual([{ folder: '/mnt/fichier/Vidéos', events: [expect.objectContaining({ event: 'created', path: '/mnt/fichier/Vidéos/film.mkv', size: 321 })] }]);
    } finally {
      await confined.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
