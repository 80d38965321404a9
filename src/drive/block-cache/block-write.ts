/**
 * Writing one whole block (or fragment) to its file, and the checksum of its bytes.
 *
 * Whole blocks go to disk with direct I/O (`O_DIRECT`) where the file system takes it, from an
 * aligned buffer straight to the device, bypassing the page cache. A streamed film then no longer fills the machine's page cache with
 * blocks nobody reads back soon, and the bridge stops paying for page-cache pages it would touch
 * once: on the 2-core VM of our bench, a buffered 1 GiB write into fresh page cache cost 2.7 s of
 * kernel CPU against 0.17 s with `O_DIRECT` (`dd`, docs/media-reads.md, "Direct I/O"). Fragments
 * (small, read again soon) and file systems that refuse direct I/O (tmpfs on older kernels, some
 * FUSE mounts; `EINVAL` at open or at the first write) use plain buffered writes; one refusal turns
 * direct I/O off for the process.
 *
 * A block whose bytes sit in a pooled buffer (block-memory.ts: aligned) is written from there; other
 * blocks are copied into an aligned staging slot first (reused, so the copy touches no fresh memory).
 */
import { constants } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { createXXHash64, type IHasher } from 'hash-wasm';
import { AlignedSlots, alignUp } from './block-memory.js';

/** Staging memory for direct writes (bytes, at least two slots whatever the block size). */
const STAGING_BYTES = 16 * 1024 * 1024;

/** Where a unit goes and what to do once it is there; `register` is called after the bytes are written. */
export interface BlockWriteTarget {
  /** Path for a unit of `bytes` bytes with this checksum. */
  path(sum: string, bytes: number): string;
  /** True when a unit of `bytes` bytes with this checksum is already indexed (same bytes: nothing to write). */
  alreadyStored(sum: string, bytes: number): boolean;
  /** The bytes are on disk under `path(sum)`. */
  register(sum: string, bytes: number): void;
  /** Whole blocks only: may be written with direct I/O. */
  direct: boolean;
}

/** Per store: the staging slots and whether direct I/O still works on its disk. */
export class BlockWriter {
  private slots: AlignedSlots | undefined;
  /** False once the file system refused direct I/O (or the platform has none). */
  directIo: boolean;

  /**
   * @param direct try direct I/O for whole blocks (Linux only).
   * @param openFile how files are opened (tests stand in a file system that refuses O_DIRECT).
   */
  constructor(
    private readonly blockSize: number,
    direct = true,
    private readonly openFile: typeof open = open,
  ) {
    this.directIo = direct && typeof constants.O_DIRECT === 'number' && constants.O_DIRECT !== 0;
  }

  /**
   * Writes `chunks` (the unit's bytes, in order) to `target.path(sum, bytes)` and registers it. `aligned`:
   * the pooled buffer (block-memory.ts) whose start `chunks[0]` is, when the block lives in one;
   * it is written from without a copy, and its bytes past the block are zeroed. Resolves once the
   * bytes are written (the caller may reuse `chunks` and `aligned` then). Rejects with the disk's error
   * (ENOSPC, EIO...); a file left by a failed write is removed first.
   */
  async write(target: BlockWriteTarget, chunks: Buffer[], aligned?: Buffer): Promise<void> {
    let bytes = 0;
    for (const chunk of chunks) bytes += chunk.length;
    if (target.direct && this.directIo && bytes <= this.blockSize) {
      const done = await this.writeDirect(target, chunks, bytes, aligned);
      if (done) return;
    }
    const sum = await checksum(chunks);
    if (target.alreadyStored(sum, bytes)) return;
    await writeFileAt(this.openFile, target.path(sum, bytes), 0, (handle) => writeAll(handle, chunks, bytes));
    target.register(sum, bytes);
  }

  /** False when the file system refused direct I/O (then it is off for good and the caller writes buffered). */
  private async writeDirect(target: BlockWriteTarget, chunks: Buffer[], bytes: number, aligned?: Buffer): Promise<boolean> {
    const padded = alignUp(bytes);
    const staged = aligned === undefined || aligned.length < padded || chunks.length !== 1 || chunks[0]!.buffer !== aligned.buffer || chunks[0]!.byteOffset !== aligned.byteOffset;
    if (staged) this.slots ??= new AlignedSlots(this.blockSize, STAGING_BYTES, 2, 16);
    const slot = staged ? await this.slots!.acquire() : aligned!;
    try {
      if (staged) {
        let at = 0;
        for (const chunk of chunks) at += chunk.copy(slot, at);
      }
      // The pad is cut off by the truncate below; zeroed so no earlier block's bytes reach the disk.
      slot.fill(0, bytes, padded);
      const data = slot.subarray(0, bytes);
      const sum = await checksum([data]);
      if (target.alreadyStored(sum, bytes)) return true;
      try {
        await writeFileAt(this.openFile, target.path(sum, bytes), constants.O_DIRECT, async (handle) => {
          await writeAll(handle, [slot.subarray(0, padded)], padded);
          if (padded !== bytes) await handle.truncate(bytes);
        });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
        this.directIo = false;
        return false;
      }
      target.register(sum, bytes);
      return true;
    } finally {
      if (staged) this.slots!.release(slot);
    }
  }
}

/** Opens `path` for writing (created or truncated, plus `extraFlags`), runs `body`, closes; removes the file if anything failed. */
async function writeFileAt(openFile: typeof open, path: string, extraFlags: number, body: (handle: FileHandle) => Promise<void>): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await openFile(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | extraFlags, 0o644);
    await body(handle);
    const closing = handle;
    handle = undefined;
    await closing.close();
  } catch (error) {
    await handle?.close().catch(() => {});
    await rm(path, { force: true }).catch(() => {});
    throw error;
  }
}

let sharedHasher: Promise<IHasher> | undefined;

/**
 * xxHash64 (hex) of bytes given as chunks in order. One hasher for the process: hashing runs in
 * one synchronous stretch (init, updates, digest) so concurrent writes cannot interleave, and the
 * WebAssembly instance is made once instead of once per block.
 */
export async function checksum(chunks: Buffer[]): Promise<string> {
  sharedHasher ??= createXXHash64();
  const hasher = await sharedHasher;
  hasher.init();
  for (const chunk of chunks) hasher.update(chunk);
  return hasher.digest('hex');
}

/** Writes every chunk from offset 0 on, retrying the rest after a short vectored write. */
async function writeAll(handle: FileHandle, chunks: Buffer[], bytes: number): Promise<void> {
  let pending = chunks;
  let done = 0;
  while (done < bytes) {
    const { bytesWritten } = await handle.writev(pending, done);
    if (bytesWritten <= 0) throw new Error('the disk accepted no bytes of a cache block');
    done += bytesWritten;
    pending = remainder(pending, bytesWritten);
  }
}

function remainder(chunks: Buffer[], skip: number): Buffer[] {
  const rest: Buffer[] = [];
  for (const chunk of chunks) {
    if (skip >= chunk.length) {
      skip -= chunk.length;
      continue;
    }
    rest.push(skip > 0 ? chunk.subarray(skip) : chunk);
    skip = 0;
  }
  return rest;
}
