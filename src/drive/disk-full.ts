/**
 * The disk of the machine running the bridge is full, or the user's disk quota there is used up:
 * ENOSPC and EDQUOT from any write (the upload spool, the local state, the read cache). The drive
 * turns them into DriveError 'insufficient-storage', which the WebDAV layer answers with 507
 * Insufficient Storage (RFC 4918 §11.5), so the client learns that nothing was stored, and why.
 */
import { DriveError } from './types.js';

/**
 * Is `error` a full disk or an exhausted disk quota: errno ENOSPC or EDQUOT from node:fs, or
 * SQLITE_FULL from the account database (SQLite's name for the same condition)?
 */
export function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL';
}

/**
 * `error` as the DriveError a client should see when it is a full disk (`what` names what could
 * not be written, e.g. "the upload spool"); any other error unchanged.
 */
export function asDiskFull(error: unknown, what: string): unknown {
  if (!isDiskFull(error)) return error;
  const code = (error as NodeJS.ErrnoException).code;
  return new DriveError('insufficient-storage', `the disk holding ${what} is full (${code}); nothing was stored`);
}
