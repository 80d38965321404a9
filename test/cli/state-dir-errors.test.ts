/**
 * A state directory that cannot hold the account's database: each cause gets a message naming the
 * file and the fix, and `serve` exits with it instead of a stack trace. Before, every cause was
 * "cannot open the account's state … choose another folder with --state-dir" (an "unexpected
 * error" from the CLI, an uncaught exception from serve), which for a damaged state.db sent users
 * to a fresh folder, losing the empty files and properties only that database held.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { CLI_MAIN } from '../support/built-cli.js';

const KEY = 'state-dir-errors-key-0123456789';
let sim: Simulator;
let work: string;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY, timeScale: 0.01 });
  work = await mkdtemp(join(tmpdir(), 'fichier-dav-state-errors-'));
});

afterAll(async () => {
  await sim?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

function fichierDav(args: string[]) {
  return spawnSync(process.execPath, [CLI_MAIN, ...args, '--api-url', sim.apiUrl, '--time-scale', '0.01'], {
    env: { PATH: process.env.PATH ?? '', HOME: work, FICHIER_API_KEY: KEY },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

describe('a state directory that cannot hold the database', () => {
  it('a damaged state.db: ls and serve exit 1 saying it is damaged and how to move it aside', () => {
    const dir = join(work, 'damaged');
    mkdirSync(dir);
    writeFileSync(join(dir, 'state.db'), Buffer.alloc(8192, 0x5a));
    for (const args of [['ls', '/', '--state-dir', dir], ['serve', '--port', '0', '--state-dir', dir]]) {
      const run = fichierDav(args);
      expect(run.status, `${args[0]}: ${run.stderr}`).toBe(1);
      expect(run.stderr).toContain(`${join(dir, 'state.db')} is damaged`);
      expect(run.stderr).toContain(`mv ${join(dir, 'state.db')} ${join(dir, 'state.db')}.damaged`);
      expect(run.stderr).not.toMatch(/unexpected error|^\s+at /m);
    }
  });

  it('a folder where the database cannot be created: exit 1 saying the folder must be writable', () => {
    const dir = join(work, 'unwritable');
    mkdirSync(join(dir, 'state.db'), { recursive: true }); // a folder where the file should be
    for (const args of [['ls', '/', '--state-dir', dir], ['serve', '--port', '0', '--state-dir', dir]]) {
      const run = fichierDav(args);
      expect(run.status, `${args[0]}: ${run.stderr}`).toBe(1);
      expect(run.stderr).toContain(`cannot write the account's state in ${dir}`);
      expect(run.stderr).not.toMatch(/unexpected error|^\s+at /m);
    }
  });
});
