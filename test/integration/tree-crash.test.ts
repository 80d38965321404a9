/**
 * kill -9 (SIGKILL of the real CLI process) at seeded points of two folder-tree writes, then a
 * restart on the same state directory: a MOVE of a folder onto an existing folder (Overwrite: T)
 * and a recursive DELETE. After each restart the journal settles the write, and the account must
 * show it either fully done or not at all: every file of both trees whole where the model says,
 * no half-deleted or half-merged tree, no folder set aside left behind, no alias, no duplicate.
 *
 * Every upstream API call is slowed (a real delay in the simulator), so the kill points fall
 * between and inside the write's steps. TREE_CRASH_SEED replays a run.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { accountView, eventually, type AccountView } from './account-view.js';
import { serveCli, type ServedBridge } from './served-bridge.js';
import { bodyOf, send } from './write-http.js';
import { random } from './helpers.js';

const KEY = 'tree-crash-key-0123456789';
const SEED = Number(process.env.TREE_CRASH_SEED ?? Date.now() % 100_000);
const ROUNDS = 4;
const STEP_DELAY_MS = 120;

let sim: Simulator;
let dir: string;
let stateDir: string;
let bridge: ServedBridge | undefined;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY, timeScale: 0.01 });
  dir = await mkdtemp(join(tmpdir(), 'fichier-dav-tree-crash-'));
  stateDir = join(dir, 'state');
});

afterAll(async () => {
  await bridge?.stop();
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Relative path → bytes of one tree. */
type Tree = Map<string, Buffer>;

function makeTree(seed: number): Tree {
  const tree: Tree = new Map();
  ['a.bin', 'b.bin', 'sub/c.bin', 'sub/d.bin', 'sub/deep/e.bin'].forEach((name, index) => tree.set(name, bodyOf(seed * 10 + index, 5_000 + index * 3_000)));
  return tree;
}

async function upload(url: string, root: string, tree: Tree): Promise<void> {
  const folders = new Set<string>([root]);
  for (const name of tree.keys()) {
    const parts = name.split('/');
    for (let index = 1; index < parts.length; index += 1) folders.add(`${root}/${parts.slice(0, index).join('/')}`);
  }
  for (const folder of [...folders].sort()) expect((await send({ method: 'MKCOL', url: `${url}${folder}/` })).status).toBe(201);
  for (const [name, body] of tree) {
    expect((await send({ method: 'PUT', url: `${url}${root}/${name}`, headers: { 'Content-Length': body.length }, pieces: [body] })).status).toBe(201);
  }
}

/** The files of the account under `root` (relative), and whether any folder under it exists at all. */
function treeAt(view: AccountView, root: string): { files: Map<string, Buffer>; exists: boolean } {
  const files = new Map<string, Buffer>();
  for (const [path, body] of view.files) if (path.startsWith(`${root}/`)) files.set(path.slice(root.length + 1), body);
  return { files, exists: view.folders.has(root) };
}

function sameTree(a: Map<string, Buffer>, b: Tree): boolean {
  return a.size === b.size && [...b].every(([name, body]) => a.get(name)?.equals(body) === true);
}

