/**
 * The identity of cached bytes. Blocks are keyed by the upstream URL AND the content's checksum
 * (Whirlpool, from the listing) so a file replaced under the same URL never serves stale bytes;
 * without a checksum, size and modification time stand in for it.
 */
import { createHash } from 'node:crypto';

export interface CachedFileRef {
  url: string;
  size: number;
  modified: Date;
  checksum?: string;
  name: string;
  contentType?: string;
}

export function fileKeyOf(file: CachedFileRef): string {
  const version = file.checksum ? `w:${file.checksum.toLowerCase()}` : `m:${file.modified.getTime()}`;
  return createHash('sha256').update(`${file.url}\n${file.size}\n${version}`).digest('hex').slice(0, 40);
}

/** Groups every version of one upstream URL, so a new version can drop the old one's blocks. */
export function urlHashOf(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 24);
}
