import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import { MemoryDrive } from '../../src/drive/memory-drive.js';
import { DriveError, type DriveErrorCode } from '../../src/drive/types.js';

const put = (d: MemoryDrive, path: string, body: string, size: number | undefined = Buffer.byteLength(body)) =>
  d.write(path, Readable.from([Buffer.from(body)]), { size });
const code = async (p: Promise<unknown>): Promise<DriveErrorCode | 'ok'> => {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof DriveError) return e.code;
    throw e;
  }
};
const prop = (name: string, xml = 'v') => ({ op: 'set' as const, property: { namespace: 'urn:x', name, xml } });

describe('MemoryDrive', () => {
  it('files and folders: write, stat, list, read, ranges', async () => {
    const d = new MemoryDrive();
    await d.mkdir('/a');
    const w = await put(d, '/a/f.txt', 'hello world');
    expect(w.created).toBe(true);
    expect(w.entry).toMatchObject({ name: 'f.txt', kind: 'file', size: 11, contentType: 'text/plain' });
    expect((await d.list('/a')).map((e) => e.name)).toEqual(['f.txt']);
    expect(await text(await d.read('/a/f.txt'))).toBe('hello world');
    expect(await text(await d.read('/a/f.txt', { range: { start: 6, end: 10 } }))).toBe('world');
    expect(await code(d.read('/a/f.txt', { range: { start: 5, end: 11 } }))).toBe('bad-request');
    expect((await d.stat('/')).kind).toBe('folder');
  });

  it('the etag changes with the content, not with a property change', async () => {
    const d = new MemoryDrive();
    const first = (await put(d, '/f', 'one')).entry.etag;
    const second = (await put(d, '/f', 'two')).entry.etag;
    expect(second).not.toBe(first);
    await d.patchProperties('/f', [prop('p')]);
    expect((await d.stat('/f')).etag).toBe(second);
  });

  it('error codes of the contract', async () => {
    const d = new MemoryDrive({ capacityBytes: 10 });
    await put(d, '/f', 'x');
    expect(await code(d.stat('/missing'))).toBe('not-found');
    expect(await code(d.list('/f'))).toBe('not-a-folder');
    expect(await code(put(d, '/no/parent', 'x'))).toBe('conflict');
    expect(await code(put(d, '/f/under-file', 'x'))).toBe('conflict');
    expect(await code(d.mkdir('/f'))).toBe('exists');
    expect(await code(d.mkdir('/x/y'))).toBe('conflict');
    await d.mkdir('/dir');
    expect(await code(put(d, '/dir', 'x'))).toBe('is-a-folder');
    expect(await code(d.read('/dir'))).toBe('is-a-folder');
    expect(await code(put(d, '/big', 'x'.repeat(20)))).toBe('insufficient-storage');
    expect(await code(put(d, '/short', 'abc', 5))).toBe('bad-request');
    expect(await code(d.remove('/'))).toBe('forbidden');
    expect(await code(d.remove('/missing'))).toBe('not-found');
  });

  it('remove takes a folder with its whole content and its properties', async () => {
    const d = new MemoryDrive();
    await d.mkdir('/a');
    await d.mkdir('/a/b');
    await put(d, '/a/b/f', 'x');
    await d.patchProperties('/a/b/f', [prop('p')]);
    await d.remove('/a');
    expect(await code(d.stat('/a/b/f'))).toBe('not-found');
    await d.mkdir('/a');
    await d.mkdir('/a/b');
    await put(d, '/a/b/f', 'y');
    expect(await d.getProperties('/a/b/f')).toEqual([]);
  });

  it('move and copy: overwrite semantics, properties carried, depth 0 copies', async () => {
    const d = new MemoryDrive();
    await d.mkdir('/src');
    await put(d, '/src/f', 'data');
    await d.patchProperties('/src', [prop('folderprop')]);
    await d.patchProperties('/src/f', [prop('fileprop')]);
    expect(await d.copy('/src', '/copy', { overwrite: false, depth: 'infinity' })).toEqual({ created: true });
    expect(await text(await d.read('/copy/f'))).toBe('data');
    expect((await d.getProperties('/copy/f')).map((p) => p.name)).toEqual(['fileprop']);
    expect(await code(d.copy('/src', '/copy', { overwrite: false, depth: 'infinity' }))).toBe('exists');
    expect(await d.copy('/src', '/copy', { overwrite: true, depth: 0 })).toEqual({ created: false });
    expect(await d.list('/copy')).toEqual([]);
    expect((await d.getProperties('/copy')).map((p) => p.name)).toEqual(['folderprop']);

    expect(await d.move('/src/f', '/moved', { overwrite: false })).toEqual({ created: true });
    expect(await code(d.stat('/src/f'))).toBe('not-found');
    expect((await d.getProperties('/moved')).map((p) => p.name)).toEqual(['fileprop']);
    await put(d, '/other', 'other');
    expect(await code(d.move('/other', '/moved', { overwrite: false }))).toBe('exists');
    expect(await d.move('/other', '/moved', { overwrite: true })).toEqual({ created: false });
    expect(await text(await d.read('/moved'))).toBe('other');
    expect(await d.getProperties('/moved')).toEqual([]);

    expect(await code(d.move('/src', '/src/inside', { overwrite: true }))).toBe('forbidden');
    expect(await code(d.move('/copy', '/nowhere/x', { overwrite: true }))).toBe('conflict');
    expect(await code(d.move('/missing', '/x', { overwrite: true }))).toBe('not-found');
  });

  it('patchProperties is atomic and ordered', async () => {
    const d = new MemoryDrive();
    await put(d, '/f', 'x');
    await d.patchProperties('/f', [prop('a', '1'), { op: 'remove', namespace: 'urn:x', name: 'a' }, prop('b', '2')]);
    expect(await d.getProperties('/f')).toEqual([{ namespace: 'urn:x', name: 'b', xml: '2' }]);
    expect(await code(d.patchProperties('/f', [prop('c'), prop('')]))).toBe('bad-request');
    expect((await d.getProperties('/f')).map((p) => p.name)).toEqual(['b']);
  });

  it('quota counts file bytes', async () => {
    const d = new MemoryDrive({ capacityBytes: 100 });
    await put(d, '/a', '12345');
    await d.mkdir('/d');
    await put(d, '/d/b', '123');
    expect(await d.quota()).toEqual({ usedBytes: 8, availableBytes: 92 });
    await d.copy('/d', '/e', { overwrite: false, depth: 'infinity' });
    expect((await d.quota()).usedBytes).toBe(11);
  });

  it('aborting the signal destroys a read stream', async () => {
    const d = new MemoryDrive({ chunkSize: 4 });
    await put(d, '/f', 'x'.repeat(1000));
    const ac = new AbortController();
    const stream = await d.read('/f', { signal: ac.signal });
    stream.once('data', () => ac.abort());
    await expect(text(stream)).rejects.toBeInstanceOf(DriveError);
    expect(stream.destroyed).toBe(true);
  });
});
