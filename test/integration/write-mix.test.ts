/**
 * A seeded random mix of PUT, MOVE, COPY, DELETE and MKCOL from 8 concurrent clients over 20 paths,
 * folder-tree writes included (DELETE of a folder with its files, MOVE and COPY of a folder, onto
 * an existing one or not),
 * with the simulator's faults switched on now and then (cut uploads, floods, 5xx answers, end.pl
 * answering HTML for `.exe` files, folder removals and moves failing past the client's retries). The clients' requests of one round run at once. Most of them use
 * paths that do not overlap, so the model stays exact: a 2xx means applied, any error means not
 * applied, and a 4xx must be the one the model predicts. In some rounds several clients also PUT
 * one path at once: the file must then hold exactly one of the bodies answered 2xx (which one is
 * read back and becomes the model's). At the end the bridge's listings and bytes and the
 * account itself must equal the model: no byte lost, no alias, no duplicate.
 *
 * WRITE_MIX_SEED replays a run; the seed is in every failure message.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Faults } from '../../src/simulator/index.js';
import { accountView, eventually, type AccountView } from './account-view.js';
import { readBody, startStack, type Stack, random } from './helpers.js';
import { bodyOf } from './write-http.js';

const SEED = Number(process.env.WRITE_MIX_SEED ?? Date.now() % 100_000);
const CLIENTS = 8;
const ROUNDS = 15;

const FOLDERS = ['/F1', '/F2', '/F3'];
/** Files inside the folders that come and go (PUT, DELETE; they move and copy with their folder). */
const FOLDER_FILES = ['/F1/y.bin', '/F2/y.bin', '/F3/y.bin'];
const FILES = [
  ...Array.from({ length: 6 }, (_, index) => `/r${index}.bin`),
  '/r9.exe',
  ...Array.from({ length: 5 }, (_, index) => `/F0/x${index}.bin`),
  '/F0/x5.exe',
];
// 3 folders + 3 files in them + 13 files + the fixed folder /F0 that holds six of them = 20 paths.

function parentPath(path: string): string {
  return path.slice(0, path.lastIndexOf('/'));
}

/** The paths of a folder and everything under it (they all take part in a write on the folder). */
function withChildren(folder: string): string[] {
  return [folder, ...FOLDER_FILES.filter((path) => path.startsWith(`${folder}/`))];
}

type Entry = { kind: 'file'; body: Buffer } | { kind: 'folder' };
type Op =
  | { method: 'PUT'; path: string; body: Buffer }
  | { method: 'DELETE'; path: string }
  | { method: 'MKCOL'; path: string }
  | { method: 'MOVE' | 'COPY'; path: string; to: string; overwrite: boolean };

let stack: Stack | undefined;
afterAll(async () => {
  await stack?.close();
});

/** The status the model predicts for `op` (2xx: it applies). */
function expected(model: Map<string, Entry>, op: Op): number {
  const at = model.get(op.path);
  const parentMissing = (path: string) => parentPath(path) !== '' && parentPath(path) !== '/F0' && !model.has(parentPath(path));
  switch (op.method) {
    case 'PUT':
      if (parentMissing(op.path)) return 409;
      return at ? 204 : 201;
    case 'DELETE':
      return at ? 204 : 404;
    case 'MKCOL':
      return at ? 405 : 201;
    default: {
      if (!at) return 404;
      if (parentMissing(op.to)) return 409;
      const there = model.get(op.to);
      if (there && !op.overwrite) return 412;
      return there ? 204 : 201;
    }
  }
}

/** Removes `path` and everything under it from the model. */
function removeTree(model: Map<string, Entry>, path: string): void {
  for (const key of [...model.keys()]) if (key === path || key.startsWith(`${path}/`)) model.delete(key);
}

function apply(model: Map<string, Entry>, op: Op): void {
  const at = model.get(op.path);
  if (op.method === 'PUT') model.set(op.path, { kind: 'file', body: op.body });
  else if (op.method === 'DELETE') removeTree(model, op.path);
  else if (op.method === 'MKCOL') model.set(op.path, { kind: 'folder' });
  else {
    const moving = [...model].filter(([key]) => key === op.path || key.startsWith(`${op.path}/`));
    removeTree(model, op.to);
    if (op.method === 'MOVE') removeTree(model, op.path);
    for (const [key, entry] of moving) model.set(op.to + key.slice(op.path.length), entry);
  }
}

