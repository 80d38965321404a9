/** Backup file names: the timestamp in the name is what retention reads, so it must round-trip exactly. */
import { describe, expect, it } from 'vitest';
import { backupFileName, formatOfFileName, invalidBackupName, parseBackupFileName } from '../../src/backup/naming.js';

describe('backup file names', () => {
  it('round-trips name, UTC second, compression and encryption', () => {
    const time = new Date('2026-11-30T02:05:09.789Z');
    const name = backupFileName('photos', time, 'zstd', true);
    expect(name).toBe('photos-20261130T020509Z.tar.zst.age');
    expect(parseBackupFileName('photos', name)).toEqual({ name, time: new Date('2026-11-30T02:05:09Z'), compression: 'zstd', encrypted: true });
    expect(parseBackupFileName('photos', 'photos-20261130T020509Z.tar')).toMatchObject({ compression: 'none', encrypted: false });
    expect(parseBackupFileName('photos', 'photos-20261130T020509Z.tar.gz')).toMatchObject({ compression: 'gzip', encrypted: false });
  });

  it('ignores other sets, other files and impossible dates', () => {
    expect(parseBackupFileName('photos', 'photos-old-20261130T020509Z.tar')).toBeUndefined();
    expect(parseBackupFileName('photo', 'photos-20261130T020509Z.tar')).toBeUndefined();
    expect(parseBackupFileName('photos', 'photos-20261130T020509Z.tar.zst.part')).toBeUndefined();
    expect(parseBackupFileName('photos', 'photos-20260230T020509Z.tar')).toBeUndefined();
    expect(parseBackupFileName('photos', 'notes.txt')).toBeUndefined();
    // A set name with regex characters matches only itself.
    expect(parseBackupFileName('a.b', 'axb-20261130T020509Z.tar')).toBeUndefined();
    expect(parseBackupFileName('a.b', 'a.b-20261130T020509Z.tar')).toBeDefined();
  });

  it('names a set only with characters that are safe in every file name', () => {
    expect(invalidBackupName('photos_2026.v2-x')).toBeUndefined();
    for (const bad of ['', '-x', 'a b', 'a/b', 'é', 'x'.repeat(101)]) expect(invalidBackupName(bad)).toMatch(/backup name/);
  });

  it('tells the format of any archive name for restore', () => {
    expect(formatOfFileName('x-1.tar.zst.age')).toEqual({ compression: 'zstd', encrypted: true });
    expect(formatOfFileName('x.tar')).toEqual({ compression: 'none', encrypted: false });
    expect(formatOfFileName('x.zip')).toBeUndefined();
  });
});
