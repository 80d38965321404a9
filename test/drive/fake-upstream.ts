/**
 * An in-memory upstream for BlockCache unit tests: random file contents by URL, an opener that
 * serves exact ranges of them, and the list of ranges it was asked for.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { RangeOpener } from '../../src/drive/block-cache/block-cache.js';
import type { CachedFileRef } from '../../src/drive/block-cache/file-key.js';

export class FakeUpstream {
  readonly contents = new Map<string, Buffer>();
  /** Ranges asked for, in order (inclusive ends); tests may reset it. */
  requests: Array<{ start: number; end: number }> = [];

  readonly open: RangeOpener = async (file, range) => {
    this.requests.push(range);
    return Readable.from([this.contents.get(file.url)!.subarray(range.start, range.end + 1)]);
  };

  /** A new file of `size` random bytes. */
  addFile(name: string, size: number): { file: CachedFileRef; content: Buffer } {
    const content = randomBytes(size);
    const file: CachedFileRef = { url: `https://1fichier.com/?${name}`, name, size, modified: new Date(0), checksum: `sum-${name}` };
    this.contents.set(file.url, content);
    return { file, content };
  }
}
