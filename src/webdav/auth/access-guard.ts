/**
 * The `authorize` hook of the WebDAV server (server.ts calls it for every method but OPTIONS):
 * HTTP Basic authentication with per-client back-off, then the read-only switch.
 *
 * - No or unusable credentials → 401 with `WWW-Authenticate: Basic realm="…", charset="UTF-8"`.
 * - Wrong credentials → 401 too, and they count towards the client's back-off; once blocked the
 *   client gets 429 with Retry-After without its credentials even being checked.
 * - Read-only: every method that could change something (LOCK included: a lock is a promise to
 *   write) → 403 with a reason.
 * Requests that carry a body we will not read are answered with `Connection: close`, so a refused
 * upload is not read to its end.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../handler.js';
import { parseBasicAuthorization } from './basic-credentials.js';
import { FailureBackoff, type BackoffOptions } from './failure-backoff.js';
import type { UserStore } from './user-store.js';

export const WRITE_METHODS: ReadonlySet<string> = new Set([
  'PUT',
  'DELETE',
  'MKCOL',
  'MOVE',
  'COPY',
  'PROPPATCH',
  'LOCK',
  'UNLOCK',
  'POST',
  'PATCH',
]);

export interface AccessGuardOptions {
  /** Absent: no authentication (anonymous access). */
  users?: UserStore;
  realm?: string;
  readOnly?: boolean;
  backoff?: BackoffOptions | FailureBackoff;
  logger?: Logger;
}

export type Authorize = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export function createAccessGuard(options: AccessGuardOptions): Authorize {
  // Header-safe: printable ASCII without quotes or backslashes.
  const realm = (options.realm ?? 'fichier-dav').replace(/[^\x20-\x7e]|["\\]/g, '') || 'fichier-dav';
  const challenge = `Basic realm="${realm}", charset="UTF-8"`;
  const backoff = options.backoff instanceof FailureBackoff ? options.backoff : new FailureBackoff(options.backoff);
  const logger = options.logger;

  return async (req, res) => {
    const method = (req.method ?? '').toUpperCase();
    if (options.users) {
      const client = req.socket.remoteAddress ?? 'unknown';
      const blocked = backoff.blockedFor(client);
      if (blocked > 0) {
        refuse(req, res, 429, 'Too many failed logins from this address; try again later\n', {
          'Retry-After': String(Math.ceil(blocked / 1000)),
        });
        return false;
      }
      const credentials = parseBasicAuthorization(header(req, 'authorization'));
      if (!credentials) {
        refuse(req, res, 401, 'Authentication required\n', { 'WWW-Authenticate': challenge });
        return false;
      }
      if (!(await options.users.verify(credentials.user, credentials.password))) {
        const block = backoff.fail(client);
        logger?.warn('auth: wrong credentials', { client, user: credentials.user, blockedSeconds: block ? block / 1000 : undefined });
        if (block > 0) {
          refuse(req, res, 429, 'Too many failed logins from this address; try again later\n', {
            'Retry-After': String(Math.ceil(block / 1000)),
          });
        } else {
          refuse(req, res, 401, 'Wrong user name or password\n', { 'WWW-Authenticate': challenge });
        }
        return false;
      }
      backoff.succeed(client);
    }
    if (options.readOnly && WRITE_METHODS.has(method)) {
      refuse(req, res, 403, `This server is read-only (started with --read-only): ${method} is refused\n`, {});
      return false;
    }
    return true;
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function refuse(req: IncomingMessage, res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
  const all: Record<string, string | number> = {
    ...headers,
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
  };
  if (hasBody) all.Connection = 'close';
  res.writeHead(status, all);
  if ((req.method ?? '').toUpperCase() === 'HEAD') res.end();
  else res.end(body);
}
