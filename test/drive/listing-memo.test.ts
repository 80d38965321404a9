/**
 * ListingMemo (src/drive/listing-memo.ts): the same frozen entries come back only while the
 * listing object, the sub-folders' listings, the local state's version and the path are all the
 * same; any one of them changing is a miss.
 */
import { describe, expect, it } from 'vitest';
import type { CachedFolder } from '../../src/drive/folder-cache.js';
import { ListingMemo, type ListingInputs } from '../../src/drive/listing-memo.js';
import type { DriveEntry } from '../../src/drive/types.js';

const listing = (id: number): CachedFolder => ({ id, name: `f${id}`, folders: [], files: [], fetchedAt: 0 });
const entries = (): DriveEntry[] => [{ name: 'a', kind: 'file', size: 1, modified: new Date(0), etag: 'e' }];

describe('ListingMemo', () => {
  it('returns the stored frozen array for identical inputs and misses on any change', () => {
    const memo = new ListingMemo();
    const folder = listing(1);
    const sub = listing(2);
    const inputs: ListingInputs = { path: '/f', listing: folder, stateVersion: '1:0', subListings: [sub] };
    expect(memo.get(inputs)).toBeUndefined();
    const stored = memo.set(inputs, entries());
    expect(Object.isFrozen(stored)).toBe(true);
    expect(Object.isFrozen(stored[0])).toBe(true);
    expect(memo.get({ ...inputs, subListings: [sub] })).toBe(stored);

    expect(memo.get({ ...inputs, path: '/g' })).toBeUndefined();
    expect(memo.get({ ...inputs, stateVersion: '1:1' })).toBeUndefined();
    expect(memo.get({ ...inputs, stateVersion: '2:0' })).toBeUndefined();
    // A sub-folder listed again (its newest date may date a folder without one), or dropped.
    expect(memo.get({ ...inputs, subListings: [listing(2)] })).toBeUndefined();
    expect(memo.get({ ...inputs, subListings: [undefined] })).toBeUndefined();
    expect(memo.get({ ...inputs, subListings: [] })).toBeUndefined();
    // A new listing object of the same folder (a patch or a refresh).
    expect(memo.get({ ...inputs, listing: { ...folder } })).toBeUndefined();
  });
});
