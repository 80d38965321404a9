/**
 * Errors a method handler throws to end a request with a given status. The dispatcher
 * (server.ts) turns them into responses, so handlers never write error bodies themselves.
 *
 * `condition` is an RFC 4918 §16 precondition/postcondition element name in the DAV: namespace
 * (e.g. 'propfind-finite-depth', 'lock-token-submitted'); when set the body is
 * `<D:error><D:{condition}>{conditionXml}</D:{condition}></D:error>`.
 */
import { DriveError, type DriveErrorCode } from '../drive/types.js';

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
