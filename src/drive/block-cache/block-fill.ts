/**
 * A block on its way from upstream: its bytes so far stay in memory so every reader waiting for
 * this block (the one that asked for it and any that came meanwhile) is served as the bytes arrive,
 * without waiting for the whole block or for the disk. Memory is one block per transfer in flight;
 * once the block is on disk the fill is dropped from the registry and garbage-collected with its
 * last reader.
 */
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
  ) {}

  /** Bytes of the main segment so far (from `headBytes` on). */
  get length(): number {
    return this.main.length;
  }

  /** The next bytes of the main segment (in order, from `headBytes`). */
  append(chunk: Buffer): void {
    if (this.state !== 'filling') return;
    this.main.add(chunk);
    this.settleIfWhole();
    this.wake();
  }

  /** The next bytes of the head segment (in order, from 0). */
  appendHead(chunk: Buffer): void {
    if (this.state !== 'filling') return;
    this.head.add(chunk.length > this.headBytes - this.head.length ? chunk.subarray(0, this.headBytes - this.head.length) : chunk);
    this.settleIfWhole();
    this.wake();
  }

  /** Whether the main segment has every byte (the head may still be on its way). */
  get mainComplete(): boolean {
    return this.main.length >= this.expected - this.headBytes;
  }

  /** The block's bytes in order (whole blocks only). */
  chunks(): Buffer[] {
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
