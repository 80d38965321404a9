/**
 * The `authorize` hook of the WebDAV server (server.ts calls it for every method but OPTIONS):
 * HTTP Basic authentication with a login throttle (login-throttle.ts), then the read-only switch.
 *
 * - No or unusable credentials → 401 with `WWW-Authenticate: Basic realm="…", charset="UTF-8"`.
 * - Wrong credentials → 401 too, and they count against the throttle's budgets (per address and
 *   name, per name, per address, in total); an attempt the throttle does not admit gets 429 with
 *   Retry-After without its password even being checked.
 * - Right credentials → the request proceeds as that user (the principal locks are bound to).
 * - Read-only: every method that could change something (LOCK included: a lock is a promise to
 *   write) → 403 with a reason.
 * - Users of a `--users` file: a method their permissions do not cover → 403 naming the missing
 *   permission (permissions.ts); allowed requests carry the user's home, which the server maps
 *   every path under. All of this happens before any drive call.
 * Requests that carry a body we will not read are answered with `Connection: close`, so a refused
 * upload is not read to its end.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../handler.js';
import { parseBasicAuthorization } from './basic-credentials.js';
import { LoginThrottle, type LoginThrottleOptions } from './login-throttle.js';
import { missingPermissions, permissionRefusal } from './permissions.js';
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
  /**
   * Absent: no authentication (anonymous access). A function is asked on every request, so the
   * users can be replaced while serving (SIGHUP reloads the users file).
   */
  users?: UserStore | (() => UserStore);
  realm?: string;
  readOnly?: boolean;
  backoff?: LoginThrottleOptions | LoginThrottle;
  logger?: Logger;
}

/**
 * false: refused (already answered); true: anonymous access; `{ user, home }`: that authenticated
 * user, whose `/` is the drive folder `home`.
 */
export type Authorize = (req: IncomingMessage, res: ServerResponse) => Promise<boolean | { user: string; home: string; permissions: ReadonlySet<string> }>;

const SCOPE_TEXT = {
  pair: 'Too many failed logins for this user name from this address',
  name: 'Too many failed logins for this user name',
  address: 'Too many failed logins from this address',
  global: 'Too many failed logins on this server',
} as const;

export function createAccessGuard(options: AccessGuardOptions): Authorize {
  // Header-safe: printable ASCII without quotes or backslashes.
  const realm = (options.realm ?? 'fichier-dav').replace(/[^\x20-\x7e]|["\\]/g, '') || 'fichier-dav';
  const challenge = `Basic realm="${realm}", charset="UTF-8"`;
  const throttle = options.backoff instanceof LoginThrottle ? options.backoff : new LoginThrottle(options.backoff);
  const logger = options.logger;
  const given = options.users;
  const current = given === undefined ? undefined : typeof given === 'function' ? given : () => given;
  const label = current ? userLabel({ has: (name) => current().has(name) }) : undefined;
  let lastCeilingWarning = -Infinity;

  return async (req, res) => {
    const method = (req.method ?? '').toUpperCase();
    let principal: { user: string; home: string; permissions: ReadonlySet<string> } | true = true;
    if (current && label) {
      const users = current();
      const client = req.socket.remoteAddress ?? 'unknown';
      const credentials = parseBasicAuthorization(header(req, 'authorization'));
      if (!credentials) {
        refuse(req, res, 401, 'Authentication required\n', { 'WWW-Authenticate': challenge });
        return false;
      }
      const admission = throttle.admit(client, credentials.user, credentials.password);
      if (!admission.ok) {
        if (admission.scope !== 'pair' && Date.now() - lastCeilingWarning > 10_000) {
          lastCeilingWarning = Date.now();
          logger?.warn('auth: login attempts slowed down', { scope: admission.scope, client, user: label(credentials.user) });
        }
        refuse(req, res, 429, `${SCOPE_TEXT[admission.scope]}; try again later\n`, {
          'Retry-After': String(Math.max(1, Math.ceil(admission.retryAfterMs / 1000))),
        });
        return false;
      }
      if (!(await users.verify(credentials.user, credentials.password))) {
        const block = throttle.fail(admission.ticket);
        logger?.warn('auth: wrong credentials', { client, user: label(credentials.user), blockedSeconds: block ? block / 1000 : undefined });
        if (block > 0) {
          refuse(req, res, 429, `${SCOPE_TEXT.pair}; try again later\n`, { 'Retry-After': String(Math.ceil(block / 1000)) });
        } else {
          refuse(req, res, 401, 'Wrong user name or password\n', { 'WWW-Authenticate': challenge });
        }
        return false;
      }
      throttle.succeed(admission.ticket);
      const profile = users.profile(credentials.user);
      if (!(options.readOnly && WRITE_METHODS.has(method))) {
        const missing = missingPermissions(profile, method);
        if (missing.length > 0) {
          logger?.info('audit', { event: 'refused', user: credentials.user, method, url: req.url, client, missing });
          refuse(req, res, 403, permissionRefusal(credentials.user, method, missing), {});
          return false;
        }
      }
      principal = { user: credentials.user, home: profile.home, permissions: profile.permissions };
    }
    if (options.readOnly && WRITE_METHODS.has(method)) {
      refuse(req, res, 403, `This server is read-only (started with --read-only): ${method} is refused\n`, {});
      return false;
    }
    return principal;
  };
}

/**
 * How a typed user name appears in logs: a configured user's name as is; anything else (a typo, a
 * password typed into the name field, an attacker's list) only as `unknown:` and a short keyed
 * digest, so a secret typed in the wrong field never reaches a log while repeated attempts with
 * the same name can still be told apart. The digest key is random per process.
 */
export function userLabel(users: Pick<UserStore, 'has'>): (name: string) => string {
  const key = randomBytes(32);
  return (name) => (users.has(name) ? name : `unknown:${createHmac('sha256', key).update(name, 'utf8').digest('hex').slice(0, 12)}`);
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
