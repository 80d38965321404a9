/**
 * The account's API windows survive restarts and are shared with every process of the account,
 * at 1fichier's REAL limits (simulator and bridge at time scale 1: one listing of a folder per
 * 30 s, user/info once per 60 s, about 3 calls/s), where any second listing inside a window is a
 * flood answer:
 *
 * - a restarted serve answers its first PROPFIND from the saved listing instead of listing again;
 * - 20 restarts of serve under a browsing client make no flood answer;
 * - the account CLI (`ls`, `ls --fresh`, `info`) next to a busy serve makes no flood answer.
 *
 * Neither serve nor the CLI gets --state-dir: both find the account's folder from its identity,
 * as users run them.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { CLI_MAIN } from '../support/built-cli.js';
import { runCli } from './helpers.js';
import { propfind, startServe, userEnv } from './serve-process.js';

const KEY = 'restart-windows-key-5a4b3c2d1e';
let sim: Simulator;
let home: string;
const children: ChildProcess[] = [];

/** A new account (simulator) and a new user home: nothing known of earlier tests' windows. */
async function freshHome(): Promise<NodeJS.ProcessEnv> {
  home = await mkdtemp(join(tmpdir(), 'fichier-dav-restart-'));
  sim = await startSimulator({ apiKey: KEY, timeScale: 1 });
  const movies = await sim.addFolder({ name: 'Movies' });
  const docs = await sim.addFolder({ name: 'Docs' });
  await sim.addFile({ folderId: movies, name: 'clip.mp4', content: 'not really a movie' });
  await sim.addFile({ folderId: docs, name: 'notes.txt', content: 'notes' });
  await sim.addFile({ name: 'readme.txt', content: 'hello' });
  return userEnv(home, { FICHIER_API_KEY: KEY });
}

afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await sim?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

function floods(): number {
  return sim.stats().floods;
}

function calls(endpoint: string): number {
  return sim.stats().calls[endpoint] ?? 0;
}

describe('restarting serve inside 1fichier windows (real limits)', () => {
  it('answers the first PROPFIND after a restart from the saved listing: no second listing, no flood', async () => {
    const env = await freshHome();
    const first = await startServe(['--api-url', sim.apiUrl], env, children);
    const before = await propfind(first.url, '/');
    expect(before.status).toBe(207);
    expect(before.hrefs).toEqual(expect.arrayContaining(['/Movies/', '/Docs/', '/readme.txt']));
    expect(await first.stop()).toBe(0);

    const second = await startServe(['--api-url', sim.apiUrl], env, children);
    const after = await propfind(second.url, '/');
    expect(after.status).toBe(207);
    expect(after.hrefs.sort()).toEqual(before.hrefs.sort());
    expect(await second.stop()).toBe(0);

    expect(floods()).toBe(0);
    expect(calls('folder/ls.cgi')).toBe(1);
    // user/info once, to identify the account; the restart's key check waits for its window.
    expect(calls('user/info.cgi')).toBe(1);
  });

  it('20 restarts under a browsing client make no flood answer', async () => {
    const env = await freshHome();
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      const served = await startServe(['--api-url', sim.apiUrl, '--log-level', 'warn'], env, children);
      statuses.push((await propfind(served.url, '/')).status);
      statuses.push((await propfind(served.url, i % 2 === 0 ? '/Movies/' : '/Docs/')).status);
      const file = await fetch(`${served.url}/readme.txt`);
      statuses.push(file.status);
      expect(await file.text()).toBe('hello');
      expect(await served.stop()).toBe(0);
    }
    expect(statuses.every((status) => status === 207 || status === 200)).toBe(true);
    expect(floods()).toBe(0);
  }, 600_000);
});

describe('the account CLI beside a busy serve (real limits)', () => {
  it('ls, ls --fresh and info share the windows with serve: no flood answer', async () => {
    const env = await freshHome();
    const served = await startServe(['--api-url', sim.apiUrl, '--log-level', 'warn'], env, children);
    let browsing = true;
    const browse = (async () => {
      const seen: number[] = [];
      while (browsing) {
        for (const path of ['/', '/Movies/', '/Docs/']) seen.push((await propfind(served.url, path)).status);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return seen;
    })();
    const cli = (args: string[]) => runCli(CLI_MAIN, [...args, '--api-url', sim.apiUrl], { env: env as Record<string, string> });
    try {
      const root = await cli(['ls', '/']);
      expect(root.code, root.stderr).toBe(0);
      expect(root.stdout).toContain('Movies/');
      const movies = await cli(['ls', '/Movies']);
      expect(movies.code, movies.stderr).toBe(0);
      expect(movies.stdout).toContain('clip.mp4');
      // --fresh refuses the saved listing: it must wait for the account's window, not flood.
      const fresh = await cli(['ls', '/Docs', '--fresh']);
      expect(fresh.code, fresh.stderr).toBe(0);
      expect(fresh.stdout).toContain('notes.txt');
      const info = await cli(['info']);
      expect(info.code, info.stderr).toBe(0);
    } finally {
      browsing = false;
    }
    const seen = await browse;
    expect(seen.length).toBeGreaterThan(3);
    expect(seen.every((status) => status === 207)).toBe(true);
    expect(await served.stop()).toBe(0);
    expect(floods()).toBe(0);
  }, 300_000);
});
