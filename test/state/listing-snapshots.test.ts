import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { FolderContent, UpstreamFile, UpstreamFolder } from '../../src/drive/folder-cache.js';
import type { Upstream } from '../../src/drive/upstream.js';
import { SnapshotUpstream } from '../../src/drive/snapshot-upstream.js';
import { openAccountDb } from '../../src/state/account-db.js';
import { ListingSnapshots } from '../../src/state/listing-snapshots.js';
import { tempDir } from '../cli/helpers.js';

/** A fake account: two folders, counting listings. */
function fakeUpstream() {
  const folders = new Map<number, FolderContent>([
    [0, { id: 0, name: '', folders: [{ id: 7, name: 'docs' }], files: [] }],
    [7, { id: 7, name: 'docs', folders: [], files: [{ url: 'https://1fichier.com/?aaaaa', name: 'a.txt', size: 3, modified: new Date(1000) }] }],
  ]);
  const calls: string[] = [];
  let nextId = 100;
  const upstream: Upstream = {
    async listFolder(id) {
      calls.push(`list ${id}`);
      return structuredClone(folders.get(id)!);
    },
    quota: async () => ({ usedBytes: 0, availableBytes: 0 }),
    downloadLink: async () => 'http://127.0.0.1/x',
    openRange: async () => Readable.from([]),
    async upload(_body, request): Promise<UpstreamFile> {
      calls.push(`upload ${request.name}`);
      const file = { url: `https://1fichier.com/?up${nextId++}x`, name: request.name, size: request.size, modified: new Date(5000) };
      folders.get(request.folderId)!.files.push(file);
      return file;
    },
    async removeFiles(urls) {
      calls.push(`rm ${urls.join(',')}`);
    },
    async renameFile() {},
    async moveFile(url) {
      return url;
    },
    async copyFiles(urls) {
      return urls.map((_, i) => `https://1fichier.com/?copy${i}x`);
    },
    async mkdir(parentId, name): Promise<UpstreamFolder> {
      calls.push(`mkdir ${name}`);
      const folder = { id: nextId++, name };
      folders.get(parentId)!.folders.push(folder);
      folders.set(folder.id, { id: folder.id, name, folders: [], files: [] });
      return folder;
    },
    async removeFolder() {},
    async moveFolder() {},
    async renameFolder() {},
  };
  return { upstream, calls };
}

async function processes(windowMs = 30_000) {
  const dir = await tempDir('ledger');
  let now = 1_000_000;
  const sleeps: number[] = [];
  const fake = fakeUpstream();
  // Each "process" opens its own connection to the account's database.
  const open = async () => {
    const ledger = new ListingSnapshots(openAccountDb(dir), () => now);
    const upstream = new SnapshotUpstream(fake.upstream, ledger, {
      listingWindowMs: windowMs,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    });
    return { ledger, upstream };
  };
  return { open, fake, sleeps, dir, now: () => now, advance: (ms: number) => (now += ms) };
}

describe("the account's saved listings, shared by its processes", () => {
  it('a second process inside the listing window reuses the first one\'s listing instead of listing again', async () => {
    const { open, fake, advance } = await processes();
    const first = await open();
    await first.upstream.listFolder(7, 'interactive');
    advance(10_000);
    const second = await open();
    const listing = await second.upstream.listFolder(7, 'interactive');
    expect(listing.files.map((f) => f.name)).toEqual(['a.txt']);
    expect(listing.files[0].modified).toEqual(new Date(1000));
    expect(fake.calls).toEqual(['list 7']);
    advance(25_000);
    const third = await open();
    await third.upstream.listFolder(7, 'interactive');
    expect(fake.calls).toEqual(['list 7', 'list 7']);
  });

  it('own writes are patched into saved listings, so the next process sees them without listing', async () => {
    const { open, fake } = await processes();
    const first = await open();
    await first.upstream.listFolder(0, 'interactive');
    const folder = await first.upstream.mkdir(0, 'new');
    await first.upstream.listFolder(7, 'interactive');
    await first.upstream.upload(Readable.from(['xyz']), { name: 'b.txt', folderId: 7, size: 3 });
    await first.upstream.removeFiles(['https://1fichier.com/?aaaaa']);
    const second = await open();
    expect((await second.upstream.listFolder(0, 'interactive')).folders.map((f) => f.name)).toEqual(['docs', 'new']);
    expect((await second.upstream.listFolder(7, 'interactive')).files.map((f) => f.name)).toEqual(['b.txt']);
    // The new folder is known empty: no listing needed either.
    expect(await second.upstream.listFolder(folder.id, 'interactive')).toMatchObject({ folders: [], files: [] });
    expect(fake.calls.filter((c) => c.startsWith('list'))).toEqual(['list 0', 'list 7']);
  });

  it('a distrusted folder waits for the rest of its window, then lists', async () => {
    const { open, fake, sleeps, advance } = await processes();
    const first = await open();
    await first.upstream.listFolder(7, 'interactive');
    first.ledger.distrust(7);
    advance(12_000);
    const second = await open();
    await second.upstream.listFolder(7, 'interactive');
    expect(sleeps).toEqual([18_000]);
    expect(fake.calls).toEqual(['list 7', 'list 7']);
  });

  it('with reuseListings false (ls --fresh) a saved listing is not reused: the window is waited out', async () => {
    const { open, fake, sleeps, advance, dir, now } = await processes();
    const first = await open();
    await first.upstream.listFolder(7, 'interactive');
    advance(20_000);
    const ledger = new ListingSnapshots(openAccountDb(dir), now);
    const fresh = new SnapshotUpstream(fake.upstream, ledger, {
      listingWindowMs: 30_000,
      reuseListings: false,
      sleep: async (ms) => void sleeps.push(ms),
    });
    await fresh.listFolder(7, 'interactive');
    expect(sleeps).toEqual([10_000]);
    expect(fake.calls).toEqual(['list 7', 'list 7']);
  });
});
