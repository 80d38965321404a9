/**
 * Where secrets could leak besides the obvious places:
 * - a password typed into the user-name field must not be logged (a configured user's name is);
 * - `serve` turns its own core dumps off (RLIMIT_CORE 0:0), checked on the real process in /proc;
 * - `--metrics-host` off loopback is refused without `--metrics-public`.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { buildCli } from './cli-build.js';
import { startHardStack } from './helpers.js';

const ALICE = { user: 'alice', password: 'alice password' };

describe('user names in logs', () => {
  it('an unknown name (a password typed in the wrong field) is logged only as a keyed digest; a known name as is', async () => {
    const s = await startHardStack({}, { auth: { users: [ALICE] } });
    try {
      const typedInNameField = 'Tr0ub4dor&3-correct-horse';
      expect((await s.req({ method: 'PROPFIND', path: '/', headers: { Depth: '0' }, auth: { user: typedInNameField, password: '' } })).status).toBe(401);
      expect((await s.req({ method: 'PROPFIND', path: '/', headers: { Depth: '0' }, auth: { user: typedInNameField, password: 'x' } })).status).toBe(401);
      expect((await s.req({ method: 'PROPFIND', path: '/', headers: { Depth: '0' }, auth: { user: 'alice', password: 'wrong' } })).status).toBe(401);
      const log = s.log.lines.join('\n');
      expect(log).not.toContain(typedInNameField);
      expect(log).not.toContain('Tr0ub4dor');
      const unknown = s.log.lines.filter((line) => line.includes('auth: wrong credentials') && line.includes('"user":"unknown:'));
      expect(unknown).toHaveLength(2);
      // The same unknown name gives the same digest, so repeated attempts can be told apart.
      expect(new Set(unknown.map((line) => /"user":"(unknown:[0-9a-f]+)"/.exec(line)?.[1])).size).toBe(1);
      expect(log).toMatch(/auth: wrong credentials .*"user":"alice"/);
    } finally {
      await s.close();
    }
  });
});

describe('serve as a process', () => {
  const KEY = 'exposure-test-key-0123456789';
  let cli: string;
  let sim: Simulator;
  let dir: string;

  beforeAll(async () => {
    cli = buildCli();
    sim = await startSimulator({ apiKey: KEY, timeScale: 0.01 });
    dir = await mkdtemp(join(tmpdir(), 'fichier-dav-exposure-'));
  }, 180_000);

  afterAll(async () => {
    await sim?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function serve(args: string[]) {
    const child = spawn(process.execPath, [cli, 'serve', '--api-url', sim.apiUrl, '--port', '0', '--time-scale', '0.01', ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, FICHIER_API_KEY: KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const listening = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => {
        if (/serving .* at http/.test(out)) resolve();
      });
      void exit.then((code) => reject(new Error(`serve exited with ${code}:\n${out}\n${err}`)));
    });
    return { child, exit, listening, stderr: () => err };
  }

  it('serve runs with core dumps off (RLIMIT_CORE 0, soft and hard)', async () => {
    const served = serve([]);
    try {
      await served.listening;
      const limits = await readFile(`/proc/${served.child.pid}/limits`, 'utf8');
      const core = limits.split('\n').find((line) => line.startsWith('Max core file size'));
      expect(core).toMatch(/^Max core file size\s+0\s+0\s+bytes/);
    } finally {
      served.child.kill('SIGTERM');
      await served.exit;
    }
  });

  it('--metrics-host off loopback is refused (exit 2, with the fix) unless --metrics-public is given', async () => {
    const served = serve(['--metrics-port', '0', '--metrics-host', '0.0.0.0']);
    served.listening.catch(() => {});
    expect(await served.exit).toBe(2);
    expect(served.stderr()).toMatch(/refusing to serve \/metrics on 0\.0\.0\.0.*--metrics-public/s);
  });
});
