import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalState } from '../../src/drive/local-state.js';
import { isSystemFileName } from '../../src/drive/system-files.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fichier-dav-state-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString();
}

const win32 = (name: string, xml: string) => ({ namespace: 'urn:schemas-microsoft-com:', name, xml });

describe('LocalState', () => {
  it('keeps empty files, housekeeping files and properties across a restart', async () => {
    const state = await LocalState.open(dir);
    await state.putEmpty('/docs/new.txt');
    await state.putSystem('/docs/._new.txt', Readable.from([Buffer.from('apple'), Buffer.from('double')]));
    await state.patchProperties('/docs/new.txt', [{ op: 'set', property: win32('Win32FileAttributes', '00000020') }]);
    await state.flush();

    const reopened = await LocalState.open(dir);
    expect(reopened.file('/docs/new.txt')).toMatchObject({ kind: 'empty', size: 0 });
    const system = reopened.file('/docs/._new.txt');
    expect(system).toMatchObject({ kind: 'system', size: 11 });
    expect(await text(reopened.readSystem(system!))).toBe('appledouble');
    expect(await text(reopened.readSystem(system!, { start: 5, end: 7 }))).toBe('dou');
    expect(reopened.properties('/docs/new.txt')).toEqual([win32('Win32FileAttributes', '00000020')]);
    expect(reopened.filesIn('/docs').map(([name]) => name).sort()).toEqual(['._new.txt', 'new.txt']);
    expect(reopened.filesIn('/')).toEqual([]);
  });

  it('applies several set/remove patches in order', async () => {
    const state = await LocalState.open(dir);
    await state.patchProperties('/f', [
      { op: 'set', property: win32('A', '1') },
      { op: 'set', property: win32('B', '2') },
      { op: 'remove', namespace: 'urn:schemas-microsoft-com:', name: 'A' },
      { op: 'set', property: win32('B', '3') },
    ]);
    expect(state.properties('/f')).toEqual([win32('B', '3')]);
  });

  it('moves, copies and removes whole trees with their properties and blobs', async () => {
    const state = await LocalState.open(dir);
    await state.putEmpty('/a/x');
    await state.putSystem('/a/sub/.DS_Store', Readable.from([Buffer.from('ds')]));
    await state.patchProperties('/a', [{ op: 'set', property: win32('P', 'folder') }]);
    await state.patchProperties('/a/x', [{ op: 'set', property: win32('P', 'file') }]);

    await state.copyTree('/a', '/b', 'infinity');
    await state.moveTree('/a', '/c');
    expect(state.file('/a/x')).toBeUndefined();
    expect(state.file('/c/x')).toBeDefined();
    expect(state.properties('/c/x')).toEqual([win32('P', 'file')]);
    expect(await text(state.readSystem(state.file('/b/sub/.DS_Store')!))).toBe('ds');
    expect(await text(state.readSystem(state.file('/c/sub/.DS_Store')!))).toBe('ds');

    await state.copyTree('/c', '/d', 0);
    expect(state.properties('/d')).toEqual([win32('P', 'folder')]);
    expect(state.file('/d/x')).toBeUndefined();

    await state.removeTree('/b');
    await state.removeTree('/c');
    expect(state.file('/b/sub/.DS_Store')).toBeUndefined();
    expect(await readdir(join(dir, 'blobs'))).toEqual([]);
  });

  it('refuses oversized housekeeping files without keeping a partial blob', async () => {
    const state = await LocalState.open(dir, { maxSystemFileBytes: 10 });
    await expect(state.putSystem('/Thumbs.db', Readable.from([Buffer.alloc(8), Buffer.alloc(8)]))).rejects.toThrow(
      /up to 10 bytes/,
    );
    expect(state.file('/Thumbs.db')).toBeUndefined();
    expect(await readdir(join(dir, 'blobs'))).toEqual([]);
  });

  it('recognises housekeeping names', () => {
    for (const name of ['._movie.mkv', '.DS_Store', 'Thumbs.db', 'desktop.ini', 'Desktop.ini']) {
      expect(isSystemFileName(name)).toBe(true);
    }
    for (const name of ['movie.mkv', '_notes', '.hidden', 'thumbs.db.bak']) expect(isSystemFileName(name)).toBe(false);
  });
});
