/**
 * Block-size buffers that live as long as the process and are reused, for the bytes of blocks on
 * their way from upstream (block-fill.ts) and for staging direct-I/O writes (block-write.ts).
 *
 * Why a pool: a block kept as the socket chunks that brought it holds each 64 KiB chunk for as long
 * as the block is read or written, long enough for V8 to promote it; the external memory those
 * chunks hold then drives full garbage collections (54 major GCs per GiB on a sequential read
 * through the cache, measured with a `gc` PerformanceObserver). Copying each chunk into a pooled
 * buffer as it arrives lets the chunk die young, and pooled memory is never fresh memory to the
 * kernel either.
 *
 * The buffers are carved out of one WebAssembly.Memory: it starts on a page boundary, so each slot
 * (a multiple of 4 KiB) is aligned as direct I/O (`O_DIRECT`) requires; a Node Buffer's own address
 * is not (malloc'd). The memory is reserved up front and touched only as slots are used.
 */

/** Direct I/O wants buffer address, file offset and length in multiples of the device's logical block; 4 KiB covers 512e and 4Kn disks. */
export const DIRECT_ALIGN = 4096;
const WASM_PAGE = 65536;

/** The part of the WebAssembly global we use (the project's TypeScript libs do not declare it). */
declare const WebAssembly: { Memory: new (descriptor: { initial: number }) => { readonly buffer: ArrayBuffer } };

/** Bytes `bytes` rounded up to the direct-I/O alignment. */
export function alignUp(bytes: number): number {
  return Math.ceil(bytes / DIRECT_ALIGN) * DIRECT_ALIGN;
}

export class AlignedSlots {
  /** Bytes of one slot: the block size rounded up to DIRECT_ALIGN. */
  readonly slotBytes: number;
  readonly slots: number;
  private readonly free: Buffer[] = [];
  private readonly waiting: Array<(slot: Buffer) => void> = [];
  /** Times tryAcquire found no free slot (the caller went on without one). */
  misses = 0;
  /**
   * Asked when no slot is free: may release one (a block held only for a reader that can read it
   * from disk). Returns true if it did.
   */
  reclaim: () => boolean = () => false;

  /**
   * @param blockSize bytes of a whole block.
   * @param budgetBytes memory for all slots; at least `minSlots` slots whatever the block size.
   */
  constructor(blockSize: number, budgetBytes: number, minSlots: number, maxSlots = Number.POSITIVE_INFINITY) {
    this.slotBytes = alignUp(blockSize);
    this.slots = Math.max(minSlots, Math.min(maxSlots, Math.floor(budgetBytes / this.slotBytes)));
    const memory = new WebAssembly.Memory({ initial: Math.ceil((this.slots * this.slotBytes) / WASM_PAGE) });
    for (let i = this.slots - 1; i >= 0; i -= 1) this.free.push(Buffer.from(memory.buffer, i * this.slotBytes, this.slotBytes));
  }

  /** Slots in use now. */
  get inUse(): number {
    return this.slots - this.free.length;
  }

  /** A free slot, or undefined (counted as a miss) when all are in use. */
  tryAcquire(): Buffer | undefined {
    if (this.free.length === 0 && this.waiting.length === 0) this.reclaim();
    const slot = this.free.pop();
    if (!slot) this.misses += 1;
    return slot;
  }

  /** A free slot, waiting for one to be released when all are in use. */
  acquire(): Promise<Buffer> {
    const slot = this.free.pop();
    if (slot) return Promise.resolve(slot);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(slot: Buffer): void {
    const next = this.waiting.shift();
    if (next) next(slot);
    else this.free.push(slot);
  }
}
