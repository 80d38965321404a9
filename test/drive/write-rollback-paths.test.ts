/**
 * A write whose rollback 1fichier refuses for now keeps every path it touched until the rollback is
 * through: the drive over the real client against the simulator, with an upstream whose file moves
 * fail on demand (the simulator's faults answer before a call is applied; here a MOVE is applied
 * and its answer lost, which is what a rollback has to undo).
 *
 * A MOVE of a file onto another file is journaled under its destination path; its source path was
 * not part of the record. When the transfer's answer was lost and moving the file back kept
 * failing, the source path showed nothing: a PUT there made a new file, and the rollback then moved
 * the old one back beside it (two files of one name upstream).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, expect, it } from 'vitest';
import { FichierDrive } from '../../src/drive/fichier-drive.js';
import { FichierUpstream } from '../../src/drive/fichier-upstream.js';
import { LocalState } from '../../src/drive/local-state.js';
import { DriveError } from '../../src/drive/types.js';
import { FichierClient } from '../../src/fichier/index.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { accountView } from '../integration/account-view.js';

const KEY = 'rollback-paths-key';
const SCALE = 0.01;

/** file/mv.cgi calls that fail on demand: `loseNext` applies the next move and reports it failed. */
class FlakyMoves extends FichierUpstream {
  loseNext = false;
  refuseMoves = false;
  override async moveFile(url: string, destinationFolderId: number, newName?: string): Promise<string> {
    if (this.refuseMoves) throw new DriveError('unavailable', '1fichier answers 503 for now');
    const moved = await super.moveFile(url, destinationFolderId, newName);
    if (this.loseNext) {
      this.loseNext = false;
      this.refuseMoves = true;
      throw new DriveError('unavailable', 'the answer to the move was lost');
    }
    return moved;
  }
}

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

it('a PUT to the source of a MOVE still being rolled back is refused for now, then replaces the file whole', async () => {
  const sim: Simulator = await startSimulator({ apiKey: KEY, timeScale: SCALE });
  const client = new FichierClient({ apiKey: KEY, apiUrl: sim.apiUrl, timeScale: SCALE });
  const dir = await mkdtemp(join(tmpdir(), 'fichier-dav-rollback-'));
  const upstream = new FlakyMoves(client);
  const drive = new FichierDrive({ upstream, state: await LocalState.open(join(dir, 'state')), spoolDir: join(dir, 'spool'), readCache: false });
  cleanup = async () => {
    await drive.closeWrites();
    await client.close();
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  };
  const folder = await sim.addFolder({ name: 'A' });
  await sim.addFile({ folderId: folder, name: 's.bin', content: 'source bytes' });
  await sim.addFile({ name: 'd.bin', content: 'destination bytes' });
  await drive.stat('/A/s.bin');
  await drive.stat('/d.bin');

  upstream.loseNext = true;
  await expect(drive.move('/A/s.bin', '/d.bin', { overwrite: true })).rejects.toMatchObject({ code: 'unavailable' });
  // The move back keeps failing: /A/s.bin still exists for the clients (the MOVE was answered an error).
  const body = Buffer.from('a new body for s.bin');
  await expect(drive.write('/A/s.bin', Readable.from([body]), { size: body.length })).rejects.toMatchObject({ code: 'unavailable' });

  upstream.refuseMoves = false;
  const result = await drive.write('/A/s.bin', Readable.from([body]), { size: body.length });
  expect(result.created).toBe(false);
  const view = await accountView(sim);
  expect(view.duplicates).toEqual([]);
  expect([...view.files.keys()].sort()).toEqual(['/A/s.bin', '/d.bin']);
  expect(view.files.get('/A/s.bin')).toEqual(body);
  expect(view.files.get('/d.bin')?.toString()).toBe('destination bytes');
}, 120_000);
