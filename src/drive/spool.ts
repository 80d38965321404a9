/**
 * Spooling for uploads of unknown length (Finder's chunked PUTs without X-Expected-Entity-Length):
 * 1fichier needs the exact size before the upload starts, so such a body goes to a temporary file
 * first. The spool directory has a byte budget shared by all uploads in progress; a body that
 * would exceed it is refused with 507 instead of filling the disk, and so is one the disk itself
 * has no room for (ENOSPC, EDQUOT).
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { hostTag, ownerGone } from '../state/process-owner.js';
import { asDiskFull } from './disk-full.js';
import { DriveError } from './types.js';

export interface SpooledBody {
  path: string;
  size: number;
  /** Deletes the file and returns its bytes to the budget. Safe to call twice. */
  release(): Promise<void>;
}

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
   */
  async removeLeftovers(): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw error;
    }
    const leftovers = names.filter((name) => name.endsWith('.part') && !this.active.has(join(this.dir, name)) && ownerOfSpoolFileGone(name));
    await Promise.all(leftovers.map((name) => rm(join(this.dir, name), { force: true })));
    return leftovers.length;
  }

  async spool(body: Readable, signal?: AbortSignal): Promise<SpooledBody> {
    await mkdir(this.dir, { recursive: true });
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
      throw asDiskFull(error, 'the upload spool');
    }
    return { path, size, release };
  }
}

/** Whether the process that named spool file `name` is gone (files named before owners were recorded count as gone). */
function ownerOfSpoolFileGone(name: string): boolean {
  const owner = /^(\d+)-([0-9a-f]{8})-/.exec(name);
  return !owner || ownerGone(Number(owner[1]), owner[2]);
}
