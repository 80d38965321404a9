/** Per-path ordering: overlapping writes in arrival order, unrelated ones at once, crossing transfers without deadlock. */
import { describe, expect, it } from 'vitest';
import { InProcessPathLocks, pathsOverlap } from '../../src/drive/path-locks.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('pathsOverlap', () => {
  it('is true for the same path, a path inside another, and the root', () => {
    expect(pathsOverlap('/a', '/a')).toBe(true);
    expect(pathsOverlap('/a', '/a/b')).toBe(true);
    expect(pathsOverlap('/a/b', '/a')).toBe(true);
    expect(pathsOverlap('/', '/x')).toBe(true);
    expect(pathsOverlap('/a', '/ab')).toBe(false);
    expect(pathsOverlap('/a/b', '/a/c')).toBe(false);
  });
});

describe('InProcessPathLocks', () => {
  it('runs writes to one path one after the other, in arrival order', async () => {
    const locks = new InProcessPathLocks();
    const order: string[] = [];
    const first = await locks.acquire(['/f']);
    const second = locks.acquire(['/f']).then((release) => (order.push('second'), release));
    const third = locks.acquire(['/f']).then((release) => (order.push('third'), release));
    await tick();
    expect(order).toEqual([]);
    first();
    (await second)();
    (await third)();
    expect(order).toEqual(['second', 'third']);
    expect(locks.size).toBe(0);
  });

  it('lets unrelated paths through at once, and holds a write inside a folder being changed', async () => {
    const locks = new InProcessPathLocks();
    const folder = await locks.acquire(['/dir']);
    let other = false;
    let inside = false;
    void locks.acquire(['/elsewhere']).then(() => (other = true));
    void locks.acquire(['/dir/file']).then(() => (inside = true));
    await tick();
    expect(other).toBe(true);
    expect(inside).toBe(false);
    folder();
    await tick();
    expect(inside).toBe(true);
  });

  it('crossing transfers (A→B while B→A) both complete', async () => {
    const locks = new InProcessPathLocks();
    const holder = await locks.acquire(['/b']);
    const ab = locks.acquire(['/a', '/b']);
    const ba = locks.acquire(['/b', '/a']);
    holder();
    (await ab)();
    (await ba)();
    expect(locks.size).toBe(0);
  });

  it('release is idempotent', async () => {
    const locks = new InProcessPathLocks();
    const release = await locks.acquire(['/x']);
    release();
    release();
    const again = await locks.acquire(['/x']);
    again();
    expect(locks.size).toBe(0);
  });
});
