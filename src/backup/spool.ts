/**
 * Spooling the archive to disk before its upload. 1fichier needs the exact size before the first
 * byte is sent (the upload is one multipart POST with a Content-Length), and the size of a
 * compressed, encrypted archive of a tree that may change while it is read is only known at its
 * end. So the archive streams to a file, bounded by a byte limit, while its Whirlpool is computed;
 * the upload then streams that file.
 */
import { mkdir, statfs } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { SpoolArea } from '../drive/spool.js';
import { DriveError } from '../drive/types.js';
import { createWhirlpoolHasher } from '../fichier/index.js';

/** Space left free on the spool's disk when no explicit limit is given. */
export const SPOOL_DISK_RESERVE = 1024 ** 3;

export interface SpooledArchive {
  path: string;
  size: number;
  /** Whirlpool (128 hex) of the spooled bytes, computed while they streamed. */
  whirlpool: string;
  /** Deletes the spool file. Safe to call twice. */
  release(): Promise<void>;
}

/** The archive grew past the spool limit. */
export class SpoolLimitError extends Error {
  override readonly name = 'SpoolLimitError';
}

/** The byte bound for a spool in `dir`: `explicit` when given, never more than the disk's free space less the reserve. */
export async function spoolBound(dir: string, explicit?: number): Promise<number> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const disk = await statfs(dir);
  const free = Number(disk.bavail) * Number(disk.bsize) - SPOOL_DISK_RESERVE;
  return Math.max(0, explicit === undefined ? free : Math.min(explicit, free));
}

/**
 * Streams `archive` into a new file of `dir`, at most `limit` bytes. `onBytes` hears the running
 * total. On any failure (limit, source error, abort) the partial file is deleted.
 */
export async function spoolArchive(archive: Readable, dir: string, limit: number, options: { signal?: AbortSignal; onBytes?: (total: number) => void } = {}): Promise<SpooledArchive> {
  const hasher = await createWhirlpoolHasher();
  let bytes = 0;
  async function* hashing(): AsyncGenerator<Buffer> {
    for await (const chunk of archive as AsyncIterable<Buffer>) {
      hasher.update(chunk);
      bytes += chunk.length;
      options.onBytes?.(bytes);
      yield chunk;
    }
  }
  try {
    // The spool area deletes its partial file itself when this fails.
    const spooled = await new SpoolArea(dir, limit).spool(Readable.from(hashing()), options.signal);
    return { path: spooled.path, size: spooled.size, whirlpool: hasher.digest(), release: spooled.release };
  } catch (error) {
    archive.destroy();
    if (error instanceof DriveError && error.code === 'insufficient-storage') {
      throw new SpoolLimitError(`the archive grew past the spool limit of ${limit} bytes in ${dir}`);
    }
    throw error;
  }
}
