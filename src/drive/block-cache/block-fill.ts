/**
 * A block on its way from upstream: its bytes so far stay in memory so every reader waiting for
 * this block (the one that asked for it and any that came meanwhile) is served as the bytes arrive,
 * without waiting for the whole block or for the disk.
 *
 * The bytes go into a pooled block buffer (block-memory.ts) as they arrive, when one is free: the
 * socket's chunk then dies young instead of being held (and promoted) for the block's lifetime.
 * Readers get copies of pooled bytes, since the buffer is reused once the fill is let go. Without
 * a free buffer the fill keeps the chunks themselves (never copied), as before the pool.
 *
 * Who holds the fill is counted (`retain`/`release`): the registry while it is listed, its
 * transfer while it keeps the block for its reader, the store while it writes it. The pooled
 * buffer goes back when the count falls to zero; a fill let go reads nothing more.
 */
import type { AlignedSlots } from './block-memory.js';

export type FillState = 'filling' | 'done' | 'failed';

/** What a fill needs from the transfer that feeds it (to ask it to go further, for pacing). */
export interface FillSource {
  want(position: number, byOther?: boolean): void;
  /** Paused until the disk catches up (the link is not what keeps its readers waiting). */
  readonly waitingForDisk?: boolean;
}

/**
 * A block's bytes may arrive in two segments: a cold seek into the middle of a block starts its
 * upstream GET at the requested byte (the client's first byte does not wait for the block's head)
 * and a second, background GET fetches the head [0, headBytes) of the block. The block is whole
 * (and stored) when both are.
 */
export class BlockFill {
  private readonly main = new Segment();
  private readonly head = new Segment();
  /** The pooled buffer holding the block (offset 0 = the block's first byte), when one was free. */
  private slot: Buffer | undefined;
  /** Whether the pool was asked (at the first byte): the fill keeps to one mode for its life. */
  private placed = false;
  private holds = 0;
  /** Listed in the registry (it holds the fill once). */
  registered = false;
  private waiters: Array<() => void> = [];
  state: FillState = 'filling';
  error: Error | undefined;
  /** Whole, but not stored (full disk): dropped from the registry once its reader passed it. */
  unstored = false;

  constructor(
    readonly key: string,
    readonly index: number,
    /** Bytes of the complete block. */
    readonly expected: number,
    readonly source: FillSource,
    /** Bytes at the start of the block that come from a separate head transfer (0: one transfer). */
    readonly headBytes = 0,
    /** Where pooled buffers come from (none: chunks are kept). */
    private readonly memory?: AlignedSlots,
  ) {}

  /** One more holder (registry, keeping transfer, store write in progress). */
  retain(): void {
    this.holds += 1;
  }

  /** A holder let go: with none left, the pooled buffer goes back to the pool. */
  release(): void {
    this.holds -= 1;
    if (this.holds > 0) return;
    this.holds = 0;
    const slot = this.slot;
    if (!slot) return;
    this.slot = undefined;
    this.released = true;
    this.memory!.release(slot);
  }

  /** Holders now (registry, transfer, kept map, write in progress). */
  get holders(): number {
    return this.holds;
  }

  /** On disk (stored by its transfer): a reader can read it from there once memory lets it go. */
  stored = false;

  /** Let go after its last holder: its bytes are gone (a late reader reads from disk or upstream). */
  released = false;

  /** The pooled buffer the block's bytes are in (for a write without a copy), if any. */
  get pooled(): Buffer | undefined {
    return this.slot;
  }

  /**
   * A whole block kept in memory long after its transfer (not stored: SpanFetch.keepUnstored, up to
   * UNSTORED_KEEP_MS): its bytes move to memory of its own and the pooled buffer goes back now.
   * Kept in the slot, every unstored block (a failing or full disk makes every block one) pinned a
   * pooled buffer until its timer, long after any reader or transfer was gone: a small pool stayed
   * exhausted, and `memoryInUse` stayed above zero once the cache had settled.
   */
  unpool(): void {
    const slot = this.slot;
    if (!slot || this.state !== 'done') return;
    const copy = Buffer.from(slot.subarray(0, this.expected));
    this.head.replace(copy.subarray(0, this.headBytes));
    this.main.replace(copy.subarray(this.headBytes));
    this.slot = undefined;
    this.memory!.release(slot);
  }

