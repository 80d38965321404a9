/**
 * Two `serve` processes on one state directory (docs/state.md allows it): the second one's
 * start-up clean-up must not touch what the first one is doing. Before, it removed the first
 * one's spool file mid-upload (a Finder-style PUT of unknown length), and the first process then
 * died on an unhandled ENOENT, taking every transfer in flight with it.
 */
import { existsSync, readdirSync } from 'node:fs';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { accountView, eventually } from '../integration/account-view.js';
import { serveCli, type ServedBridge } from '../integration/served-bridge.js';
import { bodyOf, send, type Answer } from '../integration/write-http.js';

const KEY = 'shared-state-dir-key-0123456789';
let sim: Simulator;
let dir: string;
let stateDir: string;
const bridges: ServedBridge[] = [];

beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY, timeScale: 0.01 });
  dir = await mkdtemp(join(tmpdir(), 'fichier-dav-shared-state-'));
  stateDir = join(dir, 'state');
});

afterAll(async () => {
  await Promise.all(bridges.map((bridge) => bridge.stop()));
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const spoolFiles = () => {
  const spool = join(stateDir, 'spool');
  return existsSync(spool) ? readdirSync(spool).filter((name) => name.endsWith('.part')) : [];
};

/** A chunked PUT (no length: the bridge spools it) whose body the test writes itself. */
function chunkedPut(url: string): { request: http.ClientRequest; answer: Promise<Answer> } {
  const request = http.request(url, { method: 'PUT', headers: { 'Transfer-Encoding': 'chunked' } });
  const answer = new Promise<Answer>((resolve) => {
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString() }));
    });
    request.on('error', (error) => resolve({ status: 0, headers: {}, text: String(error) }));
  });
  return { request, answer };
}

describe('a second serve on the same state directory', () => {
  it('leaves the first one\'s spooled upload alone: the PUT completes and the first process lives', async () => {
    const first = await serveCli(sim, stateDir, dir);
    bridges.push(first);
    const body = bodyOf(42, 400_000);
    // A chunked PUT (no length): spooled to disk before the upload. Half now, half once the
    // second bridge has started.
    const { request, answer } = chunkedPut(`${first.url}/spooled.bin`);
    request.write(body.subarray(0, 200_000));
    await eventually(async () => spoolFiles(), (files) => files.length === 1);

    const second = await serveCli(sim, stateDir, dir);
    bridges.push(second);
    expect((await fetch(`${second.url}/`, { method: 'PROPFIND', headers: { Depth: '1' } })).status).toBe(207);

    request.end(body.subarray(200_000));
    const told = await answer;
    expect(told.status, `${told.text}\n${first.output()}`).toBe(201);
    expect(first.child.exitCode, first.output()).toBeNull();
    const view = await eventually(
      async () => accountView(sim),
      (current) => current.files.has('/spooled.bin'),
    );
    expect(view.files.get('/spooled.bin')?.equals(body)).toBe(true);
  }, 120_000);

  it('a spool file removed from under a PUT fails that PUT with an answer; the process lives', async () => {
    const bridge = bridges[0]!;
    const { request, answer } = chunkedPut(`${bridge.url}/vanished.bin`);
    request.write(bodyOf(43, 100_000));
    await eventually(async () => spoolFiles(), (files) => files.length === 1);
    for (const name of spoolFiles()) await rm(join(stateDir, 'spool', name));
    request.end(bodyOf(44, 100_000));
    const told = await answer;
    expect(told.status, `${told.text}\n${bridge.output()}`).toBeGreaterThanOrEqual(500);
    expect(bridge.child.exitCode, bridge.output()).toBeNull();
    expect((await fetch(`${bridge.url}/`, { method: 'PROPFIND', headers: { Depth: '1' } })).status).toBe(207);
    expect((await accountView(sim)).files.has('/vanished.bin')).toBe(false);
  }, 120_000);

  it('a second serve starting while the first awaits an upload\'s confirmation does not roll that upload back', async () => {
    const [first] = bridges;
    const body = bodyOf(45, 300_000);
    const uploads = sim.stats().uploads;
    // The upload node stores the file, then its confirmation (end.pl) takes a while: the first
    // bridge's journal record says "sent, not confirmed" meanwhile.
    sim.setFaults({ slow: [{ host: 'upload', endpoint: 'end.pl', delayMs: 6_000, count: 1 }] });
    const answer = send({ method: 'PUT', url: `${first!.url}/confirmed-late.bin`, headers: { 'Content-Length': body.length }, pieces: [body] });
    await eventually(async () => sim.stats().uploads, (count) => count > uploads);
    const third = await serveCli(sim, stateDir, dir);
    bridges.push(third);
    expect((await fetch(`${third.url}/`, { method: 'PROPFIND', headers: { Depth: '1' } })).status).toBe(207);
    const told = await answer;
    sim.clearFaults();
    expect(told.status, told.text).toBe(201);
    // Whatever the third bridge's start-up did has been done by now (its replay ran before it served).
    const view = await accountView(sim);
    expect(view.files.get('/confirmed-late.bin')?.equals(body)).toBe(true);
    expect(view.duplicates).toEqual([]);
  }, 120_000);
});
