import { describe, expect, it } from 'vitest';
import { FolderCache, type FolderContent, type LoadPriority, type UpstreamFile } from '../../src/drive/folder-cache.js';
import { DriveError } from '../../src/drive/types.js';

const file = (id: string, name = `${id}.txt`): UpstreamFile => ({
  url: `https://1fichier.com/?${id}`,
  name,
  size: 1,
  modified: new Date(0),
});

function harness(initial: FolderContent) {
  let clock = 0;
  let upstream = initial;
  const loads: Array<{ id: number; priority: LoadPriority }> = [];
  let release: (() => void) | undefined;
  let gate: Promise<void> | undefined;
  const cache = new FolderCache({
    ttlMs: 1000,
    staleMs: 5000,
    overlayMs: 60_000,
    maxEntries: 100,
    now: () => clock,
    load: async (id, priority) => {
      loads.push({ id, priority });
      if (gate) await gate;
      return structuredClone(upstream);
    },
  });
  return {
    cache,
    loads,
    tick: (ms: number) => (clock += ms),
    setUpstream: (content: FolderContent) => (upstream = content),
    hold: () => {
      gate = new Promise((resolve) => (release = resolve));
    },
    release: () => {
      gate = undefined;
      release?.();
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('FolderCache', () => {
  it('lists once, then serves from cache while fresh', async () => {
    const h = harness({ id: 5, name: 'A', folders: [], files: [file('a')] });
    await h.cache.get(5);
    await h.cache.get(5);
    h.tick(999);
    await h.cache.get(5);
    expect(h.loads).toEqual([{ id: 5, priority: 'interactive' }]);
    expect(h.cache.stats()).toEqual({ hits: 2, misses: 1 });
  });

  it('shares one load between concurrent readers', async () => {
    const h = harness({ id: 5, name: 'A', folders: [], files: [] });
    h.hold();
    const reads = [h.cache.get(5), h.cache.get(5), h.cache.get(5)];
    h.release();
    await Promise.all(reads);
    expect(h.loads).toHaveLength(1);
  });

  it('serves stale content while one background refresh runs, then the new content', async () => {
    const h = harness({ id: 5, name: 'A', folders: [], files: [file('a')] });
    await h.cache.get(5);
    h.setUpstream({ id: 5, name: 'A', folders: [], files: [file('a'), file('b')] });
    h.tick(2000);
    const stale = await h.cache.get(5);
    expect(stale.files.map((f) => f.name)).toEqual(['a.txt']);
    await h.cache.get(5);
    await settle();
    expect(h.loads.map((l) => l.priority)).toEqual(['interactive', 'background']);
    const fresh = await h.cache.get(5);
    expect(fresh.files.map((f) => f.name)).toEqual(['a.txt', 'b.txt']);
  });

  it('waits for a new listing when the entry is too old to serve', async () => {
    const h = harness({ id: 5, name: 'A', folders: [], files: [] });
    await h.cache.get(5);
    h.tick(10_000);
    await h.cache.get(5);
    expect(h.loads.map((l) => l.priority)).toEqual(['interactive', 'interactive']);
  });

  it('keeps a file we added even when the next listing lags behind', async () => {
    const h = harness({ id: 5, name: 'A', folders: [], files: [] });
    await h.cache.get(5);
    h.cache.addFile(5, file('new'));
    expect(h.cache.peek(5)?.files.map((f) => f.name)).toEqual(['new.txt']);
    h.cache.invalidate(5);
    const relisted = await h.cache.get(5);
    expect(relisted.files.map((f) => f.name)).toEqual(['new.txt']);
    expect(h.loads).toHaveLength(2);
  });

  it('hides a file we removed even when the next listing still shows it', async () => {
    const h = harness({ id: 5, name: 'A', folders: [], files: [file('old')] });
    await h.cache.get(5);
    h.cache.removeFile(5, 'https://1fichier.com/?old');
    h.cache.invalidate(5);
    expect((await h.cache.get(5)).files).toEqual([]);
  });

  it('lets an overlay expire so upstream truth wins eventually', async () => {
    const h = harness({ id: 5, name: 'A', folders: [], files: [] });
    await h.cache.get(5);
    h.cache.addFile(5, file('ghost'));
    h.tick(61_000);
    h.cache.invalidate(5);
    expect((await h.cache.get(5)).files).toEqual([]);
  });

  it('does not duplicate a file once the listing shows it', async () => {
    const h = harness({ id: 5, name: 'A', folders: [], files: [] });
    await h.cache.get(5);
    h.cache.addFile(5, file('x'));
    h.setUpstream({ id: 5, name: 'A', folders: [], files: [file('x')] });
    h.cache.invalidate(5);
    expect((await h.cache.get(5)).files.map((f) => f.url)).toEqual(['https://1fichier.com/?x']);
  });

  it('patches folders and forgets removed ones', async () => {
    const h = harness({ id: 0, name: 'Root', folders: [{ id: 9, name: 'Old' }], files: [] });
    await h.cache.get(0);
    h.cache.addFolder(0, { id: 10, name: 'New' });
    h.cache.removeFolder(0, 9);
    expect(h.cache.peek(0)?.folders.map((f) => f.name)).toEqual(['New']);
    h.cache.invalidate(0);
    expect((await h.cache.get(0)).folders.map((f) => f.name)).toEqual(['New']);
  });

  it("a write joining a read's listing lists again for itself when the read gives up (503 past its deadline)", async () => {
    let first = true;
    const loads: LoadPriority[] = [];
    let failRead: ((error: Error) => void) | undefined;
    const cache = new FolderCache({
      ttlMs: 1000,
      staleMs: 5000,
      overlayMs: 60_000,
      maxEntries: 100,
      load: (id, priority) => {
        loads.push(priority);
        if (!first) return Promise.resolve({ id, name: 'A', folders: [], files: [file('a')] });
        first = false;
        return new Promise((_, reject) => (failRead = reject));
      },
    });
    const read = cache.get(5).catch((error: unknown) => error);
    const write = cache.get(5, 'write');
    failRead!(new DriveError('unavailable', '1fichier did not answer within 20 s (cannot list a folder)'));
    expect(await read).toBeInstanceOf(DriveError);
    expect((await write).files.map((f) => f.name)).toEqual(['a.txt']);
    expect(loads).toEqual(['interactive', 'write']);
  });
});
