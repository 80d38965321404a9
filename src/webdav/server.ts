/**
 * The WebDAV server entry points: `createWebDavHandler` builds a `(req, res)` listener for
 * node:http / node:https; `startWebDavServer` listens on 127.0.0.1 (port 0 by default) for tests.
 * Dispatch, path decoding, the non-PUT body cap, and turning thrown errors into responses live here;
 * each method lives in methods/<name>.ts (contract in handler.ts).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Drive } from '../drive/types.js';
import { declaredLength, readBody, readXmlBody } from './body.js';
import { createContext } from './context.js';
import { answerError, HttpError } from './errors.js';
import type { Logger, MethodHandler, RequestContext, WebDavSettings } from './handler.js';
import type { LockManagerPort } from './locking.js';
import { builtinMethods } from './methods/index.js';
import { decodeRequestTarget } from './paths.js';
import { stripPrefix } from './destination.js';

export interface WebDavOptions {
  drive: Drive;
  /** The lock store (class 2). Without it the server is class 1 and LOCK/UNLOCK are not offered. */
  locks?: LockManagerPort;
  /** Extra or replacement method handlers, e.g. { LOCK, UNLOCK } from the lock module. */
  methods?: Record<string, MethodHandler>;
  logger?: Logger;
  /** Cap for non-PUT request bodies (bytes); default 1 MiB. */
  maxXmlBodyBytes?: number;
  downloads?: 'stream' | 'redirect';
  /** Serve under a path prefix such as '/dav' (default: the root). */
  mountPrefix?: string;
  /**
   * Auth hook: called for every method except OPTIONS. Return false after having answered (e.g.
   * 401 with WWW-Authenticate); true to proceed anonymously; `{ user }` to proceed as that
   * authenticated principal (lock tokens are bound to it, RFC 4918 §6.4).
   */
  authorize?: (req: IncomingMessage, res: ServerResponse) => AuthorizeResult | Promise<AuthorizeResult>;
  /**
   * Called once each write request (any method but GET, HEAD, PROPFIND, OPTIONS) was answered, with
   * the account's drive paths (mount prefix and the user's home resolved), e.g. for change
   * notifications. Never delays the answer; a throw is logged and ignored.
   */
  onWrite?: (write: AnsweredWrite) => void;
}

/** A write request once answered, in the drive's terms (see `WebDavOptions.onWrite`). */
export interface AnsweredWrite {
  method: string;
  /** The account's drive path of the request target (a user's home included). */
  path: string;
  /** MOVE/COPY: the account's drive path of the Destination. */
  to?: string;
  /** The final status; 0 when the client went away before the answer was sent. */
  status: number;
  /** The request target ended with '/' (a folder, for DELETE/MOVE/COPY). */
  folder: boolean;
  /** PUT: the body's announced length, when given. */
  size?: number;
  user?: string;
}

/**
 * `home`: the drive folder that is this user's `/` (default '/'). `permissions`: what the user may
 * do (permissions.ts); absent = everything. The guard checks the method's needs before the
 * request is routed; handlers ask `RequestContext.allows` for what depends on the target.
 */
export type AuthorizeResult = boolean | { user: string; home?: string; permissions?: ReadonlySet<string> };

export const consoleLogger: Logger = {
  info: (m, f) => console.log(m, f ?? ''),
  warn: (m, f) => console.warn(m, f ?? ''),
  error: (m, f) => console.error(m, f ?? ''),
};

/** Methods whose request URI is only read; an If header on them is still evaluated (412). */
const READ_METHODS = new Set(['GET', 'HEAD', 'PROPFIND', 'OPTIONS']);

