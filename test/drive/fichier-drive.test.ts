/**
 * The drive over the real client against the simulator over HTTP: API call counts, exact bytes,
 * native operations, and the nothing-is-lost rules of overwrites.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FichierDrive } from '../../src/drive/fichier-drive.js';
import { FichierUpstream } from '../../src/drive/fichier-upstream.js';
import { LocalState } from '../../src/drive/local-state.js';
import { DriveError } from '../../src/drive/types.js';
import { FichierClient, encodeName } from '../../src/fichier/index.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';

const KEY = 'drive-test-key';
const SCALE = 0.01;

interface Setup {
  sim: Simulator;
  client: FichierClient;
  drive: FichierDrive;
  dir: string;
}

let setup: Setup;

async function open(driveOptions: Partial<ConstructorParameters<typeof FichierDrive>[0]> = {}): Promise<Setup> {
  const sim = await startSimulator({ apiKey: KEY, timeScale: SCALE });
  const client = new FichierClient({ apiKey: KEY, apiUrl: sim.apiUrl, timeScale: SCALE });
  const dir = await mkdtemp(join(tmpdir(), 'fichier-dav-drive-'));
  const state = await LocalState.open(join(dir, 'state'));
  const drive = new FichierDrive({
    upstream: new FichierUpstream(client),
    state,
    spoolDir: join(dir, 'spool'),
    ...driveOptions,
  });
  return { sim, client, drive, dir };
}

beforeEach(async () => {
  // These tests count the direct read path's upstream calls (one GET per range); the read cache
  // has its own tests in block-cache*.test.ts.
  setup = await open({ readCache: false });
});

afterEach(async () => {
  await setup.client.close();
  await setup.sim.close();
  await rm(setup.dir, { recursive: true, force: true });
});

async function bytes(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const calls = (endpoint: string) => setup.sim.stats().calls[endpoint] ?? 0;
const apiCalls = () =>
  Object.entries(setup.sim.stats().calls)
    .filter(([endpoint]) => endpoint.endsWith('.cgi') && endpoint !== 'upload.cgi')
    .reduce((sum, [, count]) => sum + count, 0);

describe('FichierDrive reads', () => {
  it('lists a folder with one API call, then from cache with none', async () => {
    const { sim, drive } = setup;
    const films = await sim.addFolder({ name: 'Films' });
    await sim.addFile({ folderId: films, name: 'a.mkv', content: 'aaaa' });
    await sim.addFile({ folderId: films, name: 'b.txt', content: 'bb' });
    await sim.addFolder({ parentId: films, name: 'Extras' });
    sim.reset();

    // Root, then Films: two listings to walk and list.
    const entries = await drive.list('/Films');
    expect(entries.map((entry) => `${entry.kind}:${entry.name}:${entry.size}`).sort()).toEqual([
      'file:a.mkv:4',
      'file:b.txt:2',
      'folder:Extras:0',
    ]);
    expect(calls('folder/ls.cgi')).toBe(2);
    expect(apiCalls()).toBe(2);

    await drive.list('/Films');
    await drive.stat('/Films/a.mkv');
    await drive.stat('/Films/Extras');
    expect(apiCalls()).toBe(2);
  });

  it('shows real names for rclone-encoded upstream names, except a / that would split the path', async () => {
    const { sim, drive } = setup;
    await sim.addFile({ name: encodeName('what? "quotes" <and> a/slash '), content: 'x' });
    const [entry] = await drive.list('/');
    expect(entry.name).toBe('what? "quotes" <and> a／slash ');
  });

  it('gives every duplicate a reachable path and the plain name to the newest', async () => {
    const { sim, drive } = setup;
    const old = await sim.addFile({ name: 'dup.txt', content: 'old', date: Date.UTC(2024, 0, 1) });
    await sim.addFile({ name: 'dup.txt', content: 'newer', date: Date.UTC(2024, 5, 1) });
    const names = (await drive.list('/')).map((entry) => entry.name).sort();
    const oldId = old.split('?')[1];
    expect(names).toEqual(['dup.txt', `dup [${oldId}].txt`].sort());
    expect((await bytes(await drive.read('/dup.txt'))).toString()).toBe('newer');
    expect((await bytes(await drive.read(`/dup [${oldId}].txt`))).toString()).toBe('old');
  });

  it('serves 20 ranges of one file with one get_token call and one upstream GET each', async () => {
    const { sim, drive } = setup;
    const size = 3 * 1024 * 1024 + 17;
    const url = await sim.addFile({ name: 'movie.mkv', synthetic: { size, seed: 42 } });
    await drive.stat('/movie.mkv');
    sim.reset();
    const ranges: Array<[number, number]> = [];
    for (let index = 0; index < 20; index += 1) {
      const start = (index * 157_321) % (size - 70_000);
      ranges.push([start, start + 65_535]);
    }
    ranges[0] = [0, 1023];
    ranges[1] = [size - 1024, size - 1];
    ranges[2] = [size - 1, size - 1];
    for (const [start, end] of ranges) {
      const got = await bytes(await drive.read('/movie.mkv', { range: { start, end } }));
      const expected = await bytes(sim.contentOf(url, start, end));
      expect(got.equals(expected)).toBe(true);
    }
    expect(calls('download/get_token.cgi')).toBe(1);
    expect(sim.stats().downloadRequests).toBe(20);
    expect(apiCalls()).toBe(1);
  });

  it('resumes a download cut by the download host and delivers every byte', async () => {
    const { sim, drive } = setup;
    const size = 2 * 1024 * 1024;
    const url = await sim.addFile({ name: 'cut.bin', synthetic: { size, seed: 3 } });
    await drive.stat('/cut.bin');
    sim.setFaults({ cutDownload: { bytes: 300_000, count: 2 } });
    const got = await bytes(await drive.read('/cut.bin'));
    expect(got.length).toBe(size);
    expect(got.equals(await bytes(sim.contentOf(url)))).toBe(true);
    expect(sim.stats().downloadRequests).toBe(3);
  });

  it('stops the upstream transfer when the reader goes away', async () => {
    const { sim, drive } = setup;
    const size = 1024 ** 3;
    await sim.addFile({ name: 'huge.bin', synthetic: { size, seed: 9 } });
    const controller = new AbortController();
    const stream = await drive.read('/huge.bin', { signal: controller.signal });
    let received = 0;
    for await (const chunk of stream) {
      received += (chunk as Buffer).length;
      if (received >= 1024) break;
    }
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(sim.stats().bytesServed).toBeLessThan(64 * 1024 * 1024);
  });

  it('fetches a fresh link when the cached one is refused', async () => {
    const { sim, drive } = setup;
    const url = await sim.addFile({ name: 'x.bin', content: Buffer.alloc(5000, 7) });
    await bytes(await drive.read('/x.bin', { range: { start: 0, end: 9 } }));
    // Beyond the simulated 5-minute token lifetime, but inside the drive's reuse window.
    sim.advanceClock(6 * 60_000);
    const got = await bytes(await drive.read('/x.bin', { range: { start: 10, end: 19 } }));
    expect(got.equals(await bytes(sim.contentOf(url, 10, 19)))).toBe(true);
    expect(calls('download/get_token.cgi')).toBe(2);
  });

  it('answers quota from user/info and caches it', async () => {
    const { drive } = setup;
    const first = await drive.quota();
    const second = await drive.quota();
    expect(first.availableBytes).toBeGreaterThan(0);
    expect(second).toEqual(first);
    expect(calls('user/info.cgi')).toBe(1);
  });
});

describe('FichierDrive writes', () => {
  it('uploads a new file, lists it at once despite listing lag, and reads it back', async () => {
    const { sim, drive } = setup;
    await drive.list('/');
    sim.setFaults({ listingDelayMs: 60_000 });
    const content = Buffer.from('hello 1fichier');
    const result = await drive.write('/hello.txt', Readable.from([content]), { size: content.length });
    expect(result.created).toBe(true);
    expect((await drive.list('/')).map((entry) => entry.name)).toEqual(['hello.txt']);
    drive.folders.invalidate(0);
    expect((await drive.list('/')).map((entry) => entry.name)).toEqual(['hello.txt']);
    expect((await bytes(await drive.read('/hello.txt'))).equals(content)).toBe(true);
  });

  it('spools a body of unknown length and uploads it with its exact size', async () => {
    const { sim, drive } = setup;
    const content = Buffer.alloc(200_000, 1);
    await drive.write('/spooled.bin', Readable.from([content.subarray(0, 50_000), content.subarray(50_000)]));
    const [entry] = await drive.list('/');
    expect(entry.size).toBe(200_000);
    expect(calls('upload.cgi')).toBe(1);
    expect(sim.stats().bytesReceived).toBeGreaterThanOrEqual(200_000);
  });

  it('replaces a file: new upload first, then the old one removed', async () => {
    const { sim, drive } = setup;
    const oldUrl = await sim.addFile({ name: 'doc.txt', content: 'old content' });
    const result = await drive.write('/doc.txt', Readable.from([Buffer.from('new')]), { size: 3 });
    expect(result.created).toBe(false);
    expect((await bytes(await drive.read('/doc.txt'))).toString()).toBe('new');
    const log = sim.log().filter((entry) => entry.path.includes('upload.cgi') || entry.path.includes('file/rm.cgi'));
    expect(log.map((entry) => (entry.path.includes('upload') ? 'upload' : 'rm'))).toEqual(['upload', 'rm']);
    expect(() => sim.contentOf(oldUrl)).toThrow(/no file/);
  });

  it.each([
    ['an upload refusal', { uploadRefusals: 5 }],
    ['end.pl without links while the listing lags', { endPlNoLinks: 50, listingDelayMs: 3_600_000 }],
  ])('keeps the old file untouched when the replacement fails (%s)', async (_label, faults) => {
    const { sim, drive } = setup;
    const oldUrl = await sim.addFile({ name: 'keep.txt', content: 'precious' });
    sim.setFaults(faults);
    await expect(drive.write('/keep.txt', Readable.from([Buffer.from('replacement')]), { size: 11 })).rejects.toBeInstanceOf(
      DriveError,
    );
    sim.clearFaults();
    expect((await bytes(sim.contentOf(oldUrl))).toString()).toBe('precious');
    expect((await bytes(await drive.read('/keep.txt'))).toString()).toBe('precious');
    expect(calls('file/rm.cgi')).toBe(0);
  });

  it('keeps empty files locally until content arrives', async () => {
    const { sim, drive } = setup;
    const created = await drive.write('/new.txt', Readable.from([]), { size: 0 });
    expect(created.created).toBe(true);
    expect(calls('upload.cgi')).toBe(0);
    expect((await drive.stat('/new.txt')).size).toBe(0);
    expect((await drive.list('/')).map((entry) => entry.name)).toEqual(['new.txt']);
    expect((await bytes(await drive.read('/new.txt'))).length).toBe(0);
    const replaced = await drive.write('/new.txt', Readable.from([Buffer.from('data')]), { size: 4 });
    expect(replaced.created).toBe(false);
    expect(calls('upload.cgi')).toBe(1);
    expect((await drive.list('/')).map((entry) => `${entry.name}:${entry.size}`)).toEqual(['new.txt:4']);
  });

  it('keeps housekeeping files local and looks them up without any API call', async () => {
    const { drive } = setup;
    await expect(drive.stat('/Films/._movie.mkv')).rejects.toMatchObject({ code: 'not-found' });
    await drive.write('/.DS_Store', Readable.from([Buffer.from('ds')]), { size: 2 });
    expect((await drive.stat('/.DS_Store')).size).toBe(2);
    expect(apiCalls()).toBe(0);
  });

  it('creates folders, refuses duplicates and missing parents', async () => {
    const { drive } = setup;
    await drive.mkdir('/A');
    await drive.mkdir('/A/B');
    await expect(drive.mkdir('/A')).rejects.toMatchObject({ code: 'exists' });
    await expect(drive.mkdir('/missing/C')).rejects.toMatchObject({ code: 'conflict' });
    expect((await drive.list('/A')).map((entry) => entry.name)).toEqual(['B']);
  });

  it('renames in place with rename.cgi and moves across folders with mv.cgi', async () => {
    const { sim, drive } = setup;
    const target = await sim.addFolder({ name: 'Target' });
    const url = await sim.addFile({ name: 'a.txt', content: 'A' });
    await drive.move('/a.txt', '/b.txt', { overwrite: false });
    expect(calls('file/rename.cgi')).toBe(1);
    expect(calls('file/mv.cgi')).toBe(0);
    await drive.move('/b.txt', '/Target/b.txt', { overwrite: false });
    expect(calls('file/mv.cgi')).toBe(1);
    const moveCall = sim.log().find((entry) => entry.path.endsWith('file/mv.cgi'));
    expect(moveCall).toBeDefined();
    expect((await drive.list('/Target')).map((entry) => entry.name)).toEqual(['b.txt']);
    expect((await bytes(await drive.read('/Target/b.txt'))).toString()).toBe('A');
    expect(target).toBeGreaterThan(0);
    expect(url).toMatch(/^https:\/\/1fichier\.com\/\?[a-z0-9]{20}$/);
  });

  it('refuses to replace without overwrite and replaces with it', async () => {
    const { sim, drive } = setup;
    await sim.addFile({ name: 'src.txt', content: 'source' });
    await sim.addFile({ name: 'dst.txt', content: 'destination' });
    await expect(drive.move('/src.txt', '/dst.txt', { overwrite: false })).rejects.toMatchObject({ code: 'exists' });
    const result = await drive.move('/src.txt', '/dst.txt', { overwrite: true });
    expect(result.created).toBe(false);
    expect((await drive.list('/')).map((entry) => entry.name)).toEqual(['dst.txt']);
    expect((await bytes(await drive.read('/dst.txt'))).toString()).toBe('source');
  });

  it('copies files with cp.cgi and whole folders without downloading', async () => {
    const { sim, drive } = setup;
    const folder = await sim.addFolder({ name: 'Src' });
    await sim.addFile({ folderId: folder, name: 'one.txt', content: '1' });
    await sim.addFile({ folderId: folder, name: 'two.txt', content: '22' });
    const sub = await sim.addFolder({ parentId: folder, name: 'Sub' });
    await sim.addFile({ folderId: sub, name: 'three.txt', content: '333' });
    await drive.copy('/Src', '/Copy', { overwrite: false, depth: 'infinity' });
    expect(sim.stats().downloadRequests).toBe(0);
    expect(calls('upload.cgi')).toBe(0);
    expect((await drive.list('/Copy')).map((entry) => entry.name).sort()).toEqual(['Sub', 'one.txt', 'two.txt']);
    expect((await bytes(await drive.read('/Copy/Sub/three.txt'))).toString()).toBe('333');
    await drive.copy('/Src/one.txt', '/Src/uno.txt', { overwrite: false, depth: 0 });
    expect((await bytes(await drive.read('/Src/uno.txt'))).toString()).toBe('1');
  });

  it('removes a folder with its whole content', async () => {
    const { sim, drive } = setup;
    const folder = await sim.addFolder({ name: 'Trash' });
    await sim.addFile({ folderId: folder, name: 'x', content: 'x' });
    const sub = await sim.addFolder({ parentId: folder, name: 'Inner' });
    await sim.addFile({ folderId: sub, name: 'y', content: 'y' });
    await drive.remove('/Trash');
    expect(await drive.list('/')).toEqual([]);
    drive.folders.invalidate(0);
    expect(await drive.list('/')).toEqual([]);
  });

  it('moves and renames folders with folder/mv.cgi, carrying dead properties', async () => {
    const { drive } = setup;
    await drive.mkdir('/Old');
    await drive.mkdir('/Other');
    await drive.patchProperties('/Old', [{ op: 'set', property: { namespace: 'urn:x', name: 'tag', xml: 'red' } }]);
    await drive.move('/Old', '/Other/New', { overwrite: false });
    expect((await drive.list('/Other')).map((entry) => entry.name)).toEqual(['New']);
    expect(await drive.getProperties('/Other/New')).toEqual([{ namespace: 'urn:x', name: 'tag', xml: 'red' }]);
    expect(await drive.getProperties('/Old')).toEqual([]);
  });
});
