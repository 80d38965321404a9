/**
 * The head of an HTTP/1.x response (RFC 9112 section 4 status line, section 5 fields), as the
 * download socket (download-socket.ts) reads it off the wire: strict, bounded, and only what a
 * download needs to know to frame the body (RFC 9112 section 6.3).
 */

/** A head longer than this is refused (1fichier's download hosts send well under 1 KiB). */
export const MAX_HEAD_BYTES = 64 * 1024;

export interface ResponseHead {
  /** `1.1` or `1.0`. */
  version: '1.0' | '1.1';
  status: number;
  /** Field names in lower case; a field sent more than once is an array in arrival order. */
  headers: Record<string, string | string[]>;
  /** Bytes of the head, the blank line included: the body starts there. */
  length: number;
}

/** How the body of an answer to a GET is delimited (RFC 9112 section 6.3). */
export type BodyFraming = { kind: 'none' } | { kind: 'length'; bytes: number } | { kind: 'chunked' } | { kind: 'close' };

export class ResponseHeadError extends Error {
  override name = 'ResponseHeadError';
}

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/;
// A field value holds visible characters, spaces, tabs and obs-text; NUL and other controls are refused (RFC 9110 5.5).
const FIELD = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*?)[ \t]*$/;

/**
 * Parses a response head at the start of `data`. Returns undefined while the blank line that ends
 * it has not arrived. Throws ResponseHeadError for a malformed status line or field line, or for a
 * head over MAX_HEAD_BYTES.
 */
export function parseResponseHead(data: Buffer): ResponseHead | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) {
    if (data.length > MAX_HEAD_BYTES) throw new ResponseHeadError(`response head longer than ${MAX_HEAD_BYTES} bytes`);
    return undefined;
  }
  if (end + 4 > MAX_HEAD_BYTES) throw new ResponseHeadError(`response head longer than ${MAX_HEAD_BYTES} bytes`);
  const lines = data.toString('latin1', 0, end).split('\r\n');
  const status = STATUS_LINE.exec(lines[0] ?? '');
  // The messages never quote what the host sent: a host or proxy that echoes the request would put
  // the download URL's path, which carries its token, into an error message and the logs.
  if (!status) throw new ResponseHeadError(`not an HTTP/1.x status line (${(lines[0] ?? '').length} bytes)`);
  const headers: Record<string, string | string[]> = {};
  for (const [at, line] of lines.slice(1).entries()) {
    const field = FIELD.exec(line);
    // Obsolete line folding (a line starting with white space) is refused, as RFC 9112 5.2 allows.
    if (!field) throw new ResponseHeadError(`malformed header line ${at + 1} (${line.length} bytes)`);
    const name = field[1]!.toLowerCase();
    const value = field[2]!;
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else headers[name] = [previous, value];
  }
  return { version: status[1] === '1' ? '1.1' : '1.0', status: Number(status[2]), headers, length: end + 4 };
}

/**
 * The framing of the body of an answer to a GET (RFC 9112 section 6.3): no body for 1xx, 204
 * and 304; chunked when Transfer-Encoding ends in `chunked`; else Content-Length; else until the
 * connection closes. Throws ResponseHeadError for a Transfer-Encoding other than chunked (nothing
 * else can be framed) or for Content-Length values that disagree or are not a number.
 */
export function bodyFraming(head: ResponseHead): BodyFraming {
  if ((head.status >= 100 && head.status < 200) || head.status === 204 || head.status === 304) return { kind: 'none' };
  const coding = head.headers['transfer-encoding'];
  if (coding !== undefined) {
    const codings = (Array.isArray(coding) ? coding.join(',') : coding)
      .split(',')
      .map((c) => c.trim().toLowerCase())
      .filter(Boolean);
    if (codings[codings.length - 1] !== 'chunked' || codings.length > 1) {
      throw new ResponseHeadError(`unsupported Transfer-Encoding: ${JSON.stringify(codings.join(', '))}`);
    }
    return { kind: 'chunked' };
  }
  const length = head.headers['content-length'];
  if (length !== undefined) {
    const values = new Set((Array.isArray(length) ? length.join(',') : length).split(',').map((v) => v.trim()));
    const [value] = [...values];
    // Past 2^53 a count of bytes is no longer exact: the body could never be counted down to its end.
    if (values.size !== 1 || !/^\d{1,16}$/.test(value!) || !Number.isSafeInteger(Number(value))) throw new ResponseHeadError(`invalid Content-Length: ${JSON.stringify(length)}`);
    return { kind: 'length', bytes: Number(value) };
  }
  return { kind: 'close' };
}

/** Whether the connection may carry another request after this answer (RFC 9112 section 9.3). */
export function keepsAlive(head: ResponseHead): boolean {
  // Transfer-Encoding beside Content-Length is how responses are split or smuggled (RFC 9112
  // 6.3): the body is read by its chunks, but what follows it on the wire is not trusted.
  // An HTTP/1.0 answer with Transfer-Encoding has faulty framing, and its connection must be
  // closed after it (RFC 9112 6.1).
  if (head.headers['transfer-encoding'] !== undefined && (head.headers['content-length'] !== undefined || head.version === '1.0')) return false;
  const connection = head.headers.connection;
  const tokens = (Array.isArray(connection) ? connection.join(',') : (connection ?? '')).toLowerCase();
  if (/(^|,)\s*close\s*(,|$)/.test(tokens)) return false;
  return head.version === '1.1' || /(^|,)\s*keep-alive\s*(,|$)/.test(tokens);
}
