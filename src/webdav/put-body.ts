/**
 * A PUT body checked against every length the client announced: `Content-Length` (RFC 9110
 * §8.6), `X-Expected-Entity-Length` (macOS Finder's chunked uploads) and `OC-Total-Length`
 * (ownCloud/Nextcloud clients). Announced lengths that disagree are refused before any byte is
 * read; a body that turns out longer or shorter than announced makes the stream fail, so the drive
 * never stores (or empties a file with) a body the client did not mean. The PUT then answers 400
 * with the reason, and the old file stays as it was.
 */
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { declaredLength } from './body.js';
import { HttpError } from './errors.js';

/** Headers that announce a PUT body's length, besides Content-Length. */
const LENGTH_HEADERS = ['x-expected-entity-length', 'oc-total-length'] as const;

export interface CheckedBody {
  /** The body to hand to the drive: exactly the announced bytes, or it errors. */
  stream: Transform;
  /** The length the client announced (undefined: unknown, the drive spools). */
  size: number | undefined;
  /** Why the body did not match its announced length; undefined while it does. */
  problem(): string | undefined;
}

/**
 * The announced length of a PUT body, and the body wrapped in a check of it.
 * Throws HttpError 400 when a length header is malformed or two of them disagree.
 */
export function checkedPutBody(req: IncomingMessage): CheckedBody {
  const chunked = /\bchunked\b/i.test(String(req.headers['transfer-encoding'] ?? ''));
  const announced: Array<[string, number]> = [];
  if (!chunked) announced.push(['Content-Length', declaredLength(req) ?? 0]);
  for (const name of LENGTH_HEADERS) {
    const raw = req.headers[name];
    if (raw === undefined) continue;
    const value = String(raw).trim();
    if (!/^\d+$/.test(value)) throw new HttpError(400, `Invalid ${name}: ${JSON.stringify(value.slice(0, 40))} is not a byte count`);
    announced.push([name, Number(value)]);
  }
  const size = announced[0]?.[1];
  const disagreeing = announced.find(([, value]) => value !== size);
  if (disagreeing) {
    throw new HttpError(400, `The announced body lengths disagree: ${announced.map(([name, value]) => `${name} ${value}`).join(', ')}`, {
      headers: { Connection: 'close' },
    });
  }
  let received = 0;
  let problem: string | undefined;
  // The latest piece is held back until the next one (or the end) arrives: the drive must not get
  // the last announced byte, and so complete an upload, before the body is known to end there.
  let held: Buffer | undefined;
  const fail = (callback: TransformCallback, message: string) => {
    problem = message;
    callback(new Error(message));
  };
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (size !== undefined && received > size) return fail(callback, `The body is longer than the announced ${size} bytes; nothing was stored`);
      const previous = held;
      held = chunk;
      callback(null, previous);
    },
    flush(callback) {
      if (size !== undefined && received !== size) {
        return fail(callback, `The body has ${received} bytes but ${size} were announced; nothing was stored`);
      }
      callback(null, held);
    },
  });
  // The reader (the drive) sees the failure through its own read; this keeps it from being uncaught
  // when the drive stopped reading first.
  stream.on('error', () => {});
  // Not pipeline(): on a mismatch the request must stay open so the client gets its 400.
  req.pipe(stream);
  req.once('error', (error) => stream.destroy(error));
  req.once('aborted', () => stream.destroy(new Error('the client closed the connection before the end of the body')));
  return { stream, size, problem: () => problem };
}