export function createWebDavHandler(options: WebDavOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const logger = options.logger ?? consoleLogger;
  const mountPrefix = (options.mountPrefix ?? '').replace(/\/+$/, '');
  const methods: Record<string, MethodHandler> = { ...builtinMethods, ...(options.methods ?? {}) };
  if (!options.locks) {
    delete methods.LOCK;
    delete methods.UNLOCK;
  }
  const allow = Object.keys(methods).sort().join(', ');
  const settings: WebDavSettings = {
    maxXmlBodyBytes: options.maxXmlBodyBytes ?? 1024 * 1024,
    downloads: options.downloads ?? 'stream',
    mountPrefix,
    allow,
    locking: options.locks !== undefined,
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? '').toUpperCase();
    let home = '/';
    try {
      // `OPTIONS *` asks about the server as a whole (RFC 9110 §9.3.7): answer as for the root.
      const target = method === 'OPTIONS' && req.url === '*' ? `${mountPrefix}/` : req.url;
      const decoded = stripPrefix(decodeRequestTarget(target), mountPrefix);
      if (!decoded) throw new HttpError(404, `Not under ${mountPrefix}/`);
      if (method !== 'PUT') {
        const declared = declaredLength(req);
        if (declared !== undefined && declared > settings.maxXmlBodyBytes) {
          throw new HttpError(413, 'Request body too large', { headers: { Connection: 'close' } });
        }
      }
      const handler = methods[method];
      if (!handler) throw new HttpError(501, `Method ${method || '(none)'} not supported`, { headers: { Allow: allow } });
      const verdict = method !== 'OPTIONS' && options.authorize ? await options.authorize(req, res) : true;
      if (verdict === false) return;
      if (typeof verdict === 'object' && verdict.home) home = verdict.home;
      const ctx = createContext({
        req,
        res,
        method,
        decoded,
        drive: options.drive,
        locks: options.locks,
        settings,
        logger,
        principal: typeof verdict === 'object' ? verdict.user : undefined,
        home: typeof verdict === 'object' ? verdict.home : undefined,
        permissions: typeof verdict === 'object' ? verdict.permissions : undefined,
        readBody: () => readBody(req, settings.maxXmlBodyBytes),
        readXml: () => readXmlBody(req, settings.maxXmlBodyBytes),
      });
      // An unauthenticated OPTIONS must not reach the drive, not even to evaluate an If header.
      const evaluateIf = READ_METHODS.has(method) && !(method === 'OPTIONS' && options.authorize);
      if (evaluateIf && ctx.header('if') !== undefined) await ctx.checkPreconditions([]);
      if (!READ_METHODS.has(method)) auditWrite(ctx, logger, options.onWrite);
      await handler(ctx);
    } catch (error) {
      answerError(req, res, method, error, logger, (message) => hideHome(home, message));
    }
  };

  return (req, res) => {
    handle(req, res).catch((error) => {
      // Only reachable if answering the error itself failed: never let it escape.
      logger.error('webdav: failure while answering an error', { error: String(error) });
      res.destroy();
    });
  };
}

/** A reason as the user sees paths: `/Alice/x` reads `/x` for a user whose home is /Alice. */
function hideHome(home: string, message: string): string {
  if (home === '/') return message;
  // Drive reasons name paths absolute (/Alice/x) or relative to the account's root ("Alice/x").
  return message.split(`${home}/`).join('/').split(home).join('/').split(`"${home.slice(1)}/`).join('"').split(`"${home.slice(1)}"`).join('"/"');
}

/**
 * One `audit` line per write request once answered: who (the authenticated user, or anonymous),
 * what (method, drive path, destination), from where (the peer address) and how it ended (status;
 * 0 when the client went away first). Drive paths are the account's, not the user's view.
 */
function auditWrite(ctx: RequestContext, logger: Logger, onWrite?: (write: AnsweredWrite) => void): void {
  let to: string | undefined;
  if (ctx.method === 'COPY' || ctx.method === 'MOVE') {
    try {
      to = ctx.destination();
    } catch {
      to = undefined; // the handler answers the bad Destination
    }
  }
  const client = ctx.req.socket.remoteAddress ?? 'unknown';
  const folder = (ctx.req.url ?? '').split('?')[0]!.endsWith('/');
  const length = Number(ctx.req.headers['content-length']);
  ctx.res.once('close', () => {
    const status = ctx.res.writableFinished ? ctx.res.statusCode : 0;
    logger.info('audit', {
      event: 'write',
      user: ctx.principal ?? 'anonymous',
      method: ctx.method,
      path: ctx.path,
      ...(to !== undefined ? { to } : {}),
      client,
      status,
    });
    try {
      onWrite?.({
        method: ctx.method,
        path: ctx.path,
        ...(to !== undefined ? { to } : {}),
        status,
        folder,
        ...(ctx.method === 'PUT' && Number.isSafeInteger(length) && length >= 0 ? { size: length } : {}),
        ...(ctx.principal ? { user: ctx.principal } : {}),
      });
    } catch (error) {
      logger.warn('webdav: a write observer failed', { error: String(error) });
    }
  });
}

export interface RunningWebDavServer {
  server: http.Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * An http.Server for the handler, with Node's whole-request timeout (300 s by default since
 * Node 18) turned off: a multi-gigabyte PUT or a slow client's GET must not be cut at 5 minutes.
 * Idle sockets are still reaped by the keep-alive and headers timeouts. Use the same settings
 * (`requestTimeout: 0`) when wrapping the handler in an https server.
 */
export function createWebDavServer(options: WebDavOptions): http.Server {
  return http.createServer({ requestTimeout: 0 }, createWebDavHandler(options));
}

/** Starts listening; resolves with the bound port, rejects with the listen error (e.g. EADDRINUSE). */
export function listenOn(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Listens on 127.0.0.1 (ephemeral port unless given); for tests and the demo. */
export async function startWebDavServer(options: WebDavOptions & { port?: number; host?: string }): Promise<RunningWebDavServer> {
  const server = createWebDavServer(options);
  const host = options.host ?? '127.0.0.1';
  const port = await listenOn(server, options.port ?? 0, host);
  return {
    server,
    port,
    url: `http://${host}:${port}${(options.mountPrefix ?? '').replace(/\/+$/, '')}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