  /** At the first byte: a pooled buffer if one is free. */
  private place(): void {
    if (this.placed) return;
    this.placed = true;
    if (this.memory && this.expected <= this.memory.slotBytes) this.slot = this.memory.tryAcquire();
  }

  /** Bytes of the main segment so far (from `headBytes` on). */
  get length(): number {
    return this.main.length;
  }

  /** The next bytes of the main segment (in order, from `headBytes`). */
  append(chunk: Buffer): void {
    if (this.state !== 'filling') return;
    this.place();
    if (this.slot) this.main.copyInto(this.slot, this.headBytes, chunk);
    else this.main.add(chunk);
    this.settleIfWhole();
    this.wake();
  }

  /** The next bytes of the head segment (in order, from 0). */
  appendHead(chunk: Buffer): void {
    if (this.state !== 'filling') return;
    this.place();
    const piece = chunk.length > this.headBytes - this.head.length ? chunk.subarray(0, this.headBytes - this.head.length) : chunk;
    if (this.slot) this.head.copyInto(this.slot, 0, piece);
    else this.head.add(piece);
    this.settleIfWhole();
    this.wake();
  }

  /** Whether the main segment has every byte (the head may still be on its way). */
  get mainComplete(): boolean {
    return this.main.length >= this.expected - this.headBytes;
  }

  /** The block's bytes in order (whole blocks only; views of the pooled buffer, valid while held). */
  chunks(): Buffer[] {
    if (this.slot) return [this.slot.subarray(0, this.expected)];
    return [...this.head.chunks, ...this.main.chunks];
  }

  fail(error: Error): void {
    if (this.state !== 'filling') return;
    this.state = 'failed';
    this.error = error;
    this.wake();
  }

  /** Up to `max` bytes from `offset` (within the block), or undefined when they are not here yet. */
  read(offset: number, max: number): Buffer | undefined {
    if (this.released) return undefined;
    if (this.slot) {
      // A copy: the pooled buffer is reused once the fill is let go, while the piece may still sit
      // in a socket's queue.
      const have = offset < this.headBytes ? this.head.length : this.headBytes + this.main.length;
      const limit = offset < this.headBytes ? Math.min(have, this.headBytes) : have;
      if (offset >= limit) return undefined;
      return Buffer.from(this.slot.subarray(offset, Math.min(limit, offset + max)));
    }
    if (offset < this.headBytes) return this.head.read(offset, Math.min(max, this.headBytes - offset));
    return this.main.read(offset - this.headBytes, max);
  }

  /** Resolves at the next change (new bytes, completion, failure) or when `signal` aborts. */
  changed(signal: AbortSignal): Promise<void> {
    if (this.state !== 'filling' || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }

  private settleIfWhole(): void {
    if (this.head.length >= this.headBytes && this.mainComplete) this.state = 'done';
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** Contiguous bytes from offset 0, as the chunks that arrived (never copied). */
class Segment {
  readonly chunks: Buffer[] = [];
  private readonly starts: number[] = [];
  length = 0;

  /** Pooled mode: copies the chunk into `slot` at `base` + the bytes so far. */
  copyInto(slot: Buffer, base: number, chunk: Buffer): void {
    this.length += chunk.copy(slot, base + this.length);
  }

  /** Holds `bytes` alone from now on (see BlockFill.unpool). */
  replace(bytes: Buffer): void {
    this.chunks.length = 0;
    this.starts.length = 0;
    this.length = 0;
    if (bytes.length > 0) this.add(bytes);
  }

  add(chunk: Buffer): void {
    this.starts.push(this.length);
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  read(offset: number, max: number): Buffer | undefined {
    if (offset >= this.length) return undefined;
    let low = 0;
    let high = this.starts.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if (this.starts[middle] <= offset) low = middle;
      else high = middle - 1;
    }
    const chunk = this.chunks[low];
    const from = offset - this.starts[low];
    return chunk.subarray(from, Math.min(chunk.length, from + max));
  }
}
