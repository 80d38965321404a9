/**
 * Spooling for uploads of unknown length (Finder's chunked PUTs without X-Expected-Entity-Length):
 * 1fichier needs the exact size before the upload starts, so such a body goes to a temporary file
 * first. The spool directory has a byte budget shared by all uploads in progress; a body that
 * would exceed it is refused with 507 instead of filling the disk, and so is one the disk itself
 * has no room for (ENOSPC, EDQUOT).
 */
import { randomUUID } from 'node:crypto';
import { constants, createWriteStream, type Dirent } from 'node:fs';
import { access, mkdir, readdir, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pLimit from 'p-limit';
import { hostTag, ownerGone } from '../state/process-owner.js';
import { asDiskFull } from './disk-full.js';
import { DriveError } from './types.js';

export interface SpooledBody {
  path: string;
  size: number;
  /** Deletes the file and returns its bytes to the budget. Safe to call twice. */
  release(): Promise<void>;
}

/** What the start-up clean-up did: files removed, and those it could not remove (name and errno code). */
export interface LeftoverReport {
  removed: number;
  failed: { name: string; code: string }[];
}

/** The spool directory cannot be used: not a folder, or not writable by this user (`code` is the errno code). */
export class SpoolUnusableError extends Error {
  override readonly name = 'SpoolUnusableError';
  constructor(
    readonly dir: string,
    readonly code: string,
  ) {
    super(`the upload spool ${dir} cannot be used (${code})`);
  }
}

/** Removals at once: a spool of many thousand leftovers must not queue them all on libuv's pool at once. */
const REMOVALS_AT_ONCE = 16;

/**
 * Start-up: creates the spool directory and checks that this user can write into it, so a file
 * standing where the folder should be, or a read-only or immutable folder, is reported when the
 * bridge starts rather than as a failed PUT later. Throws SpoolUnusableError.
 */
export async function prepareSpoolDir(dir: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
    if (!(await stat(dir)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new SpoolUnusableError(dir, (error as NodeJS.ErrnoException).code ?? 'error');
  }
}

/** Errors that say the spool directory itself is unusable (not a full disk: that is a 507 of its own). */
const UNUSABLE_CODES = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOTDIR', 'EEXIST', 'EISDIR', 'ENOENT']);

export class SpoolArea {
  private reserved = 0;
  /** Spool files of this process (never leftovers). */
  private readonly active = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
  ) {}

  get bytesInUse(): number {
    return this.reserved;
  }

  /**
   * Removes the `.part` files a dead process left (a crash or kill -9 mid-PUT): their clients were
   * never answered 2xx, so nothing in them is anyone's data. A spool file is named after its
   * process (`<pid>-<host tag>-<uuid>.part`): another live process on the same state directory (a
   * second `serve`) is uploading from its files, so they stay. Call once at start, before spooling.
   *
   * Only files and symbolic links are removed (a link itself, never what it points to); anything
   * else named `.part` was not made by a spool and stays. Every leftover is tried, a few at a time,
   * before this resolves: one that cannot be removed (an immutable file) is reported in `failed`,
   * it does not stop the others or leave them to run beside the first requests. Throws
   * SpoolUnusableError when the directory cannot be listed (ENOENT: nothing to do).
   */
  async removeLeftovers(): Promise<LeftoverReport> {
    let entries: Dirent[];
    try {
      entries = await readdir(this.dir, { withFileTypes: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      if (code === 'ENOENT') return { removed: 0, failed: [] };
      throw new SpoolUnusableError(this.dir, code);
    }
    const leftovers = entries
      .filter((entry) => (entry.isFile() || entry.isSymbolicLink()) && entry.name.endsWith('.part'))
      .map((entry) => entry.name)
      .filter((name) => !this.active.has(join(this.dir, name)) && ownerOfSpoolFileGone(name));
    const report: LeftoverReport = { removed: 0, failed: [] };
    const limit = pLimit(REMOVALS_AT_ONCE);
    const remove = async (name: string): Promise<void> => {
      try {
        // unlink, not rm: rm retries a refused unlink as a folder and reports ENOTDIR instead of EPERM.
        await unlink(join(this.dir, name));
        report.removed += 1;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'error';
        if (code === 'ENOENT') report.removed += 1; // gone meanwhile: the outcome asked for
        else report.failed.push({ name, code });
      }
    };
    await Promise.all(leftovers.map((name) => limit(() => remove(name))));
    return report;
  }

  async spool(body: Readable, signal?: AbortSignal): Promise<SpooledBody> {
    try {
      await mkdir(this.dir, { recursive: true });
    } catch (error) {
      throw asUnusable(error);
    }
    const path = join(this.dir, `${process.pid}-${hostTag()}-${randomUUID()}.part`);
    let size = 0;
    let released = false;
    this.active.add(path);
    const release = async () => {
      if (released) return;
      released = true;
      this.active.delete(path);
      this.reserved -= size;
      await rm(path, { force: true });
    };
    const area = this;
    try {
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            if (area.reserved + chunk.length > area.maxBytes) {
              throw new DriveError(
                'insufficient-storage',
                `the spool for uploads of unknown length is full (${area.maxBytes} bytes); send Content-Length or X-Expected-Entity-Length to stream instead`,
              );
            }
            area.reserved += chunk.length;
            size += chunk.length;
            yield chunk;
          }
        },
        createWriteStream(path),
        { signal },
      );
    } catch (error) {
      await release();
      throw asUnusable(asDiskFull(error, 'the upload spool'));
    }
    return { path, size, release };
  }
}

/**
 * A spool directory this process cannot write (removed, replaced by a file, made read-only after
 * start) as the DriveError the client sees: 507, nothing stored, and how to avoid the spool.
 */
function asUnusable(error: unknown): unknown {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (error instanceof DriveError || !code || !UNUSABLE_CODES.has(code)) return error;
  return new DriveError(
    'insufficient-storage',
    `the server cannot write its spool for uploads of unknown length (${code}); nothing was stored: send Content-Length or X-Expected-Entity-Length to stream instead`,
  );
}

/** Whether the process that named spool file `name` is gone (files named before owners were recorded count as gone). */
function ownerOfSpoolFileGone(name: string): boolean {
  const owner = /^(\d+)-([0-9a-f]{8})-/.exec(name);
  return !owner || ownerGone(Number(owner[1]), owner[2]);
}