function journalRecords(): number {
  const file = join(stateDir, 'state.db');
  if (!existsSync(file)) return 0;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const exists = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'write_journal'").get() as { n: number };
    return exists.n === 0 ? 0 : (db.prepare('SELECT count(*) AS n FROM write_journal').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

function asides(view: AccountView): string[] {
  return [...view.folders, ...view.files.keys()].filter((path) => path.includes('.fichier-dav-aside-'));
}

/** After a restart: the journal is empty and nothing is set aside any more. */
async function settledView(): Promise<AccountView> {
  const { view } = await eventually(
    async () => ({ view: await accountView(sim), records: journalRecords() }),
    ({ view, records }) => records === 0 && asides(view).length === 0,
    90_000,
  );
  return view;
}

/** Runs `request` with every API call slowed, kills the bridge after `killAfterMs`, restarts it. */
async function killDuring(request: () => Promise<{ status: number }>, killAfterMs: number): Promise<number> {
  sim.setFaults({ slow: [{ host: 'api', delayMs: STEP_DELAY_MS }] });
  const answer = request();
  await new Promise((resolve) => setTimeout(resolve, killAfterMs));
  await bridge!.kill9();
  const told = (await answer).status;
  sim.clearFaults();
  bridge = await serveCli(sim, stateDir, dir);
  return told;
}

describe(`kill -9 during folder-tree writes, then restart (seed ${SEED})`, () => {
  it('a folder MOVE onto an existing folder either fully happens or not at all', async () => {
    const next = random(SEED);
    bridge = await serveCli(sim, stateDir, dir);
    const outcomes: string[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const source = makeTree(SEED + round * 2);
      const replaced = makeTree(SEED + round * 2 + 1);
      const from = `/m${round}-src`;
      const to = `/m${round}-dst`;
      await upload(bridge.url, from, source);
      await upload(bridge.url, to, replaced);
      // The move costs about 2 calls + (5 files, 3 folders) to remove: cover it all and a little past.
      const killAfterMs = Math.floor(next() * STEP_DELAY_MS * 10);
      const url = bridge.url;
      const told = await killDuring(() => send({ method: 'MOVE', url: `${url}${from}/`, headers: { Destination: `${url}${to}/`, Overwrite: 'T' } }), killAfterMs);
      const view = await settledView();
      const context = `seed ${SEED}, round ${round}, kill after ${killAfterMs} ms, answer ${told}`;
      const atFrom = treeAt(view, from);
      const atTo = treeAt(view, to);
      const done = !atFrom.exists && atFrom.files.size === 0 && sameTree(atTo.files, source);
      const notDone = sameTree(atFrom.files, source) && sameTree(atTo.files, replaced);
      expect(view.duplicates, context).toEqual([]);
      expect(asides(view), context).toEqual([]);
      expect(done || notDone, `${context}: neither done nor undone: from ${[...atFrom.files.keys()]}, to ${[...atTo.files.keys()]}`).toBe(true);
      if (told >= 200 && told < 300) expect(done, context).toBe(true);
      if (told >= 400) expect(notDone, context).toBe(true);
      // The bridge agrees with the account.
      const listing = await (await fetch(`${bridge.url}/`, { method: 'PROPFIND', headers: { Depth: '1' } })).text();
      expect(listing, context).not.toMatch(/fichier-dav-aside|%5B/);
      const probe = done ? `${to}/sub/deep/e.bin` : `${from}/sub/deep/e.bin`;
      const got = Buffer.from(await (await fetch(`${bridge.url}${probe}`)).arrayBuffer());
      expect(got.equals(source.get('sub/deep/e.bin')!), context).toBe(true);
      outcomes.push(`${killAfterMs}ms:${told}:${done ? 'done' : 'undone'}`);
    }
    console.log(`tree-crash MOVE seed ${SEED}: ${outcomes.join(' ')}`);
  }, 600_000);

  it('a recursive DELETE either fully happens or not at all', async () => {
    const next = random(SEED + 1);
    bridge ??= await serveCli(sim, stateDir, dir);
    const outcomes: string[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const tree = makeTree(SEED + 100 + round);
      const root = `/d${round}`;
      await upload(bridge.url, root, tree);
      const killAfterMs = Math.floor(next() * STEP_DELAY_MS * 9);
      const url = bridge.url;
      const told = await killDuring(() => send({ method: 'DELETE', url: `${url}${root}/` }), killAfterMs);
      const view = await settledView();
      const context = `seed ${SEED}, round ${round}, kill after ${killAfterMs} ms, answer ${told}`;
      const at = treeAt(view, root);
      const gone = !at.exists && at.files.size === 0;
      const whole = sameTree(at.files, tree) && ['', '/sub', '/sub/deep'].every((folder) => view.folders.has(`${root}${folder}`));
      expect(view.duplicates, context).toEqual([]);
      expect(asides(view), context).toEqual([]);
      expect(gone || whole, `${context}: half-deleted: ${[...at.files.keys()]}`).toBe(true);
      if (told >= 200 && told < 300) expect(gone, context).toBe(true);
      if (told >= 400) expect(whole, context).toBe(true);
      outcomes.push(`${killAfterMs}ms:${told}:${gone ? 'gone' : 'whole'}`);
    }
    console.log(`tree-crash DELETE seed ${SEED}: ${outcomes.join(' ')}`);
  }, 600_000);
});
