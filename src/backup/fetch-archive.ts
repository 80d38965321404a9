/**
 * Bringing a backup archive down for `restore`, the way `download` does: bytes go to a `.part`
 * file that a later run resumes with one ranged read from its size, and the file is used only
 * once its size and Whirlpool match what 1fichier lists, so a damaged transfer is never extracted.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ByteRange } from '../drive/types.js';
import { createWhirlpoolHasher } from '../fichier/index.js';

export interface RemoteArchive {
  size: number;
  /** Whirlpool 1fichier lists for the file, when it lists one. */
  checksum?: string;
  /** Opens the remote bytes of `range`. */
  read(range: ByteRange, signal?: AbortSignal): Promise<Readable>;
}

export interface FetchEvents {
  /** Bytes present locally so far (the resumed prefix included). */
  onBytes?(total: number): void;
  /** A `.part` file was found and is resumed at `from`. */
  onResume?(from: number): void;
}

/** The archive's bytes do not match what 1fichier lists: the `.part` was deleted. */
export class ArchiveIntegrityError extends Error {
  override readonly name = 'ArchiveIntegrityError';
  constructor(
    message: string,
    /** True when the `.part` was kept and the same command resumes it. */
    readonly resumable: boolean,
  ) {
    super(message);
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

/**
 * Completes `part` from `remote` and verifies it. Throws ArchiveIntegrityError (after deleting
 * `part`) when the bytes are not 1fichier's; an interrupted transfer keeps `part` for the next run.
 */
export async function fetchArchive(remote: RemoteArchive, part: string, signal?: AbortSignal, events: FetchEvents = {}): Promise<void> {
  let start = await sizeOf(part);
  if (start > remote.size) {
    await rm(part, { force: true });
    start = 0;
  }
  const hasher = remote.checksum ? await createWhirlpoolHasher() : undefined;
  if (start > 0) {
    events.onResume?.(start);
    if (hasher) for await (const chunk of createReadStream(part, { signal })) hasher.update(chunk as Buffer);
  }
  let written = start;
  if (start < remote.size) {
    const body = await remote.read({ start, end: remote.size - 1 }, signal);
    const tap = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        written += chunk.length;
        hasher?.update(chunk);
        events.onBytes?.(written);
        callback(null, chunk);
      },
    });
    await pipeline(body, tap, createWriteStream(part, { flags: start > 0 ? 'a' : 'w' }), { signal });
  }
  const got = await sizeOf(part);
  if (got !== remote.size) {
    throw new ArchiveIntegrityError(`the transfer stopped at ${got} of ${remote.size} bytes; run the same command again to resume`, true);
  }
  if (hasher && hasher.digest() !== remote.checksum) {
    await rm(part, { force: true });
    throw new ArchiveIntegrityError("the archive's bytes do not match 1fichier's Whirlpool checksum; the partial copy was deleted: run the command again", false);
  }
}
