/**
 * Whirlpool (1fichier's only checksum, 128 lowercase hex) computed while bytes stream past, so an
 * upload can be verified against end.pl's `whirlpool` without reading the file twice.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { createWhirlpool } from 'hash-wasm';

type Hasher = Awaited<ReturnType<typeof createWhirlpool>>;

/** An incremental Whirlpool hasher. */
export async function createWhirlpoolHasher(): Promise<{ update(chunk: Uint8Array): void; digest(): string }> {
  const h: Hasher = await createWhirlpool();
  h.init();
  return {
    update: (chunk) => void h.update(chunk),
    digest: () => h.digest('hex'),
  };
}

/** Whirlpool of a whole buffer (tests, small payloads). */
export async function whirlpoolHex(data: Uint8Array | string): Promise<string> {
  const h = await createWhirlpoolHasher();
  h.update(typeof data === 'string' ? Buffer.from(data) : data);
  return h.digest();
}

/**
 * A pass-through stream that hashes what flows through it. `digest()` is available after 'end'
 * (or 'finish'); `bytes` counts what passed.
 */
export class WhirlpoolPassThrough extends Transform {
  bytes = 0;
  private hasher?: Hasher;
  private result?: string;

  static async create(): Promise<WhirlpoolPassThrough> {
    const t = new WhirlpoolPassThrough();
    t.hasher = await createWhirlpool();
    t.hasher.init();
    return t;
  }

  private constructor() {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hasher!.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.result = this.hasher!.digest('hex');
    cb();
  }

  digest(): string {
    if (this.result === undefined) throw new Error('whirlpool digest requested before the stream ended');
    return this.result;
  }
}
