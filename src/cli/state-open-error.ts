/**
 * What to tell a user whose state directory cannot hold the account's database: a damaged
 * `state.db`, a folder this user cannot write (permissions, a read-only mount), a full disk. Each
 * gets its own message naming the file and the fix, instead of one generic "cannot open" (which
 * sent everyone to --state-dir, losing the empty files and properties only that database holds).
 */
import { statfsSync } from 'node:fs';
import { join } from 'node:path';
import { STATE_DB_FILE } from '../state/account-db.js';
import { CliError, ExitCode } from './exit-codes.js';

/** Free bytes for this user on the disk holding `dir`; undefined when it cannot be told. */
function freeBytes(dir: string): number | undefined {
  try {
    const stats = statfsSync(dir);
    return stats.bavail * stats.bsize;
  } catch {
    return undefined;
  }
}

/**
 * The CliError (exit 1) for an error thrown while opening the state database in `dir`: an SQLite
 * error (`code` SQLITE_NOTADB, SQLITE_CORRUPT, SQLITE_CANTOPEN, SQLITE_READONLY, SQLITE_FULL,
 * SQLITE_IOERR…) or a file-system one from creating the folder (EACCES, EROFS, ENOSPC…).
 */
export function stateOpenError(dir: string, error: unknown): CliError {
  const code = String((error as { code?: unknown }).code ?? '');
  const reason = (error as Error).message;
  const file = join(dir, STATE_DB_FILE);
  if (/^SQLITE_(NOTADB|CORRUPT)/.test(code)) {
    return new CliError(
      `the account's state file ${file} is damaged (${reason}). Move it aside and start again ` +
        `(mv ${file} ${file}.damaged, and its -wal and -shm files likewise): a new one is made and the ` +
        `listings are read again, but the empty files and properties kept only in it are lost unless it is restored from a backup`,
      ExitCode.failed,
    );
  }
  // SQLite reports a full disk as SQLITE_FULL, or as an I/O error when it could not even grow its
  // shared-memory file: then the free space tells.
  const free = freeBytes(dir);
  const full = code === 'ENOSPC' || code === 'EDQUOT' || code.startsWith('SQLITE_FULL') || (code.startsWith('SQLITE_IOERR') && free !== undefined && free < 1024 * 1024);
  if (full) {
    return new CliError(`the disk holding the account's state in ${dir} is full (${reason}): free some space there, or choose another folder with --state-dir`, ExitCode.failed);
  }
  if (code.startsWith('SQLITE_IOERR') || code === 'EIO') {
    return new CliError(`cannot read or write the account's state in ${dir} (${reason}): check that disk, or choose another folder with --state-dir`, ExitCode.failed);
  }
  if (/^SQLITE_(CANTOPEN|READONLY|PERM|AUTH)/.test(code) || ['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST'].includes(code)) {
    return new CliError(
      `cannot write the account's state in ${dir} (${reason}): it must be a folder this user can write, on a disk not mounted read-only ` +
        `(check its owner and permissions), or choose another folder with --state-dir`,
      ExitCode.failed,
    );
  }
  return new CliError(`cannot open the account's state in ${dir} (${reason}): choose another folder with --state-dir`, ExitCode.failed);
}
