/**
 * The read cache inside FichierDrive over the simulator: on by default, off on request, and a cache
 * directory that cannot be used never takes reads down.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { FichierDrive, type FichierDriveOptions } from '../../src/drive/fichier-drive.js';
import { FichierUpstream } from '../../src/drive/fichier-upstream.js';
import { LocalState } from '../../src/drive/local-state.js';
import { DriveError } from '../../src/drive/types.js';
import { FichierClient } from '../../src/fichier/index.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';

const KEY = 'cache-drive-test-key';
const SCALE = 0.01;
let cleanup: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const step of cleanup.reverse()) await step();
  cleanup = [];
});

async function open(
  options: Partial<FichierDriveOptions> = {},
): Promise<{ sim: Simulator; client: FichierClient; drive: FichierDrive; dir: string; errors: unknown[] }> {
  const sim = await startSimulator({ apiKey: KEY, timeScale: SCALE });
  const client = new FichierClient({ apiKey: KEY, apiUrl: sim.apiUrl, timeScale: SCALE });
  const dir = await mkdtemp(join(tmpdir(), 'fichier-dav-cache-drive-'));
  const errors: unknown[] = [];
  let drive: FichierDrive | undefined;
  cleanup.push(async () => {
    await drive?.closeReadCache();
    await client.close();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });
  drive = new FichierDrive({
    upstream: new FichierUpstream(client),
    state: await LocalState.open(join(dir, 'state')),
    spoolDir: join(dir, 'state', 'spool'),
    onBackgroundError: (error) => errors.push(error),
    ...options,
  });
  return { sim, client, drive, dir, errors };
}

async function bytes(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('FichierDrive with the read cache', () => {
  it('is on by default, under blocks/ beside the spool, and serves repeats from disk', async () => {
    const { sim, drive } = await open();
    const url = await sim.addFile({ name: 'a.bin', synthetic: { size: 5 * 1024 * 1024, seed: 1 } });
    const first = await bytes(await drive.read('/a.bin', { range: { start: 100, end: 200_000 } }));
    expect(first.equals(await bytes(sim.contentOf(url, 100, 200_000)))).toBe(true);
    await drive.settleReadCache();
    sim.reset();
    const again = await bytes(await drive.read('/a.bin', { range: { start: 5000, end: 6000 } }));
    expect(again.equals(await bytes(sim.contentOf(url, 5000, 6000)))).toBe(true);
    expect(sim.stats().downloadRequests).toBe(0);
    expect(drive.cacheStats()).toMatchObject({ hits: 1, storedBlocks: 1 });
  });

  it('with readCache: false every range is one upstream GET and nothing is stored', async () => {
    const { sim, drive } = await open({ readCache: false });
    await sim.addFile({ name: 'b.bin', content: Buffer.alloc(10_000, 4) });
    for (let index = 0; index < 3; index += 1) await bytes(await drive.read('/b.bin', { range: { start: 0, end: 99 } }));
    expect(sim.stats().downloadRequests).toBe(3);
    expect(drive.cacheStats().storedBlocks).toBe(0);
  });

  it('reads straight from upstream when the cache directory cannot be used, and says why', async () => {
    const blocker = join(tmpdir(), `fichier-dav-not-a-dir-${process.pid}`);
    await writeFile(blocker, 'a file, not a directory');
    cleanup.push(() => rm(blocker, { force: true }));
    const { sim, drive, errors } = await open({ cacheDir: join(blocker, 'cache') });
    const url = await sim.addFile({ name: 'c.bin', content: Buffer.from('still readable') });
    expect((await bytes(await drive.read('/c.bin'))).equals(await bytes(sim.contentOf(url)))).toBe(true);
    expect(errors.length).toBeGreaterThan(0);
    expect(drive.cacheStats().storedBlocks).toBe(0);
  });

  it('rejects the read itself (not a cut stream) when the file vanished upstream', async () => {
    const { sim, client, drive } = await open();
    const url = await sim.addFile({ name: 'gone.mkv', synthetic: { size: 3 * 1024 * 1024, seed: 4 } });
    await drive.stat('/gone.mkv');
    await client.removeFiles([url]);
    await expect(drive.read('/gone.mkv', { range: { start: 0, end: 99 } })).rejects.toBeInstanceOf(DriveError);
    await drive.settleReadCache();
    expect(drive.cacheStats().storedBlocks).toBe(0);
  });

  it('refuses invalid cache settings at construction with a clear error', async () => {
    await expect(open({ cacheBlockSize: 1000 })).rejects.toThrow(/block size/);
  });
});
