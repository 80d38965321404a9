import type { ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { FichierClient, FloodError } from '../../src/fichier/index.js';
import { describeFlood, type FloodRecord } from '../../src/simulator/index.js';
import { spawnSimulatorCli } from '../support/built-cli.js';

// A time-scaled run shrinks 1fichier's rules (x0.05: 3 calls/s, burst 3, is one call per 17 ms)
// but not the real lag between a call leaving the client and the service counting it. On a loaded
// machine the simulator's process is not scheduled for a while, and the calls sent meanwhile are
// counted together when it runs again: calls sent 25 ms apart become one flood. Here the stall is
// real (SIGSTOP on the simulator's process for 180 ms, nothing mocked) and the limits are the
// simulator's defaults (1fichier's), time-scaled. The client may have 8 calls in flight, so what
// the stall piles up is the scheduler's spacing alone (not its concurrency cap).
const SCALE = 0.05;
const KEY = 'counted-late-key';
const STALL_MS = 180;

interface Sim {
  child: ChildProcess;
  apiUrl: string;
  apiOrigin: string;
}

let sim: Sim | undefined;

afterEach(async () => {
  if (sim?.child.exitCode === null) {
    sim.child.kill('SIGCONT');
    const exited = new Promise((r) => sim!.child.once('exit', r));
    sim.child.kill('SIGTERM');
    await exited;
  }
  sim = undefined;
});

async function startSim(): Promise<Sim> {
  const { child, line } = await spawnSimulatorCli(['--port', '0', '--api-key', KEY, '--time-scale', String(SCALE)]);
  return { child, apiUrl: line.apiUrl as string, apiOrigin: line.apiOrigin as string };
}

/** Listings of eight folders (distinct calls: identical ones would share one) while the simulator is stopped for STALL_MS. */
async function callsThroughAStall(jitterMs: number | undefined): Promise<{ floods: number; floodLog: FloodRecord[]; refused: number }> {
  sim = await startSim();
  const client = new FichierClient({ apiUrl: sim.apiUrl, apiKey: KEY, timeScale: SCALE, maxAttempts: 1, apiConcurrency: 8, ...(jitterMs === undefined ? {} : { jitterMs }) });
  try {
    const ids: number[] = [];
    for (let i = 0; i < 8; i++) ids.push((await client.mkdir(`folder ${i}`)).folderId);
    await new Promise((r) => setTimeout(r, 300)); // the simulator's bucket fills again
    sim.child.kill('SIGSTOP');
    const calls = ids.map((id) => client.listFolder(id, { files: true }).then(() => 'ok', (e: unknown) => (e instanceof FloodError ? 'flood' : Promise.reject(e))));
    await new Promise((r) => setTimeout(r, STALL_MS));
    sim.child.kill('SIGCONT');
    const outcomes = await Promise.all(calls);
    const stats = (await (await fetch(`${sim.apiOrigin}/__sim/stats`)).json()) as { floods: number; floodLog: FloodRecord[] };
    return { ...stats, refused: outcomes.filter((o) => o === 'flood').length };
  } finally {
    await client.close();
  }
}

describe.skipIf(process.platform === 'win32')('calls counted late (a stalled service) under time-scaled limits', () => {
  it('with --jitter-ms above the stall, no call is refused', async () => {
    // Calls 150 ms apart: at most two (three if the stall ends late) are counted together.
    const r = await callsThroughAStall(300);
    expect(r.floodLog.map((f) => describeFlood(f))).toEqual([]);
    expect(r.floods).toBe(0);
    expect(r.refused).toBe(0);
  }, 120_000);

  it('without it, the stall bunches the calls into a flood: the simulator does not hide it', async () => {
    const r = await callsThroughAStall(undefined);
    expect(r.floods).toBeGreaterThan(0);
    expect(r.refused).toBeGreaterThan(0);
    // The record names the listings sent during the stall, which it counted together.
    expect(r.floodLog[0]).toMatchObject({ reason: 'rate', endpoint: 'folder/ls.cgi' });
    expect(r.floodLog[0]!.counted.filter((c) => c.endpoint === 'folder/ls.cgi').length).toBeGreaterThanOrEqual(3);
  }, 120_000);
});
