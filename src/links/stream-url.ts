/**
 * Stream links (`.strm` files): `<public-url>/stream/<file id>/<encoded name>?sig=<signature>`.
 * The signature covers the file id only (with a `stream:` prefix, so a signature made for another
 * kind of link never verifies here): the name is decoration for players and logs, so a rename or a
 * move upstream keeps the URL valid, and no signature can be stretched to another id.
 */
import { signLink, verifyLink } from './signature.js';

export const STREAM_PREFIX = '/stream/';

function payloadOf(id: string): string {
  return `stream:${id.toLowerCase()}`;
}

/**
 * The link to the file `id` under `publicUrl` (an http(s) origin with an optional path prefix,
 * with or without a trailing slash). `name` is the file's name (any Unicode; percent-encoded here).
 */
export function streamUrl(publicUrl: string, secret: Buffer, id: string, name: string): string {
  const base = publicUrl.replace(/\/+$/, '');
  const leaf = encodeURIComponent(name || 'file');
  return `${base}${STREAM_PREFIX}${id.toLowerCase()}/${leaf}?sig=${signLink(secret, payloadOf(id))}`;
}

/** What a `/stream/` request names: the id and the (decoded) name; undefined when malformed. */
export function parseStreamPath(rest: string): { id: string; name?: string } | undefined {
  const [id, ...others] = rest.split('/');
  if (!id || !/^[A-Za-z0-9]{5,40}$/.test(id)) return undefined;
  if (others.length > 1) return undefined;
  let name: string | undefined;
  if (others[0]) {
    try {
      name = decodeURIComponent(others[0]);
    } catch {
      return undefined;
    }
  }
  return { id: id.toLowerCase(), ...(name ? { name } : {}) };
}

/** Whether `signature` grants streaming the file `id`. */
export function verifyStream(secret: Buffer, id: string, signature: string | null | undefined): boolean {
  return typeof signature === 'string' && verifyLink(secret, payloadOf(id), signature);
}
