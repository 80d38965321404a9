/**
 * The real CLI, built and spawned: `fichier-dav serve` over the simulator.
 * - Graceful shutdown: SIGTERM while an upload is half-way through. It stops accepting
 *   connections, lets the upload finish (the file is whole on the account), persists its local
 *   state, and exits 0.
 * - The security flags: HTTPS with users from the environment, and the refusals (exit 2).
 */
import { LocalState } from '../../src/drive/local-state.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { streamToBuffer } from '../integration/helpers.js';
import { buildCli } from './cli-build.js';
import { TEST_CERT, TEST_KEY } from '../simulator/tls-fixture.js';
import { rawRequest } from './helpers.js';

const KEY = 'shutdown-test-key-0123456789';
let cli: string;
let sim: Simulator;
let dir: string;

beforeAll(async () => {
  cli = buildCli();
  sim = await startSimulator({ apiKey: KEY, timeScale: 0.01 });
  dir = await mkdtemp(join(tmpdir(), 'fichier-dav-shutdown-'));
}, 180_000);

afterAll(async () => {
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Served {
  child: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<number | null>;
}

async function serve(args: string[], env: Record<string, string> = {}): Promise<Served> {
  const child = spawn(process.execPath, [cli, 'serve', '--api-url', sim.apiUrl, '--port', '0', '--time-scale', '0.01', ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: dir, FICHIER_API_KEY: KEY, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const check = () => {
      const m = /serving .* at https?:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (m) resolve(Number(m[1]));
    };
    child.stdout!.on('data', check);
    void exit.then((code) => reject(new Error(`serve exited with ${code} before listening:\n${out}\n${err}`)));
  });
  return { child, port, stdout: () => out, stderr: () => err, exit };
}

function pattern(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 13 + 5) % 251;
  return b;
}

async function accountFile(name: string): Promise<Buffer | undefined> {
  sim.setOptions({ limitsEnabled: false });
  const response = await fetch(`${sim.apiUrl}/folder/ls.cgi`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ folder_id: 0, files: 1 }),
  });
  sim.setOptions({ limitsEnabled: true });
  const listing = (await response.json()) as { items?: Array<{ url: string; filename: string }> };
  const item = listing.items?.find((entry) => entry.filename === name);
  return item ? streamToBuffer(sim.contentOf(item.url)) : undefined;
}

describe('graceful shutdown', () => {
  it('SIGTERM during an upload: no new connections, the upload completes, state is saved, exit 0', async () => {
    const stateDir = join(dir, 'state');
    const served = await serve(['--state-dir', stateDir, '--shutdown-grace', '20', '--log-level', 'warn']);
    // Local state to persist: an empty file (1fichier cannot hold it) with a dead property.
    expect((await rawRequest(served.port, { method: 'PUT', path: '/empty.txt', body: '' })).status).toBe(201);

    const content = pattern(1_500_000);
    const half = content.length / 2;
    const upload = new Promise<number>((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port: served.port, method: 'PUT', path: '/movie.bin', headers: { 'Content-Length': content.length }, agent: false },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.write(content.subarray(0, half), () => {
        // Half the body is out: ask the server to stop, then keep sending.
        setTimeout(() => {
          served.child.kill('SIGTERM');
          setTimeout(async () => {
            // The listener is closed: a new client is turned away while the upload goes on.
            const refused = await rawRequest(served.port, { method: 'OPTIONS', path: '/' }).then(
              () => false,
              () => true,
            );
            expect(refused).toBe(true);
            req.end(content.subarray(half));
          }, 300);
        }, 100);
      });
    });

    expect(await upload).toBe(201);
    expect(await served.exit).toBe(0);
    expect(served.stderr()).toMatch(/SIGTERM received, shutting down/);
    const stored = await accountFile('movie.bin');
    expect(stored?.equals(content)).toBe(true);
    const state = await LocalState.open(stateDir);
    expect(state.file('/empty.txt')?.kind).toBe('empty');
    state.close();
  });

  it('an idle server exits 0 at once on SIGINT', async () => {
    const served = await serve(['--state-dir', join(dir, 'state2')]);
    served.child.kill('SIGINT');
    expect(await served.exit, served.stderr()).toBe(0);
  });

  it('refuses to start on a non-loopback address without auth, naming both fixes (exit 2)', async () => {
    const child = spawn(process.execPath, [cli, 'serve', '--api-url', sim.apiUrl, '--host', '0.0.0.0', '--port', '0', '--state-dir', join(dir, 's3')], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, FICHIER_API_KEY: KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toMatch(/without authentication/);
    expect(err).toMatch(/--htpasswd/);
    expect(err).toMatch(/--allow-anonymous/);
  });

  it('serves HTTPS with a user from the environment; OPTIONS is open, the rest needs the password', async () => {
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    await writeFile(cert, TEST_CERT);
    await writeFile(key, TEST_KEY, { mode: 0o600 });
    const served = await serve(['--state-dir', join(dir, 'state4'), '--tls-cert', cert, '--tls-key', key, '--read-only'], {
      FICHIER_DAV_USER: 'alice',
      FICHIER_DAV_PASS: 'sésame: ouvre-toi',
    });
    try {
      expect(served.stdout()).toMatch(/at https:\/\/127\.0\.0\.1:\d+\//);
      expect((await rawRequest(served.port, { method: 'OPTIONS', path: '/' }, true)).status).toBe(200);
      expect((await rawRequest(served.port, { method: 'PROPFIND', path: '/', headers: { Depth: '0' } }, true)).status).toBe(401);
      const auth = { user: 'alice', password: 'sésame: ouvre-toi' };
      expect((await rawRequest(served.port, { method: 'PROPFIND', path: '/', headers: { Depth: '1' }, auth }, true)).status).toBe(207);
      expect((await rawRequest(served.port, { method: 'MKCOL', path: '/x', auth }, true)).status).toBe(403);
    } finally {
      served.child.kill('SIGTERM');
      expect(await served.exit).toBe(0);
    }
    expect(served.stdout() + served.stderr()).not.toContain('sésame');
  });

  it.each([
    [['--tls-cert', 'x.pem'], /both --tls-cert and --tls-key/],
    [['--user', 'bob'], /without a password/],
    [['--htpasswd', '/nonexistent/users'], /cannot read the htpasswd file/],
  ])('refuses %j with a clear message (exit 2)', async (args, message) => {
    const child = spawn(process.execPath, [cli, 'serve', '--api-url', sim.apiUrl, '--port', '0', '--state-dir', join(dir, 's5'), ...(args as string[])], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, FICHIER_API_KEY: KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toMatch(message as RegExp);
  });
});
