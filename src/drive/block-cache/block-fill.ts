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

export class BlockFill {
  private readonly chunks: Buffer[] = [];
  private readonly starts: number[] = [];
  private waiters: Array<() => void> = [];
  length = 0;
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
  ) {}

  append(chunk: Buffer): void {
    if (this.state !== 'filling') return;
    this.starts.push(this.length);
    this.chunks.push(chunk);
    this.length += chunk.length;
    if (this.length >= this.expected) this.state = 'done';
    this.wake();
  }

  fail(error: Error): void {
    if (this.state !== 'filling') return;
    this.state = 'failed';
    this.error = error;
    this.wake();
  }

  /** Up to `max` bytes from `offset` (within the block), or undefined when they are not here yet. */
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

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}
