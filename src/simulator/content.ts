/**
 * Where a stored file's bytes live. Three kinds keep memory flat whatever the size:
 * - memory: small fixture/test buffers;
 * - disk: uploads, spooled to a temp file while they stream in;
 * - synthetic: huge fixture files whose bytes are a pure function of (seed, offset), never stored.
 * Copies share one source (a server-side copy does not duplicate bytes), so disk files are
 * reference counted and unlinked when the last file using them is gone.
 */
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createWhirlpool, whirlpool } from 'hash-wasm';

export interface ContentSource {
  readonly kind: 'memory' | 'disk' | 'synthetic';
  readonly size: number;
  /** 128 lowercase hex characters. */
  readonly whirlpool: string;
  /** Bytes [start, end] inclusive. */
  read(start?: number, end?: number): Readable;
  retain(): void;
  release(): void;
}

function bounds(size: number, start = 0, end = size - 1): [number, number] {
  const s = Math.max(0, start);
  const e = Math.min(size - 1, end);
  return [s, e];
}

const MEMORY_SLICE = 64 * 1024;

export class MemoryContent implements ContentSource {
  readonly kind = 'memory';
  private constructor(private readonly buf: Buffer, readonly whirlpool: string) {}

  static async of(buf: Buffer): Promise<MemoryContent> {
    return new MemoryContent(buf, await whirlpool(buf));
  }

  get size(): number {
    return this.buf.length;
  }

  read(start?: number, end?: number): Readable {
    const [s, e] = bounds(this.size, start, end);
    // In slices, as a socket sends them: one giant chunk would count as served before the client
    // took a byte of it, and back-pressure (a reader that stops) could never show in the stats.
    const buf = this.buf;
    function* slices(): Generator<Buffer> {
      for (let at = s; at <= e; at += MEMORY_SLICE) yield buf.subarray(at, Math.min(e + 1, at + MEMORY_SLICE));
    }
    return Readable.from(slices(), { objectMode: false });
  }

  retain(): void {}
  release(): void {}
}

export class DiskContent implements ContentSource {
  readonly kind = 'disk';
  private refs = 0;

  constructor(readonly path: string, readonly size: number, readonly whirlpool: string) {}

  read(start?: number, end?: number): Readable {
    const [s, e] = bounds(this.size, start, end);
    if (e < s) return Readable.from([]);
    return createReadStream(this.path, { start: s, end: e });
  }

  retain(): void {
    this.refs++;
  }

  release(): void {
    this.refs--;
    if (this.refs <= 0) void rm(this.path, { force: true }).catch(() => undefined);
  }
}

const BLOCK = 1 << 20;
const patterns = new Map<number, Buffer>();

/** A 1 MiB pseudo-random pattern (xorshift32 from the seed), stored twice back to back so any
 * rotation of it is one contiguous subarray: generating bytes is then zero-copy. */
function patternFor(seed: number): Buffer {
  let p = patterns.get(seed);
  if (p) return p;
  p = Buffer.allocUnsafe(BLOCK * 2);
  let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
  for (let i = 0; i < BLOCK; i += 4) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    p.writeUInt32LE(x, i);
  }
  p.copy(p, BLOCK, 0, BLOCK);
  patterns.set(seed, p);
  return p;
}

/** Rotation of block n: differs per block so equal-offset bytes of different blocks differ. */
function rotation(seed: number, block: number): number {
  return (Math.imul(block + 1, 2654435761) ^ seed) >>> 0 & (BLOCK - 1);
}

/** Checksum standing in for the Whirlpool of a synthetic file: hashing gigabytes at start-up
 * would be too slow, so huge synthetic files carry a digest of (seed, size) instead. */
export const SYNTHETIC_REAL_HASH_LIMIT = 16 * BLOCK;

export class SyntheticContent implements ContentSource {
  readonly kind = 'synthetic';
  private constructor(readonly size: number, readonly seed: number, readonly whirlpool: string) {}

  /**
   * A synthetic file of `size` bytes from `seed`. Its checksum: `known` when given (the real
   * Whirlpool of these bytes, computed once with `realWhirlpool`, e.g. the demo's films), else the
   * real one up to SYNTHETIC_REAL_HASH_LIMIT, else the stand-in digest of (seed, size).
   */
  static async of(size: number, seed: number, known?: string): Promise<SyntheticContent> {
    if (known !== undefined) {
      if (!/^[0-9a-f]{128}$/.test(known)) throw new Error('a known Whirlpool is 128 lowercase hex characters');
      return new SyntheticContent(size, seed, known);
    }
    const digest =
      size <= SYNTHETIC_REAL_HASH_LIMIT
        ? await SyntheticContent.realWhirlpool(size, seed)
        : await whirlpool(`fichier-dav synthetic seed=${seed} size=${size}`);
    return new SyntheticContent(size, seed, digest);
  }

  /** The Whirlpool (128 hex) of the bytes `of(size, seed)` serves: reads them all (about 60 MB/s). */
  static async realWhirlpool(size: number, seed: number): Promise<string> {
    const h = await createWhirlpool();
    h.init();
    for await (const chunk of new SyntheticContent(size, seed, '').read()) h.update(chunk as Buffer);
    return h.digest('hex');
  }

  read(start?: number, end?: number): Readable {
    const [s, e] = bounds(this.size, start, end);
    const pattern = patternFor(this.seed);
    let pos = s;
    const seed = this.seed;
    return new Readable({
      highWaterMark: BLOCK,
      read() {
        if (pos > e) {
          this.push(null);
          return;
        }
        const block = Math.floor(pos / BLOCK);
        const within = pos - block * BLOCK;
        const take = Math.min(BLOCK - within, e - pos + 1);
        const rot = rotation(seed, block);
        this.push(pattern.subarray(rot + within, rot + within + take));
        pos += take;
      },
    });
  }

  retain(): void {}
  release(): void {}
}

/** Concatenates a readable into one Buffer (tests and small remote fetches only). */
export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
