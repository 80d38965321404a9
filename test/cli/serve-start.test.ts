/**
 * What `serve` does at start: it checks the key (one user/info) and refuses to serve a refused
 * key (exit 4); it serves with an unreachable API but says it is not ready; it finds the
 * account's local state again after a key rotation, with a trailing `/` on --api-url, and from the
 * cache folder earlier versions used.
 */
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { serveUntilExit, startServe, userEnv } from './serve-process.js';

const KEY = 'serve-start-key-0a1b2c3d4e';
const ROTATED = 'serve-start-key-rotated-9f8e';
let sim: Simulator | undefined;
let home: string | undefined;
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await sim?.close();
  sim = undefined;
  if (home) await rm(home, { recursive: true, force: true });
});

async function setup(): Promise<{ sim: Simulator; home: string }> {
  sim = await startSimulator({ apiKey: KEY, timeScale: 0.01 });
  home = await mkdtemp(join(tmpdir(), 'fichier-dav-start-'));
  return { sim, home };
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const WIN32 = 'urn:schemas-microsoft-com:';
const proppatch = `<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="${WIN32}"><D:set><D:prop><Z:Win32CreationTime>Thu, 01 Jan 2026 10:00:00 GMT</Z:Win32CreationTime></D:prop></D:set></D:propertyupdate>`;
const propfindBody = `<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:Z="${WIN32}"><D:prop><Z:Win32CreationTime/><D:getcontentlength/></D:prop></D:propfind>`;

async function creationTimeOf(base: string, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`${base}${path}`, { method: 'PROPFIND', headers: { Depth: '0', 'Content-Type': 'application/xml' }, body: propfindBody });
  return { status: response.status, body: await response.text() };
}

describe('serve at start', () => {
  it('a refused key: a clear error and exit 4, whether or not the account is named', async () => {
    const { sim, home } = await setup();
    for (const extra of [[], ['--account', 'work']]) {
      const result = await serveUntilExit(['--api-url', sim.apiUrl, ...extra], userEnv(home, { FICHIER_API_KEY: 'not-the-key' }), children);
      expect(result.code, result.stderr).toBe(4);
      expect(result.stderr).toContain('1fichier refused the API key');
      expect(result.stdout).not.toContain('serving');
      expect(result.stderr).not.toContain('not-the-key');
    }
  });

  it('an unreachable API: serves, warns, and /readyz says not ready (/healthz: alive)', async () => {
    const { home } = await setup();
    const url = `http://127.0.0.1:${await closedPort()}/v1`;
    const served = await startServe(['--api-url', url, '--account', 'work', '--metrics-port', '0'], userEnv(home, { FICHIER_API_KEY: KEY }), children);
    const metrics = /"metrics":"(http:\/\/[^"]+)\/metrics"/.exec(served.stderr())?.[1];
    expect(metrics, served.stderr()).toBeDefined();
    expect(served.stderr()).toContain('cannot check the API key now');
    expect(served.stderr()).toContain(`cannot reach the 1fichier API at ${url}`);
    const ready = await fetch(`${metrics}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toContain('cannot reach the 1fichier API');
    expect((await fetch(`${served.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${metrics}/healthz`)).status).toBe(200);
    expect(await served.stop()).toBe(0);
  });

  it('a rotated key (and a trailing / on --api-url) keeps empty files and dead properties', async () => {
    const { sim, home } = await setup();
    const first = await startServe(['--api-url', sim.apiUrl], userEnv(home, { FICHIER_API_KEY: KEY }), children);
    expect((await fetch(`${first.url}/empty.txt`, { method: 'PUT', body: '' })).status).toBe(201);
    const patched = await fetch(`${first.url}/empty.txt`, { method: 'PROPPATCH', headers: { 'Content-Type': 'application/xml' }, body: proppatch });
    expect(patched.status).toBe(207);
    expect(await first.stop()).toBe(0);

    // The user creates a new key on 1fichier: the old one stops working.
    sim.setOptions({ apiKey: ROTATED });
    const second = await startServe(['--api-url', `${sim.apiUrl}/`], userEnv(home, { FICHIER_API_KEY: ROTATED }), children);
    const found = await creationTimeOf(second.url, '/empty.txt');
    expect(found.status).toBe(207);
    expect(found.body).toContain('Thu, 01 Jan 2026 10:00:00 GMT');
    expect(await second.stop()).toBe(0);
  });

  it('moves the state an earlier version kept under ~/.cache/fichier-dav/<hash>', async () => {
    const { sim, home } = await setup();
    const legacy = join(home, 'cache', 'fichier-dav', createHash('sha256').update(`${sim.apiUrl}\n${KEY}`).digest('hex').slice(0, 16));
    await mkdir(legacy, { recursive: true });
    await writeFile(
      join(legacy, 'state.json'),
      JSON.stringify({
        version: 1,
        files: { '/kept.txt': { kind: 'empty', size: 0, created: '2026-01-01T00:00:00.000Z', modified: '2026-01-01T00:00:00.000Z' } },
        properties: { '/kept.txt': [{ namespace: WIN32, name: 'Win32CreationTime', xml: 'Thu, 01 Jan 2026 10:00:00 GMT' }] },
      }),
    );
    const served = await startServe(['--api-url', sim.apiUrl], userEnv(home, { FICHIER_API_KEY: KEY }), children);
    const found = await creationTimeOf(served.url, '/kept.txt');
    expect(found.status).toBe(207);
    expect(found.body).toContain('Thu, 01 Jan 2026 10:00:00 GMT');
    expect(served.stderr()).toContain('moved the local state to the account folder');
    expect(await served.stop()).toBe(0);
  });
});
