/**
 * Backup file names: `NAME-YYYYMMDDTHHMMSSZ.tar[.zst|.gz][.age]` in `/Backups/NAME/`.
 *
 * The time a backup was made lives in its name, not in 1fichier's upload date: the name survives a
 * copy or a move between accounts, sorts in time order as plain text, and is what retention reads.
 * Files in the folder whose names do not follow this pattern are not backups of NAME and are never
 * touched by retention.
 */

export type Compression = 'zstd' | 'gzip' | 'none';

export interface BackupFile {
  /** The file name, e.g. `photos-20261130T124500Z.tar.zst.age`. */
  name: string;
  /** When the backup was made (UTC, whole seconds). */
  time: Date;
  compression: Compression;
  encrypted: boolean;
}

const EXTENSION: Record<Compression, string> = { zstd: '.tar.zst', gzip: '.tar.gz', none: '.tar' };

/** Backup names: letters, digits, '.', '_' and '-', starting with a letter or digit, at most 100 characters. */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Returns an error message when `name` cannot name a backup set, else undefined. */
export function invalidBackupName(name: string): string | undefined {
  if (NAME_PATTERN.test(name)) return undefined;
  return `backup name "${name}" must be 1-100 letters, digits, ".", "_" or "-", starting with a letter or digit (it becomes part of every file name)`;
}

/** `2026-11-30T12:45:07.123Z` → `20261130T124507Z` (the milliseconds are dropped). */
export function compactTimestamp(time: Date): string {
  return time.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
}

/** The file name of a backup of `name` made at `time`. */
export function backupFileName(name: string, time: Date, compression: Compression, encrypted: boolean): string {
  return `${name}-${compactTimestamp(time)}${EXTENSION[compression]}${encrypted ? '.age' : ''}`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Parses a file name of the set `name`; undefined when it is not one (another set, or any other file). */
export function parseBackupFileName(name: string, fileName: string): BackupFile | undefined {
  const pattern = new RegExp(`^${escapeRegExp(name)}-(\\d{4})(\\d{2})(\\d{2})T(\\d{2})(\\d{2})(\\d{2})Z\\.tar(\\.zst|\\.gz)?(\\.age)?$`);
  const match = pattern.exec(fileName);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, ext, age] = match;
  const time = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)));
  // Reject impossible dates (month 13, February 30) rather than letting Date roll them over.
  if (compactTimestamp(time) !== `${y}${mo}${d}T${h}${mi}${s}Z`) return undefined;
  const compression: Compression = ext === '.zst' ? 'zstd' : ext === '.gz' ? 'gzip' : 'none';
  return { name: fileName, time, compression, encrypted: age !== undefined };
}

/** What a file name says about its format, whatever set it belongs to (for `restore`). */
export function formatOfFileName(fileName: string): { compression: Compression; encrypted: boolean } | undefined {
  const match = /\.tar(\.zst|\.gz)?(\.age)?$/.exec(fileName);
  if (!match) return undefined;
  const compression: Compression = match[1] === '.zst' ? 'zstd' : match[1] === '.gz' ? 'gzip' : 'none';
  return { compression, encrypted: match[2] !== undefined };
}
