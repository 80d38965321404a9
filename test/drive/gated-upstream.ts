/**
 * A fake download host for BlockCache tests over in-memory contents (by URL) that counts every
 * ranged GET and can hold bytes back (a gate), slow them down, or fail at a byte, so coalescing,
 * cancellation, read-ahead and failures can be observed exactly.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { RangeOpener } from '../../src/drive/block-cache/block-cache.js';
import type { CachedFileRef } from '../../src/drive/block-cache/file-key.js';

/** Every byte of a read, joined. */
export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export interface Transfer {
  start: number;
  end: number;
  sent: number;
  aborted: boolean;
  priority: string;
}

/** A fake download host over in-memory contents (by URL): gated, slowed, or failing at a byte. */
export class GatedUpstream {
  readonly contents = new Map<string, Buffer>();
  readonly transfers: Transfer[] = [];
  /** URL -> first byte that never arrives: a GET reaching it errors there (and so do its resumes). */
  readonly failAt = new Map<string, number>();
  /** Bytes after which every background-priority GET breaks (a cold seek's head GET, for one). */
  failBackgroundAfter: number | undefined;
  gated = false;
  /** Milliseconds before each chunk (a link slower than the reader). */
  delayMs = 0;
  /**
   * @param chunkSize bytes per chunk pushed; not a divisor of the block size, so chunks straddle
   *   block boundaries.
   */
  private allowance = 0;
  private waiters: Array<() => void> = [];

  constructor(public chunkSize = 16 * 1024) {}

  allow(bytes: number): void {
    this.allowance += bytes;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** A new file of `size` random bytes. */
  addFile(name: string, size: number, checksum = `sum-${name}`): { file: CachedFileRef; content: Buffer } {
    const content = randomBytes(size);
    const file: CachedFileRef = { url: `https://1fichier.com/?${name}`, name, size, modified: new Date(0), checksum };
    this.contents.set(file.url, content);
    return { file, content };
  }

  get bytesSent(): number {
    return this.transfers.reduce((sum, t) => sum + t.sent, 0);
  }

  readonly open: RangeOpener = async (file, range, context) => {
    const content = this.contents.get(file.url);
    if (!content) throw new Error('no such file upstream');
    const failAt = this.failAt.get(file.url);
    if (failAt !== undefined && range.start >= failAt) throw new Error('upstream broke');
    const transfer: Transfer = { ...range, sent: 0, aborted: false, priority: context.priority };
    this.transfers.push(transfer);
    const self = this;
    let position = range.start;
    const stream = new Readable({
      highWaterMark: 16 * 1024,
      async read() {
        if (position > range.end) return void this.push(null);
        while (self.gated && self.allowance <= 0) {
          await new Promise<void>((resolve) => self.waiters.push(resolve));
          if (this.destroyed) return;
        }
        if (self.delayMs > 0) {
          await new Promise((resolve) => setTimeout(resolve, self.delayMs));
          if (this.destroyed) return;
        }
        let size = Math.min(self.chunkSize, range.end - position + 1);
        if (self.gated) {
          size = Math.min(size, self.allowance);
          self.allowance -= size;
        }
        if (self.failBackgroundAfter !== undefined && context.priority === 'background' && transfer.sent + size > self.failBackgroundAfter) {
          size = self.failBackgroundAfter - transfer.sent;
          if (size <= 0) return void this.destroy(new Error('upstream broke (background)'));
        }
        if (failAt !== undefined && position + size > failAt) {
          size = failAt - position;
          if (size <= 0) return void this.destroy(new Error('upstream broke'));
        }
        const chunk = content.subarray(position, position + size);
        position += size;
        transfer.sent += size;
        this.push(Buffer.from(chunk));
      },
    });
    context.signal.addEventListener('abort', () => {
      transfer.aborted = transfer.sent < range.end - range.start + 1;
      stream.destroy();
    });
    return stream;
  };
}

