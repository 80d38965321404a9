/**
 * The Destination header of MOVE and COPY (RFC 4918 §10.3): an absolute URI or an absolute path.
 * A URI naming another authority is a cross-server copy we cannot do: 502 (§9.8.5 / §9.9.4).
 */
import { HttpError } from './errors.js';
import { decodePath, MAX_PATH_BYTES, type DecodedPath } from './paths.js';

export function parseDestination(header: string | undefined, requestHost: string | undefined, mountPrefix = ''): DecodedPath {
  if (header === undefined || header.trim() === '') throw new HttpError(400, 'Missing Destination header');
  const value = reinterpretUtf8(header.trim());
  let rawPath: string;
  if (value.startsWith('/')) {
    rawPath = value;
  } else {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new HttpError(400, 'Destination is not a valid URI');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new HttpError(502, 'Destination is on another server');
    if (requestHost !== undefined && !sameAuthority(url, requestHost)) {
      throw new HttpError(502, 'Destination is on another server');
    }
    // url.pathname keeps percent-escapes as sent (only '..' / '.' segments are resolved).
    rawPath = url.pathname;
  }
  const q = rawPath.search(/[?#]/);
  if (q !== -1) rawPath = rawPath.slice(0, q);
  const inside = stripPrefix(decodePath(rawPath), mountPrefix);
  if (!inside) throw new HttpError(502, 'Destination is outside this server');
  if (Buffer.byteLength(inside.path) > MAX_PATH_BYTES) throw new HttpError(400, `Destination path longer than ${MAX_PATH_BYTES} bytes`);
  return inside;
}

/** Removes the mount prefix ('' or '/dav') from a decoded path; undefined when outside the mount. */
export function stripPrefix(decoded: DecodedPath, mountPrefix: string): DecodedPath | undefined {
  if (!mountPrefix) return decoded;
  if (decoded.path === mountPrefix) return { path: '/', trailingSlash: true };
  if (!decoded.path.startsWith(mountPrefix + '/')) return undefined;
  return { path: decoded.path.slice(mountPrefix.length), trailingSlash: decoded.trailingSlash };
}

function sameAuthority(url: URL, requestHost: string): boolean {
  let reqUrl: URL;
  try {
    reqUrl = new URL(`${url.protocol}//${requestHost}`);
  } catch {
    return false;
  }
  return reqUrl.host.toLowerCase() === url.host.toLowerCase();
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Node hands header values over as latin1; some clients put raw UTF-8 (not percent-encoded) in
 * Destination. Read such bytes back as UTF-8 so `é` does not become `Ã©`; invalid UTF-8 → 400.
 */
function reinterpretUtf8(value: string): string {
  if (!/[\u0080-\u00ff]/.test(value)) return value;
  if (/[^\u0000-\u00ff]/.test(value)) return value; // already real Unicode (not from the wire)
  try {
    return utf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    throw new HttpError(400, 'Destination is not valid UTF-8');
  }
}
