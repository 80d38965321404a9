/**
 * Streams incoming bytes to a temp file while hashing them, so an upload of any size costs a
 * constant amount of memory and its Whirlpool is ready the moment the last byte lands.
 */
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { createWhirlpool } from 'hash-wasm';
import { DiskContent } from './content.js';

export interface SpoolResult {
  content: DiskContent;
}

export class SpoolLimitError extends Error {}

/** Writes `source` under `dir`; `onBytes` sees every chunk (for byte counters). Rejects and
 * removes the partial file on error or when `maxBytes` is exceeded. */
export async function spoolToDisk(
  source: Readable,
  dir: string,
  onBytes: (n: number) => void = () => undefined,
  maxBytes = Number.POSITIVE_INFINITY,
): Promise<DiskContent> {
  const path = join(dir, `up-${Date.now()}-${randomBytes(6).toString('hex')}`);
  const hasher = await createWhirlpool();
  hasher.init();
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > maxBytes) {
        done(new SpoolLimitError(`more than ${maxBytes} bytes`));
        return;
      }
      hasher.update(chunk);
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
  try {
    await pipeline(source, tap, createWriteStream(path));
  } catch (err) {
    await rm(path, { force: true }).catch(() => undefined);
    throw err;
  }
  return new DiskContent(path, size, hasher.digest('hex'));
}
