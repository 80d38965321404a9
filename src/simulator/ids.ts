/** Identifier formats of the real service (fichier-api.md §3). */
import { randomBytes, randomInt } from 'node:crypto';

const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const MIXED_ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function pick(alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[randomInt(alphabet.length)];
  return out;
}

/** Current file ids: 20 lowercase alphanumerics. */
export function newFileId(): string {
  return pick(LOWER_ALNUM, 20);
}

export function fileUrlOf(id: string): string {
  return `https://1fichier.com/?${id}`;
}

/** Upload session ids: 10 mixed-case alphanumerics, fresh per get_upload_server call. */
export function newUploadId(): string {
  return pick(MIXED_ALNUM, 10);
}

/** Opaque part of a direct download link. */
export function newDownloadToken(): string {
  return randomBytes(18).toString('base64url');
}

/** The id part of a file URL as clients may send it (tolerates the `&af=` suffixes seen in the wild). */
export function fileIdFromUrl(url: unknown): string | undefined {
  if (typeof url !== 'string') return undefined;
  const m = /^https?:\/\/(?:www\.)?[a-z0-9.-]+\/\?([a-z0-9]{5,20})(?:&.*)?$/i.exec(url.trim());
  return m ? m[1]!.toLowerCase() : undefined;
}
