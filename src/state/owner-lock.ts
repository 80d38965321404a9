/**
 * A lock each bridge holds on `<state dir>/owners/<pid>-<host tag>.lock` for its whole life, so
 * that another process can tell whether the owner of a spool file or a journal record is alive
 * without trusting process ids. Process ids are not enough where the state folder is shared
 * across PID namespaces: two containers with one hostname on one volume each see the other's pid
 * as "not running" (or as their own, both being pid 1) and took each other's live uploads for a
 * dead predecessor's.
 *
 * The lock is SQLite's: an exclusive transaction on a tiny database, held open. SQLite locks with
 * POSIX advisory locks, which the kernel drops when the process dies (kill -9 included) and which
 * processes of every container sharing the volume see. Where the file system does not lock
 * (some network file systems), holding fails and the pid checks of process-owner.ts stay the rule.
 */
import { existsSync, mkdirSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export const OWNERS_DIR = 'owners';
const LOCK_NAME = /^(\d+)-([0-9a-f]{8})\.lock$/;

/** Another live process holds this process's own identity (same host tag and pid) on this state folder. */
export class TwinOwnerError extends Error {
  constructor(readonly stateDir: string) {
    super(`another fichier-dav process with this host name and process id uses the state folder ${stateDir}`);
  }
}

type Attempt = { held: Database.Database } | 'busy' | 'unsupported';

/** Takes the lock at `path` without waiting: the open handle, 'busy' (a live holder), or 'unsupported'. */
function tryLock(path: string, mustExist = false): Attempt {
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: 0, fileMustExist: mustExist });
    db.pragma('journal_mode = MEMORY'); // nothing is ever written: no -journal file beside the lock
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    return { held: db };
  } catch (error) {
    db?.close();
    const code = (error as { code?: string }).code;
    return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED' ? 'busy' : 'unsupported';
  }
}

/**
 * Removes a lock file nobody else holds (and SQLite's journal beside it) while `held` still locks
 * it, then lets go. Unlinking after letting go could remove the file a starting process has just
 * locked (it would hold a lock nobody can see); unlinked first, a process that opened the file
 * before finds it gone once it has the lock (holdOwnerLock then starts over).
 * A file that cannot be removed is left: it only costs a look at the next start.
 */
function removeLockFile(path: string, held: Database.Database): void {
  try {
    rmSync(path, { force: true });
    rmSync(`${path}-journal`, { force: true });
  } catch {
    // Left for a later sweep.
  } finally {
    held.close();
  }
}

interface Holding {
  db: Database.Database;
  pid: number;
  tag: string;
  users: number;
}

/**
 * Lock files this process found free and removed: their owners are dead. A live lock file of the
 * same name, checked first, still wins (a new process that got the same pid and host tag).
 */
const foundDead = new Set<string>();

/** Owner folders this process holds its lock in (one per state folder), with how many users each. */
const holdings = new Map<string, Holding>();

/**
 * Holds this process's owner lock in `stateDir` until `release` is called (calls nest: bridges of
 * one process on one state folder share it). Removes the lock files of dead owners on the way.
 * Returns false when the file system cannot lock (pid checks then decide, as before).
 * Throws TwinOwnerError when a live process holds the same identity (two containers with the
 * same hostname and pid on one volume).
 */
export function holdOwnerLock(stateDir: string, identity: { pid: number; tag: string }): { locked: boolean; release: () => void } {
  let dir: string;
  let names: string[];
  try {
    mkdirSync(join(stateDir, OWNERS_DIR), { recursive: true });
    // One key per folder however it is spelled (relative, through a link): a second holding of
    // the same file in this process would find its own lock busy and refuse as a twin.
    dir = realpathSync(join(stateDir, OWNERS_DIR));
    const existing = holdings.get(dir);
    if (existing) {
      existing.users += 1;
      return { locked: true, release: once(() => releaseHolding(dir)) };
    }
    names = readdirSync(dir);
  } catch {
    // An owners folder this process cannot make or list (a file in its place, another user's
    // folder): no lock, the pid checks decide as before; never a reason to refuse to start.
    return { locked: false, release: () => {} };
  }
  const own = `${identity.pid}-${identity.tag}.lock`;
  for (const name of names) {
    if (name === own || !LOCK_NAME.test(name)) continue;
    const attempt = tryLock(join(dir, name), true);
    if (typeof attempt === 'object') {
      removeLockFile(join(dir, name), attempt.held);
      foundDead.add(name);
    }
  }
  const path = join(dir, own);
  for (let tries = 1; ; tries += 1) {
    const attempt = tryLock(path);
    if (attempt === 'unsupported') return { locked: false, release: () => {} };
    if (typeof attempt === 'object') {
      // Another process's sweep or check may have removed the file between its creation here and
      // the lock: then the lock is on a file nobody can see, and this process would look like one
      // without a lock. Start over on a fresh file.
      if (existsSync(path)) {
        holdings.set(dir, { db: attempt.held, pid: identity.pid, tag: identity.tag, users: 1 });
        return { locked: true, release: once(() => releaseHolding(dir)) };
      }
      attempt.held.close();
    } else if (tries >= TWIN_TRIES) {
      // Held across every try: a live twin, not another process's momentary look at the file.
      throw new TwinOwnerError(stateDir);
    }
    if (tries >= TWIN_TRIES * 2) return { locked: false, release: () => {} };
    pause(TWIN_PAUSE_MS);
  }
}

/** A twin holds the lock for its life; another process's sweep or check holds it for an instant. */
const TWIN_TRIES = 5;
const TWIN_PAUSE_MS = 20;

/** Waits `ms` milliseconds without returning to the event loop (start-up only). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function releaseHolding(dir: string): void {
  const holding = holdings.get(dir);
  if (!holding || --holding.users > 0) return;
  holdings.delete(dir);
  holding.db.close();
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

/**
 * What the owner locks say about process `pid` of this host: 'self' (the identity this process
 * holds: what it finds under it is a previous incarnation's), 'alive' (its lock is held), 'gone'
 * (its lock file is there and free: it died; the file is removed), or undefined (no lock of it in
 * any state folder this process holds: an owner that held none, e.g. an older version).
 */
export function lockedOwnerState(pid: number, tag: string): 'self' | 'alive' | 'gone' | undefined {
  for (const holding of holdings.values()) {
    if (pid === holding.pid && tag === holding.tag) return 'self';
  }
  // A held lock in any of the folders wins over a free one in another: the free one can be a dead
  // earlier process's of the same pid (another container) while the live one holds its lock in
  // the folder the spool file or record belongs to. Answering "gone" from the first folder looked
  // at deleted that live owner's upload.
  let state: 'gone' | undefined;
  for (const dir of holdings.keys()) {
    const path = join(dir, `${pid}-${tag}.lock`);
    if (!existsSync(path)) continue;
    const attempt = tryLock(path, true);
    if (attempt === 'busy') return 'alive';
    if (typeof attempt === 'object') {
      removeLockFile(path, attempt.held);
      foundDead.add(`${pid}-${tag}.lock`);
      state = 'gone';
    }
  }
  // Its lock file was removed by this process (the start-up sweep, or an earlier check of another
  // of its files): still dead, not a case for the pid checks, which in another PID namespace may
  // find an unrelated process with that pid and keep the dead owner's files for ever.
  return state ?? (foundDead.has(`${pid}-${tag}.lock`) ? 'gone' : undefined);
}