function pickOp(next: () => number, free: string[], serial: number): { op: Op; uses: string[] } | undefined {
  const take = (pool: string[]) => {
    const candidates = pool.filter((path) => free.includes(path));
    if (candidates.length === 0) return undefined;
    const path = candidates[Math.floor(next() * candidates.length)];
    free.splice(free.indexOf(path), 1);
    return path;
  };
  /** A folder, with the files under it (none of them may be in use by another client this round). */
  const takeFolder = () => {
    const candidates = FOLDERS.filter((folder) => withChildren(folder).every((path) => free.includes(path)));
    if (candidates.length === 0) return undefined;
    const folder = candidates[Math.floor(next() * candidates.length)];
    for (const path of withChildren(folder)) free.splice(free.indexOf(path), 1);
    return folder;
  };
  const roll = next();
  if (roll < 0.22) {
    const path = takeFolder();
    if (!path) return undefined;
    const kind = next();
    if (kind < 0.35) return { op: { method: 'MKCOL', path }, uses: [path] };
    if (kind < 0.6) return { op: { method: 'DELETE', path }, uses: [path] };
    const to = takeFolder();
    if (!to) return { op: { method: 'DELETE', path }, uses: [path] };
    return { op: { method: kind < 0.85 ? 'MOVE' : 'COPY', path, to, overwrite: next() < 0.8 }, uses: [path, to] };
  }
  if (roll < 0.32) {
    const path = take(FOLDER_FILES);
    if (!path) return undefined;
    if (next() < 0.75) return { op: { method: 'PUT', path, body: bodyOf(SEED * 1000 + serial, 1_000 + Math.floor(next() * 60_000)) }, uses: [path] };
    return { op: { method: 'DELETE', path }, uses: [path] };
  }
  const path = take(FILES);
  if (!path) return undefined;
  if (roll < 0.55) return { op: { method: 'PUT', path, body: bodyOf(SEED * 1000 + serial, 1_000 + Math.floor(next() * 120_000)) }, uses: [path] };
  if (roll < 0.67) return { op: { method: 'DELETE', path }, uses: [path] };
  const to = take(FILES);
  if (!to) return { op: { method: 'DELETE', path }, uses: [path] };
  return { op: { method: roll < 0.85 ? 'MOVE' : 'COPY', path, to, overwrite: next() < 0.85 }, uses: [path, to] };
}

async function run(s: Stack, op: Op): Promise<number> {
  const url = `${s.url}${op.path}`;
  const init: RequestInit =
    op.method === 'PUT'
      ? { method: 'PUT', body: op.body }
      : op.method === 'MOVE' || op.method === 'COPY'
        ? { method: op.method, headers: { Destination: `${s.url}${op.to}`, Overwrite: op.overwrite ? 'T' : 'F' } }
        : { method: op.method };
  const response = await fetch(url, init);
  await response.arrayBuffer();
  return response.status;
}

/** Differences between the model and what the bridge and the account show. */
async function differences(s: Stack, model: Map<string, Entry>): Promise<{ problems: string[]; view: AccountView; aliases: number; lostBytes: number }> {
  const problems: string[] = [];
  let lostBytes = 0;
  const view = await accountView(s.sim);
  const wantedFiles = [...model].filter(([, entry]) => entry.kind === 'file').map(([path]) => path).sort();
  const wantedFolders = ['/F0', ...[...model].filter(([, entry]) => entry.kind === 'folder').map(([path]) => path)].sort();
  if (JSON.stringify([...view.files.keys()].sort()) !== JSON.stringify(wantedFiles)) {
    problems.push(`account files ${JSON.stringify([...view.files.keys()].sort())} != model ${JSON.stringify(wantedFiles)}`);
  }
  if (JSON.stringify([...view.folders].sort()) !== JSON.stringify(wantedFolders)) {
    problems.push(`account folders ${JSON.stringify([...view.folders].sort())} != model ${JSON.stringify(wantedFolders)}`);
  }
  if (view.duplicates.length > 0) problems.push(`duplicates upstream: ${view.duplicates.join(', ')}`);
  for (const path of wantedFiles) {
    const want = (model.get(path) as { body: Buffer }).body;
    const upstream = view.files.get(path);
    if (!upstream?.equals(want)) {
      problems.push(`account bytes of ${path} differ`);
      lostBytes += want.length;
    }
    const response = await fetch(`${s.url}${path}`);
    const got = response.status === 200 ? await readBody(response) : (await response.arrayBuffer(), undefined);
    if (!got?.equals(want)) problems.push(`bridge bytes of ${path} differ (status ${response.status})`);
  }
  let aliases = 0;
  for (const folder of ['/', '/F0/', ...FOLDERS.filter((path) => model.has(path)).map((path) => `${path}/`)]) {
    const listing = await fetch(`${s.url}${folder}`, { method: 'PROPFIND', headers: { Depth: '1' } }).then((r) => r.text());
    const hrefs = [...listing.matchAll(/<D:href>([^<]+)<\/D:href>/g)].map((m) => decodeURIComponent(m[1]).replace(/\/$/, ''));
    aliases += hrefs.filter((href) => / \[[a-z0-9]+\]/.test(href)).length;
    const shown = hrefs.filter((href) => href !== folder.replace(/\/$/, '') && href !== '');
    const want = [...wantedFiles, ...wantedFolders].filter((path) => path.slice(0, path.lastIndexOf('/') + 1) === folder);
    if (JSON.stringify(shown.sort()) !== JSON.stringify(want.sort())) problems.push(`bridge listing of ${folder}: ${JSON.stringify(shown)} != ${JSON.stringify(want)}`);
  }
  if (aliases > 0) problems.push(`${aliases} aliases in the bridge's listings`);
  return { problems, view, aliases, lostBytes };
}

