/**
 * The account's API budget in the state database: claims are atomic across connections and
 * processes, survive a restart (a new connection), and drive the scheduler the same way the
 * in-memory store does.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../src/fichier/clock.js';
import { Scheduler } from '../../src/fichier/scheduler.js';
import { FloodError } from '../../src/fichier/errors.js';
import { openAccountDb } from '../../src/state/account-db.js';
import { SqliteBudgetStore } from '../../src/state/budget-db.js';
import { TEST_BUILD_DIR } from '../support/built-cli.js';

const T0 = 1_800_000_000_000;

function account() {
  const dir = mkdtempSync(join(tmpdir(), 'fd-budget-'));
  const open = () => new SqliteBudgetStore(openAccountDb(dir));
  return { dir, open };
}

describe('SqliteBudgetStore', () => {
  it('grants a window once; another connection is told how long to wait, and a release gives it back', async () => {
    const { open } = account();
    const a = open();
    const b = open();
    const claim = await a.claimWindow('ls:7', T0, 30_600);
    expect(claim).toEqual({ granted: true, until: T0 + 30_600, previous: 0 });
    expect(await b.claimWindow('ls:7', T0 + 600, 30_600)).toEqual({ granted: false, waitMs: 30_000 });
    // The answer came back 2 s later: the window runs from then.
    await a.extendWindow('ls:7', T0 + 32_600);
    expect(await b.windowOpensAt('ls:7')).toBe(T0 + 32_600);
    expect((await b.claimWindow('ls:8', T0, 30_600)).granted).toBe(true);
    // A claim whose call never reached 1fichier is given back.
    const unreached = await b.claimWindow('ls:9', T0, 30_600);
    if (!unreached.granted) throw new Error('expected a grant');
    await b.releaseWindow('ls:9', unreached);
    expect((await a.claimWindow('ls:9', T0 + 1, 30_600)).granted).toBe(true);
  });

  it('keeps the rate bucket and the cool-down for the next connection (a restart)', async () => {
    const { open } = account();
    const rate = { ratePerMs: 2 / 1000, burst: 1 };
    const first = open();
    expect((await first.claimSend(T0, rate)).waitMs).toBe(0);
    const restarted = open();
    expect((await restarted.claimSend(T0 + 100, rate)).waitMs).toBe(400);
    const policy = { firstMs: 30_000, maxMs: 300_000, resetMs: 600_000, scale: 1 };
    expect(await first.recordFlood(T0 + 200, T0 + 300, policy)).toEqual({ until: T0 + 30_300, startedAt: T0 + 300, level: 30_000 });
    const again = open();
    expect(await again.claimSend(T0 + 10_300, rate)).toEqual({ waitMs: 20_000, cooldown: { until: T0 + 30_300, startedAt: T0 + 300, level: 30_000 } });
    // A second flood answer to a call sent before the cool-down began is the same lock: no escalation.
    expect((await again.recordFlood(T0 + 250, T0 + 400, policy)).level).toBe(30_000);
    // A flood after it doubles the next one, whichever process saw it.
    expect((await again.recordFlood(T0 + 31_000, T0 + 31_100, policy)).level).toBe(60_000);
  });

  it('lets exactly one of several processes claim the same window at once', async () => {
    const { dir } = account();
    open(dir);
    const url = (file: string) => pathToFileURL(join(TEST_BUILD_DIR, 'state', file)).href;
    const script = `
      const { openAccountDb } = await import(${JSON.stringify(url('account-db.js'))});
      const { SqliteBudgetStore } = await import(${JSON.stringify(url('budget-db.js'))});
      const store = new SqliteBudgetStore(openAccountDb(process.argv[1]));
      const start = Number(process.argv[2]);
      while (Date.now() < start) {}
      const claim = await store.claimWindow('ls:0', Date.now(), 30_600);
      process.stdout.write(claim.granted ? 'granted' : 'refused');
    `;
    const start = Date.now() + 1500;
    const outputs = await Promise.all(
      Array.from({ length: 6 }, () =>
        new Promise<string>((resolve, reject) => {
          const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir, String(start)], { stdio: ['ignore', 'pipe', 'pipe'] });
          let out = '';
          let err = '';
          child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
          child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
          child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(err))));
        }),
      ),
    );
    expect(outputs.filter((o) => o === 'granted')).toHaveLength(1);
    expect(outputs.filter((o) => o === 'refused')).toHaveLength(5);
  }, 60_000);

  function open(dir: string) {
    return new SqliteBudgetStore(openAccountDb(dir));
  }
});

describe('schedulers of two processes on one account', () => {
  function pair() {
    const { open } = account();
    const clock = new FakeClock();
    const make = () => new Scheduler({ clock, random: () => 0.5, budget: open(), wallClockOffsetMs: T0 });
    return { clock, make };
  }

  it('space their listings of one folder by the window, and their calls by the shared rate', async () => {
    const { clock, make } = pair();
    const a = make();
    const b = make();
    const sends: Array<[string, number]> = [];
    const job = (who: string) => ({
      endpoint: 'folder/ls.cgi',
      window: { key: 'ls:0', intervalMs: 30_000 },
      run: async () => void sends.push([who, clock.now()]),
    });
    const first = a.run(job('a'));
    await clock.advance(10);
    const second = b.run(job('b'));
    const other = b.run({ endpoint: 'file/info.cgi', run: async () => void sends.push(['b-info', clock.now()]) });
    await clock.advance(40_000);
    await Promise.all([first, second, other]);
    expect(sends[0]).toEqual(['a', 0]);
    // One token per 500 ms across both processes: b's next call waits for it.
    expect(sends.find(([who]) => who === 'b-info')![1]).toBeGreaterThanOrEqual(500);
    // The window: 30 s + 2 % margin after a's answer.
    expect(sends.find(([who]) => who === 'b')![1]).toBeGreaterThanOrEqual(30_600);
  });

  it('a scheduler started after a flood does not send before the cool-down ends', async () => {
    const { clock, make } = pair();
    const a = make();
    await expect(
      a.run({
        endpoint: 'folder/ls.cgi',
        retry: false,
        run: async () => {
          throw new FloodError('Flood detected: IP Locked #374', { httpStatus: 403, code: 374 });
        },
      }),
    ).rejects.toThrow(FloodError);
    await clock.advance(5);
    const restarted = make();
    await restarted.syncCooldown();
    expect(restarted.cooldownRemainingMs()).toBeGreaterThan(29_000);
    const sent: number[] = [];
    const p = restarted.run({ endpoint: 'file/info.cgi', run: async () => void sent.push(clock.now()) });
    await clock.advance(29_000);
    expect(sent).toEqual([]);
    await clock.advance(2_000);
    await p;
    expect(sent[0]).toBeGreaterThanOrEqual(30_000);
  });
});
