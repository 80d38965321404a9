/**
 * kill -9 at random points of an overwrite, then a restart on the same state directory, repeated:
 * after each restart the journal settles every unfinished write, so the account holds exactly one
 * file at the path, whole (the old bytes, or the new ones; the new ones whenever the client was
 * answered 2xx), no alias, no duplicate, and no spool leftover (`.part`).
 *
 * The bridge runs as the real CLI in a child process; the simulator stays in this process.
 * Seeded: set WRITE_CRASH_SEED to replay a run (the seed is printed on failure).
 */
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { accountView, eventually } from './account-view.js';
import { serveCli, type ServedBridge } from './served-bridge.js';
import { bodyOf, send, type Answer } from './write-http.js';
import { random } from './helpers.js';

const KEY = 'write-crash-key-0123456789';
const SEED = Number(process.env.WRITE_CRASH_SEED ?? Date.now() % 100_000);
const ROUNDS = 6;

let sim: Simulator;
let dir: string;
let stateDir: string;
let bridge: ServedBridge | undefined;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY, timeScale: 0.01 });
  dir = await mkdtemp(join(tmpdir(), 'fichier-dav-crash-'));
  stateDir = join(dir, 'state');
});

afterAll(async () => {
  await bridge?.stop();
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Intent {
  op: string;
  path: string;
  bodySent?: boolean;
  newUrl?: string;
}

/**
 * Journal records of `path` that must be settled by now. An upload whose body left but was never
 * confirmed may stay (1fichier's listings can lag behind an upload, so its record keeps watching
 * for a stray copy for a while); the account check below still demands one file and no duplicate.
 */
function unsettled(path: string): Intent[] {
  const file = join(stateDir, 'state.db');
  if (!existsSync(file)) return [];
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const exists = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'write_journal'").get() as { n: number };
    if (exists.n === 0) return [];
    const rows = db.prepare('SELECT intent FROM write_journal WHERE path = ?').all(path) as Array<{ intent: string }>;
    return rows.map((row) => JSON.parse(row.intent) as Intent).filter((intent) => !(intent.op === 'upload' && intent.bodySent && !intent.newUrl));
  } finally {
    db.close();
  }
}

function spoolLeftovers(): string[] {
  const spool = join(stateDir, 'spool');
  return existsSync(spool) ? readdirSync(spool).filter((name) => name.endsWith('.part')) : [];
}

/** After a restart: the journal is empty and the path holds exactly one file. */
async function settled(path: string) {
  return eventually(
    async () => ({ view: await accountView(sim), records: unsettled(path) }),
    ({ view, records }) => records.length === 0 && view.duplicates.length === 0 && view.files.has(path),
  );
}

describe(`kill -9 during an overwrite, then restart (seed ${SEED})`, () => {
  it('leaves one whole file and no duplicate, alias or spool leftover, round after round', async () => {
    const next = random(SEED);
    bridge = await serveCli(sim, stateDir, dir);
    let current = bodyOf(SEED, 200_000);
    expect((await send({ method: 'PUT', url: `${bridge.url}/c.bin`, headers: { 'Content-Length': current.length }, pieces: [current] })).status).toBe(201);
    // One whole overwrite, timed on this machine now, so the kill points cover all of one, and
    // past its end (a restarted bridge is slower: it lists the folder again first).
    const started = Date.now();
    const sample = bodyOf(SEED - 1, 2_000_000);
    expect((await send({ method: 'PUT', url: `${bridge.url}/c.bin`, headers: { 'Content-Length': sample.length }, pieces: [sample] })).status).toBe(204);
    const overwriteMs = Date.now() - started;
    current = sample;
    const outcomes: string[] = [];
    for (let round = 0; round < ROUNDS; round += 1) {
      const fresh = bodyOf(SEED + round + 1, 1_000_000 + Math.floor(next() * 2_000_000));
      const chunked = round % 2 === 1;
      const pieces: Buffer[] = [];
      for (let offset = 0; offset < fresh.length; offset += 256 * 1024) pieces.push(fresh.subarray(offset, offset + 256 * 1024));
      const headers: Record<string, string | number> = chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': fresh.length };
      const killAfterMs = Math.floor(next() * overwriteMs * 2.5);
      const answer: Promise<Answer> = send({ method: 'PUT', url: `${bridge.url}/c.bin`, headers, pieces, pauseMs: 20 });
      await new Promise((resolve) => setTimeout(resolve, killAfterMs));
      await bridge.kill9();
      const told = await answer;
      bridge = await serveCli(sim, stateDir, dir);
      const { view, records } = await settled('/c.bin');
      const stored = view.files.get('/c.bin');
      const context = `seed ${SEED}, round ${round}, kill after ${killAfterMs} ms, ${chunked ? 'chunked' : 'Content-Length'}, answer ${told.status}`;
      expect(records, context).toEqual([]);
      expect(view.duplicates, context).toEqual([]);
      expect([...view.files.keys()], context).toEqual(['/c.bin']);
      if (told.status >= 200 && told.status < 300) expect(stored?.equals(fresh), context).toBe(true);
      else expect(stored?.equals(fresh) || stored?.equals(current), context).toBe(true);
      expect(spoolLeftovers(), context).toEqual([]);
      outcomes.push(`${told.status}:${stored?.equals(fresh) ? 'new' : 'old'}`);
      if (stored?.equals(fresh)) current = fresh;
    }
    console.log(`write-crash seed ${SEED}, one overwrite ${overwriteMs} ms: ${outcomes.join(' ')}`);
  }, 300_000);

  it('a kill -9 right after the upload (while the old file is being removed) leaves no duplicate', async () => {
    bridge ??= await serveCli(sim, stateDir, dir);
    const old = bodyOf(7, 50_000);
    const fresh = bodyOf(8, 60_000);
    expect((await send({ method: 'PUT', url: `${bridge.url}/after.bin`, headers: { 'Content-Length': old.length }, pieces: [old] })).status).toBe(201);
    // The removal of the replaced file hangs, so the kill lands between the upload and the removal.
    sim.setFaults({ slow: [{ host: 'api', endpoint: 'file/rm.cgi', delayMs: 20_000, count: 1 }] });
    const uploadsBefore = sim.stats().calls['end.pl'] ?? 0;
    const answer = send({ method: 'PUT', url: `${bridge.url}/after.bin`, headers: { 'Content-Length': fresh.length }, pieces: [fresh] });
    await eventually(
      async () => sim.stats().calls['end.pl'] ?? 0,
      (calls) => calls > uploadsBefore,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    await bridge.kill9();
    expect((await answer).status).toBe(0);
    sim.clearFaults();
    bridge = await serveCli(sim, stateDir, dir);
    const { view, records } = await settled('/after.bin');
    expect(records).toEqual([]);
    expect(view.duplicates).toEqual([]);
    expect(view.files.get('/after.bin')).toEqual(fresh);
  }, 120_000);
});