describe(`a random mix of writes from ${CLIENTS} clients with faults (seed ${SEED})`, () => {
  it('ends with the bridge, the account and the model in agreement', async () => {
    const next = random(SEED);
    stack = await startStack({}, { drive: { reconcileRetryMs: 200 } });
    const s = stack;
    s.sim.setFaults({ endPlHtmlExtensions: ['.exe'] });
    expect(await run(s, { method: 'MKCOL', path: '/F0' })).toBe(201);
    const model = new Map<string, Entry>();
    const counts = { operations: 0, ok: 0, predicted4xx: 0, failed5xx: 0 };
    const wrong: string[] = [];
    let serial = 0;
    for (let round = 0; round < ROUNDS; round += 1) {
      if (next() < 0.5) {
        const faults: Faults[] = [
          { failures: [{ host: 'api', status: 503, count: 1 + Math.floor(next() * 4) }] },
          { failures: [{ host: 'upload', endpoint: 'upload.cgi', drop: true, count: 1 }] },
          { failures: [{ host: 'api', flood: true, count: 1 }] },
          { failures: [{ host: 'api', endpoint: 'file/rm.cgi', status: 500, count: 2 }] },
          { failures: [{ host: 'api', endpoint: 'file/rm.cgi', flood: true, count: 1 }] },
          // More failures in a row than the client's retries: folder-tree steps fail for good.
          { failures: [{ host: 'api', endpoint: 'folder/rm.cgi', status: 503, count: 12 }] },
          { failures: [{ host: 'api', endpoint: 'folder/mv.cgi', status: 503, count: 12 }] },
        ];
        s.sim.setFaults({ ...faults[Math.floor(next() * faults.length)], endPlHtmlExtensions: ['.exe'] });
      }
      const free = [...FOLDERS, ...FOLDER_FILES, ...FILES];
      const ops: Op[] = [];
      // A race: 2 or 3 clients PUT the same path at once.
      let race: { path: string; count: number } | undefined;
      if (next() < 0.5) {
        const path = FILES[Math.floor(next() * FILES.length)];
        free.splice(free.indexOf(path), 1);
        race = { path, count: 2 + Math.floor(next() * 2) };
        for (let index = 0; index < race.count; index += 1) {
          ops.push({ method: 'PUT', path, body: bodyOf(SEED * 1000 + (serial += 1), 1_000 + Math.floor(next() * 120_000)) });
        }
      }
      for (let client = ops.length; client < CLIENTS; client += 1) {
        const picked = pickOp(next, free, (serial += 1));
        if (picked) ops.push(picked.op);
      }
      const predicted = ops.map((op) => expected(model, op));
      const statuses = await Promise.all(ops.map((op) => run(s, op)));
      if (race) {
        const racers = ops.slice(0, race.count);
        const winners = racers.filter((_, index) => statuses[index] >= 200 && statuses[index] < 300);
        counts.operations += racers.length;
        counts.ok += winners.length;
        counts.failed5xx += racers.length - winners.length;
        const wrongStatus = statuses.slice(0, race.count).filter((status) => status < 500 && (status < 200 || status >= 300));
        if (wrongStatus.length > 0) wrong.push(`seed ${SEED} round ${round}: racing PUTs of ${race.path} answered ${wrongStatus.join(', ')}`);
        if (winners.length > 0) {
          const response = await fetch(`${s.url}${race.path}`);
          const got = response.status === 200 ? await readBody(response) : (await response.arrayBuffer(), undefined);
          const winner = winners.find((op) => got !== undefined && (op as { body: Buffer }).body.equals(got));
          if (!winner) wrong.push(`seed ${SEED} round ${round}: after racing PUTs ${race.path} holds none of the ${winners.length} bodies answered 2xx`);
          else apply(model, winner);
        }
        ops.splice(0, race.count);
        predicted.splice(0, race.count);
        statuses.splice(0, race.count);
      }
      ops.forEach((op, index) => {
        const status = statuses[index];
        counts.operations += 1;
        const label = `seed ${SEED} round ${round}: ${op.method} ${op.path}${'to' in op ? ` -> ${op.to}` : ''} answered ${status}, model ${predicted[index]}`;
        if (status >= 200 && status < 300) {
          counts.ok += 1;
          if (status !== predicted[index]) wrong.push(label);
          else apply(model, op);
        } else if (status >= 500) counts.failed5xx += 1;
        else if (status === predicted[index]) counts.predicted4xx += 1;
        else wrong.push(label);
      });
    }
    s.sim.clearFaults();
    const final = await eventually(
      () => differences(s, model),
      (result) => result.problems.length === 0,
      60_000,
    );
    console.log(
      `write-mix seed ${SEED}: ${counts.operations} operations, ${counts.ok} 2xx, ${counts.predicted4xx} predicted 4xx, ${counts.failed5xx} 5xx, ` +
        `bytes lost ${final.lostBytes}, aliases ${final.aliases}, duplicates ${final.view.duplicates.length}`,
    );
    expect(wrong, `seed ${SEED}`).toEqual([]);
    expect(final.problems, `seed ${SEED}`).toEqual([]);
    expect(counts.ok).toBeGreaterThan(counts.operations / 3);
  }, 600_000);
});
