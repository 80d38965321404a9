/**
 * Errors a method handler throws to end a request with a given status. The dispatcher
 * (server.ts) turns them into responses, so handlers never write error bodies themselves.
 *
 * `condition` is an RFC 4918 §16 precondition/postcondition element name in the DAV: namespace
 * (e.g. 'propfind-finite-depth', 'lock-token-submitted'); when set the body is
 * `<D:error><D:{condition}>{conditionXml}</D:{condition}></D:error>`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isDiskFull } from '../drive/disk-full.js';
import { DriveError, type DriveErrorCode } from '../drive/types.js';
import type { Logger } from './handler.js';
import { errorDocument } from './xml/write.js';

export interface HttpErrorOptions {
  condition?: string;
  /** Inner XML of the condition element (e.g. `<D:href>/locked/</D:href>` for lock-token-submitted). */
  conditionXml?: string;
  headers?: Record<string, string>;
}

export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    /** Short reason, sent as text/plain when there is no condition. Never contains secrets. */
    message: string,
    readonly options: HttpErrorOptions = {},
  ) {
    super(message);
  }
}

/** Status for a DriveError code, per the comments in src/drive/types.ts. `method` refines 'exists'. */
export function statusForDriveError(code: DriveErrorCode, method: string): number {
  switch (code) {
    case 'not-found':
      return 404;
    case 'exists':
      return method === 'MKCOL' ? 405 : 412;
    case 'conflict':
    case 'not-a-folder':
    case 'not-empty':
      return 409;
    case 'is-a-folder':
      return 405;
    case 'forbidden':
      return 403;
    case 'bad-request':
      return 400;
    case 'too-large':
      return 413;
    case 'insufficient-storage':
      return 507;
    case 'unavailable':
      return 503;
    case 'upstream':
      return 502;
  }
}

/** Converts anything thrown by a Drive call into an HttpError, leaving HttpErrors untouched. */
export function toHttpError(error: unknown, method: string): HttpError | undefined {
  if (error instanceof HttpError) return error;
  // A full disk that reached us without the drive's mapping (drive/disk-full.ts) is still a 507.
  if (isDiskFull(error)) return new HttpError(507, 'The disk of the server is full; nothing was stored');
  if (error instanceof DriveError) {
    const status = statusForDriveError(error.code, method);
    const headers: Record<string, string> = {};
    if (status === 503) headers['Retry-After'] = String(Math.max(1, Math.ceil(error.retryAfterSeconds ?? 30)));
    return new HttpError(status, error.message, { headers });
  }
  return undefined;
}

/**
 * A response body source (a Drive stream) failed after the status line was sent. The connection is
 * cut either way; this marks the failure as ours (logged as an error) rather than a client leaving.
 */
export class ResponseStreamError extends Error {
  override readonly name = 'ResponseStreamError';
  constructor(readonly source: unknown) {
    super(`response stream failed: ${source instanceof Error ? source.message : String(source)}`);
  }
}

/**
 * Turns whatever a handler threw into a response; it never throws itself.
 *
 * It never reads `req.socket`: Node sets it to null when a stream pipeline fails while reading the
 * request (a PUT body refused by a full spool or disk, a body over a cap), which is exactly when
 * an error must be answered; the response's socket is the one that matters. When the request body
 * was not read to its end the answer closes the connection, so the rest is never parsed as a
 * next request.
 */
export function answerError(
  req: IncomingMessage,
  res: ServerResponse,
  method: string,
  error: unknown,
  logger: Logger,
  /** Rewrites the reason sent to the client (drive paths shown as the user sees them). */
  shown: (message: string) => string = (message) => message,
): void {
  if (error instanceof ResponseStreamError) {
    // The drive broke mid-body: the status is gone, so cut the connection (a short body must never
    // pass for the whole file) and report it as the server-side failure it is.
    logger.error('webdav: response stream failed', { method, url: req.url, error: String(error.source) });
    res.destroy();
    return;
  }
  const socket = res.socket;
  if (res.destroyed || !socket || socket.destroyed) {
    // The client went away (e.g. a player seeking): nothing to answer, nothing wrong on our side.
    logger.info('webdav: client disconnected', { method, url: req.url });
    res.destroy();
    return;
  }
  const httpError = toHttpError(error, method);
  if (!httpError) {
    logger.error('webdav: unexpected error', {
      method,
      url: req.url,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  } else if (httpError.status === 507) {
    logger.error('webdav: insufficient storage', { method, url: req.url, reason: httpError.message });
  }
  if (res.headersSent) {
    // Mid-stream failure: the status is gone; cut the connection so the client sees it broke.
    res.destroy();
    return;
  }
  const status = httpError?.status ?? 500;
  const headers: Record<string, string | number> = { ...(httpError?.options.headers ?? {}) };
  let body: string;
  if (httpError?.options.condition) {
    headers['Content-Type'] = 'application/xml; charset=utf-8';
    body = errorDocument(httpError.options.condition, httpError.options.conditionXml);
  } else {
    headers['Content-Type'] = 'text/plain; charset=utf-8';
    body = `${httpError ? shown(httpError.message) : 'Internal server error'}\n`;
  }
  if (!req.complete) headers.Connection = 'close';
  headers['Content-Length'] = Buffer.byteLength(body);
  try {
    res.writeHead(status, headers);
  } catch (headerError) {
    // A header value we could not send (never expected): the status still reaches the client.
    logger.error('webdav: cannot send error headers', { method, url: req.url, error: String(headerError) });
    res.removeHeader('Content-Type');
    body = `${status}\n`;
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
  }
  if (method === 'HEAD') res.end();
  else res.end(body);
}
