/** The write journal in the account database: records survive closing and reopening, in order. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { hostTag } from '../../src/state/process-owner.js';
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
    expect(await reopened.pending()).toEqual([
      { id: first, startedAt: 1234, intent: { ...upload, bodySent: true, newUrl: 'https://1fichier.com/?new34' }, owner: { pid: process.pid, host: hostTag() } },
    ]);
    await reopened.finish(first);
    expect(await reopened.pending()).toEqual([]);
  });
});

describe('SqliteWriteJournal from a version 1 database', () => {
  it('keeps the records of the old table, without an owner (leftovers any process replays)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'journal-v1-'));
    dirs.push(dir);
    const db = openAccountDb(dir);
    db.db.exec('CREATE TABLE write_journal (id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL, intent TEXT NOT NULL, started_at INTEGER NOT NULL)');
    db.db.prepare("INSERT INTO schema_parts (name, version) VALUES ('write_journal', 1)").run();
    db.db.prepare('INSERT INTO write_journal (path, intent, started_at) VALUES (?, ?, ?)').run(upload.path, JSON.stringify(upload), 77);
    const journal = new SqliteWriteJournal(db);
    const id = await journal.begin({ ...upload, path: '/b.bin' });
    expect(await journal.pending()).toEqual([
      { id: 1, startedAt: 77, intent: upload },
      { id, startedAt: expect.any(Number), intent: { ...upload, path: '/b.bin' }, owner: { pid: process.pid, host: hostTag() } },
    ]);
    db.close();
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
