/**
 * Request-URI ↔ Drive path. Drive paths are decoded, absolute, '/'-separated, no trailing slash
 * except the root (see src/drive/types.ts). Anything that cannot be a Drive path is a 400, never a
 * crash: bad percent-encoding (`/%NETHOOD%`, `/%E0%A4%A`), an encoded '/' or NUL inside a name,
 * or '..' climbing above the root.
 */
import { HttpError } from './errors.js';

export interface DecodedPath {
  path: string;
  /** The URL ended with '/' (a client naming a collection). */
  trailingSlash: boolean;
}

/** Longest decoded path accepted, in UTF-8 bytes (as PATH_MAX on Linux). */
export const MAX_PATH_BYTES = 4096;

/** Decodes the path part of a request target (origin-form or absolute-form). */
export function decodeRequestTarget(target: string | undefined): DecodedPath {
  if (!target) throw new HttpError(400, 'Missing request target');
  // Percent-encoding at most triples a path, so a longer target cannot decode to a valid one.
  if (target.length > MAX_PATH_BYTES * 3 + 1024) throw new HttpError(414, `Path longer than ${MAX_PATH_BYTES} bytes`);
  // A fragment never belongs in a request-target (RFC 9112 §3.2); acting on the URL without it
  // would e.g. DELETE `/dir/` for `DELETE /dir/#frag` (litmus flags that as unsafe).
  if (target.includes('#')) throw new HttpError(400, 'Request target must not contain a fragment');
  let pathPart = target;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) {
    // Absolute-form (proxies, some clients): keep only the raw path, undecoded.
    const afterScheme = target.indexOf('//') + 2;
    const slash = target.indexOf('/', afterScheme);
    pathPart = slash === -1 ? '/' : target.slice(slash);
  }
  const cut = pathPart.indexOf('?');
  if (cut !== -1) pathPart = pathPart.slice(0, cut);
  const decoded = decodePath(pathPart);
  if (Buffer.byteLength(decoded.path) > MAX_PATH_BYTES) throw new HttpError(414, `Path longer than ${MAX_PATH_BYTES} bytes`);
  return decoded;
}

/** Decodes a raw, percent-encoded absolute path. */
export function decodePath(raw: string): DecodedPath {
  if (!raw.startsWith('/')) throw new HttpError(400, 'Path must be absolute');
  const segments: string[] = [];
  const rawSegments = raw.split('/');
  for (const rawSegment of rawSegments) {
    if (rawSegment === '') continue;
    let segment: string;
    try {
      segment = decodeURIComponent(rawSegment);
    } catch {
      throw new HttpError(400, 'Bad percent-encoding in path');
    }
    if (segment.includes('/') || segment.includes('\0')) throw new HttpError(400, 'Invalid character in path');
    if (segment === '.') continue;
    if (segment === '..') {
      if (segments.length === 0) throw new HttpError(400, 'Path escapes the root');
      segments.pop();
      continue;
    }
    segments.push(segment);
  }
  return { path: '/' + segments.join('/'), trailingSlash: raw.length > 1 && raw.endsWith('/') };
}

/** Percent-encoded href for a Drive path; collections end with '/'. `prefix` has no trailing '/'. */
export function encodeHref(path: string, collection: boolean, prefix = ''): string {
  const encoded = path === '/' ? '/' : path.split('/').map(encodeSegment).join('/');
  if (collection && !encoded.endsWith('/')) return `${prefix}${encoded}/`;
  return `${prefix}${encoded}`;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * One path segment, percent-encoded so that nothing in a name is read as syntax: `/`, `%`, `#`,
 * `?`, `;`, `+`, spaces, and every non-ASCII character as its UTF-8 bytes (RFC 3986 §2.1, §3.3).
 * So `decodePath(encodeHref(p))` gives back `p` for every Drive path. A lone surrogate (which no
 * URL can carry) becomes U+FFFD instead of throwing.
 */
function encodeSegment(segment: string): string {
  // encodeURIComponent leaves !'()*~ alone; they are legal in paths, so that is fine.
  return encodeURIComponent(segment.replace(LONE_SURROGATE, '\uFFFD'));
}

export function parentPath(path: string): string {
  if (path === '/') return '/';
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function baseName(path: string): string {
  return path === '/' ? '' : path.slice(path.lastIndexOf('/') + 1);
}

export function joinPath(folder: string, name: string): string {
  return folder === '/' ? `/${name}` : `${folder}/${name}`;
}

/** true when `path` is `ancestor` itself or below it. */
export function isSameOrBelow(path: string, ancestor: string): boolean {
  if (ancestor === '/') return true;
  return path === ancestor || path.startsWith(ancestor + '/');
}
