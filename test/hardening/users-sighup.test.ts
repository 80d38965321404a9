/**
 * `fichier-dav serve --users FILE` as users run it: SIGHUP re-reads the file (a changed password
 * takes effect), and a broken file on reload keeps the users in force and logs why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { buildCli } from './cli-build.js';
import { rawRequest } from './helpers.js';

const KEY = 'users-sighup-key-0123456789';
let sim: Simulator;
let dir: string;
let child: ChildProcess | undefined;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY, timeScale: 0.01 });
  dir = await mkdtemp(join(tmpdir(), 'fichier-dav-sighup-'));
}, 120_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const users = (password: string) => `users:\n  alice:\n    password: "${bcrypt.hashSync(password, 4)}"\n    permissions: [read]\n`;

async function until(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('serve --users, reloaded on SIGHUP', () => {
  it('takes a changed file and keeps the old users when the new file is broken', async () => {
    const file = join(dir, 'users.yaml');
    await writeFile(file, users('first-password'));
    child = spawn(process.execPath, [buildCli(), 'serve', '--api-url', sim.apiUrl, '--port', '0', '--time-scale', '0.01', '--state-dir', join(dir, 'state'), '--users', file], {
      env: { PATH: process.env.PATH ?? '', HOME: dir, FICHIER_API_KEY: KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    await until(() => /serving .* at http:\/\/127\.0\.0\.1:\d+\//.test(out), 'serve to listen');
    const port = Number(/at http:\/\/127\.0\.0\.1:(\d+)\//.exec(out)![1]);
    const get = (password: string) => rawRequest(port, { method: 'PROPFIND', path: '/', headers: { Depth: '0' }, auth: { user: 'alice', password } });
    expect((await get('first-password')).status).toBe(207);

    await writeFile(file, users('second-password'));
    child.kill('SIGHUP');
    await until(async () => (await get('second-password')).status === 207, 'the new password to be taken');
    expect((await get('first-password')).status).toBe(401);

    await writeFile(file, 'users:\n  alice:\n    password: [not, a, hash]\n');
    child.kill('SIGHUP');
    await until(() => out.includes('users not reloaded'), 'the reload to be refused');
    expect(out).toMatch(/password hash.*users not reloaded/);
    expect((await get('second-password')).status).toBe(207);
    expect(child.exitCode).toBeNull();

    // A path that is no users file at all (a device that never ends): refused after a few MiB
    // with a reason, not read until the memory runs out; the users in force stay.
    await rm(file);
    await symlink('/dev/zero', file);
    const refusals = out.split('users not reloaded').length;
    child.kill('SIGHUP');
    await until(() => out.split('users not reloaded').length > refusals, 'the second reload to be refused');
    expect(out).toMatch(/larger than 4 MiB.*users not reloaded/);
    expect((await get('second-password')).status).toBe(207);
    expect(child.exitCode).toBeNull();
  }, 180_000);
});
