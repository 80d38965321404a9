/** Date formats WebDAV properties and HTTP headers use. */

/** RFC 1123 in GMT ("Sun, 06 Nov 1994 08:49:37 GMT"): getlastmodified, Last-Modified. */
export function httpDate(date: Date): string {
  return date.toUTCString();
}

/** ISO 8601 / RFC 3339 ("1997-12-01T17:42:21Z"): creationdate. */
export function isoDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The quoted ETag of a Drive entry, as sent in ETag headers and getetag. */
export function quotedEtag(etag: string): string {
  return `"${etag}"`;
}
