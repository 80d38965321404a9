import { describe, expect, it } from 'vitest';
import { LinkCache } from '../../src/drive/link-cache.js';

describe('LinkCache', () => {
  it('reuses one link for its lifetime and shares concurrent fetches', async () => {
    let clock = 0;
    let fetches = 0;
    const cache = new LinkCache({ reuseMs: 1000, single: false, now: () => clock });
    const fetch = async () => `https://a-1.example/${++fetches}`;
    const links = await Promise.all([cache.get('f', fetch), cache.get('f', fetch), cache.get('f', fetch)]);
    expect(new Set(links)).toEqual(new Set(['https://a-1.example/1']));
    clock = 999;
    expect(await cache.get('f', fetch)).toBe('https://a-1.example/1');
    clock = 1001;
    expect(await cache.get('f', fetch)).toBe('https://a-1.example/2');
    expect(fetches).toBe(2);
  });

  it('fetches a new link after invalidate, but ignores a stale invalidate', async () => {
    let fetches = 0;
    const cache = new LinkCache({ reuseMs: 60_000, single: false });
    const fetch = async () => `L${++fetches}`;
    expect(await cache.get('f', fetch)).toBe('L1');
    cache.invalidate('f', 'L1');
    expect(await cache.get('f', fetch)).toBe('L2');
    cache.invalidate('f', 'L1');
    expect(await cache.get('f', fetch)).toBe('L2');
  });

  it('never reuses single-use links', async () => {
    let fetches = 0;
    const cache = new LinkCache({ reuseMs: 60_000, single: true });
    const fetch = async () => `L${++fetches}`;
    await cache.get('f', fetch);
    await cache.get('f', fetch);
    expect(fetches).toBe(2);
  });

  it('does not cache a failed fetch', async () => {
    let fetches = 0;
    const cache = new LinkCache({ reuseMs: 60_000, single: false });
    await expect(cache.get('f', async () => { fetches++; throw new Error('flood'); })).rejects.toThrow('flood');
    expect(await cache.get('f', async () => `L${++fetches}`)).toBe('L2');
  });
});
