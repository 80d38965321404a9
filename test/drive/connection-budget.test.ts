/**
 * The in-process connection budget and the drive's per-file cap with parking of idle
 * connections (issue 13): counts, order of grants and aborts, no timing.
 */
import { describe, expect, it } from 'vitest';
import { LocalConnectionBudget } from '../../src/drive/connection-budget.js';
import { UpstreamConnections } from '../../src/drive/upstream-connections.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('LocalConnectionBudget', () => {
  it('grants up to its limit at once and the next one when a connection closes', async () => {
    const budget = new LocalConnectionBudget(2);
    const first = await budget.acquire('interactive');
    await budget.acquire('background');
    let third = false;
    const pending = budget.acquire('interactive').then((release) => ((third = true), release));
    await tick();
    expect(third).toBe(false);
    expect(budget.active).toBe(2);
    first();
    first(); // a second call is ignored: the slot is given back once
    await pending;
    expect(third).toBe(true);
    expect(budget.active).toBe(2);
  });

  it('serves interactive waiters before background ones, each in arrival order', async () => {
    const budget = new LocalConnectionBudget(1);
    const held = await budget.acquire('interactive');
    const order: string[] = [];
    // Each waiter, once granted, notes its turn and closes its connection at once.
    const take = (priority: 'interactive' | 'background', name: string) =>
      budget.acquire(priority).then((release) => {
        order.push(name);
        release();
      });
    const waiters = [take('background', 'background 1'), take('interactive', 'interactive 1'), take('background', 'background 2'), take('interactive', 'interactive 2')];
    await tick();
    expect(order).toEqual([]);
    held();
    await Promise.all(waiters);
    expect(order).toEqual(['interactive 1', 'interactive 2', 'background 1', 'background 2']);
  });

  it("rejects a waiter with its signal's reason when aborted, and the slot goes to the next", async () => {
    const budget = new LocalConnectionBudget(1);
    const held = await budget.acquire('interactive');
    const controller = new AbortController();
    const aborted = budget.acquire('interactive', controller.signal);
    const next = budget.acquire('background');
    controller.abort(new Error('client gone'));
    await expect(aborted).rejects.toThrow('client gone');
    expect(budget.waiting).toBe(1);
    held();
    const release = await next;
    expect(budget.active).toBe(1);
    release();
    expect(budget.active).toBe(0);
    await expect(budget.acquire('interactive', AbortSignal.abort(new Error('already')))).rejects.toThrow('already');
  });

  it('refuses a limit below 1', () => {
    expect(() => new LocalConnectionBudget(0)).toThrow(RangeError);
  });
});

describe('UpstreamConnections', () => {
  it('caps connections per file below the account budget', async () => {
    const connections = new UpstreamConnections({ budget: new LocalConnectionBudget(10), perFile: 2, accountLimit: 10, parkAfterMs: 0 });
    const a1 = await connections.acquire('a', 'interactive');
    await connections.acquire('a', 'interactive');
    let third = false;
    const pending = connections.acquire('a', 'interactive').then((release) => ((third = true), release));
    // Another file is not held back by file a's cap.
    await connections.acquire('b', 'interactive');
    await tick();
    expect(third).toBe(false);
    expect(connections.active).toBe(3);
    a1();
    await pending;
    expect(third).toBe(true);
  });

  it('parks an idle connection when another caller waits, and only then', async () => {
    const connections = new UpstreamConnections({ budget: new LocalConnectionBudget(1), perFile: 4, accountLimit: 1, parkAfterMs: 0 });
    const release = await connections.acquire('a', 'interactive');
    let parked = false;
    const busyAgain = connections.idle('a', () => {
      parked = true;
      release();
    });
    await tick();
    expect(parked).toBe(false);
    busyAgain();
    // Busy again: a waiter does not park it.
    let granted = false;
    const waiter = connections.acquire('b', 'interactive').then((next) => ((granted = true), next));
    await tick();
    expect(parked).toBe(false);
    expect(granted).toBe(false);
    // Idle once more while someone waits: parked, and its slot goes to the waiter.
    connections.idle('a', () => {
      parked = true;
      release();
    });
    (await waiter)();
    expect(parked).toBe(true);
    expect(granted).toBe(true);
    expect(connections.parked).toBe(1);
  });
});
