/** The write journal in the account database: records survive closing and reopening, in order. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openAccountDb } from '../../src/state/account-db.js';
import { MemoryWriteJournal, SqliteWriteJournal, type UploadIntent } from '../../src/drive/write-journal.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const upload: UploadIntent = { op: 'upload', path: '/a.bin', folderId: 0, name: 'a.bin', size: 10, before: [], oldUrl: 'https://1fichier.com/?old12' };

describe('SqliteWriteJournal', () => {
  it('keeps unfinished records across a reopen (a restart), with their last update', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-'));
    dirs.push(dir);
    const db = openAccountDb(dir);
    const journal = new SqliteWriteJournal(db, () => 1234);
    const first = await journal.begin(upload);
    const second = await journal.begin({ ...upload, path: '/b.bin' });
    await journal.update(first, { ...upload, bodySent: true, newUrl: 'https://1fichier.com/?new34' });
    await journal.finish(second);
    db.close();

    const reopened = new SqliteWriteJournal(openAccountDb(dir));
    expect(await reopened.pending()).toEqual([{ id: first, startedAt: 1234, intent: { ...upload, bodySent: true, newUrl: 'https://1fichier.com/?new34' } }]);
    await reopened.finish(first);
    expect(await reopened.pending()).toEqual([]);
  });
});

describe('MemoryWriteJournal', () => {
  it('hands out copies: changing a returned intent does not change the record', async () => {
    const journal = new MemoryWriteJournal(() => 5);
    const id = await journal.begin(upload);
    const [record] = await journal.pending();
    (record.intent as UploadIntent).size = 99;
    expect(((await journal.pending())[0].intent as UploadIntent).size).toBe(10);
    await journal.finish(id);
    expect(await journal.pending()).toEqual([]);
  });
});
