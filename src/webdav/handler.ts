/**
 * The method-handler contract of the WebDAV layer. Every method (OPTIONS, PROPFIND, GET, PUT, LOCK…)
 * is one `MethodHandler` in src/webdav/methods/<method>.ts, registered in server.ts.
 *
 * CONTRACT for handler authors (DAV and LOCKS):
 * - A handler receives a `RequestContext` whose `path` is already decoded and validated (a Drive
 *   path: absolute, no trailing slash except '/'). Bad paths never reach handlers (400 earlier).
 * - A handler either writes a complete response itself (via `ctx.send`, `ctx.sendXml`, or by
 *   streaming to `ctx.res`) or throws. Thrown `HttpError`s become their status (with the RFC 4918
 *   `<D:error>` condition body when given); thrown `DriveError`s are mapped by code (errors.ts);
 *   anything else is logged through the injected logger and answered 500 — the server keeps running.
 * - Bodies: `ctx.readBody()` / `ctx.readXml()` enforce the body cap by counting streamed bytes
 *   (never trusting Content-Length for allocation) → 413; `readXml()` returns undefined for an empty
 *   body and throws 400 for DTDs, entity declarations and malformed XML. PUT streams `ctx.req`
 *   directly instead.
 * - Locks: writes call `await ctx.checkPreconditions(targets)` BEFORE touching the Drive; it throws
 *   HttpError 412 / 423 (with lock-token-submitted) / 400 as `LockManagerPort.checkPreconditions`
 *   (locking.ts) decides, and is a no-op when no lock manager is configured and no If header sent.
 * - `ctx.href(path, isCollection)` gives the percent-encoded href to put in XML (collections end with
 *   '/', the mount prefix included); `ctx.resolveHref(uri)` is the inverse for If / Destination URIs.
 * - `ctx.signal` aborts when the client goes away; pass it to Drive calls that accept a signal.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Drive } from '../drive/types.js';
import type { LockManagerPort, WriteTarget } from './locking.js';
import type { XmlElement } from './xml/tree.js';

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface WebDavSettings {
  /** Body cap for every method except PUT (bytes). Default 1 MiB. */
  maxXmlBodyBytes: number;
  /** 'stream' (default): GET streams through us; 'redirect': 302 to Drive.directUrl when available. */
  downloads: 'stream' | 'redirect';
  /** URL path prefix the server is mounted under ('' for the root, else '/dav' style, no trailing '/'). */
  mountPrefix: string;
  /** Value of the Allow header: every method this server answers. */
  allow: string;
  /** true when a lock manager is configured (DAV class 2). */
  locking: boolean;
}

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Upper-case method name. */
  readonly method: string;
  /** Drive path of the Request-URI (decoded, under the user's home). */
  readonly path: string;
  /**
   * The drive folder that is the user's `/` ('/' without a users file): the root checks of DELETE,
   * MOVE, COPY, PUT and MKCOL compare with it, and `href` shows paths relative to it.
   */
  readonly home: string;
  /** The Request-URI ended with '/'. */
  readonly trailingSlash: boolean;
  readonly drive: Drive;
  /** The lock store; undefined when the server runs without locking (then DAV: 1 only). */
  readonly locks: LockManagerPort | undefined;
  readonly settings: WebDavSettings;
  readonly logger: Logger;
  /** Aborted when the client disconnects before the response is complete. */
  readonly signal: AbortSignal;
  /**
   * The authenticated user (from the `authorize` hook); undefined without authentication. Lock
   * tokens are bound to it (RFC 4918 §6.4).
   */
  readonly principal: string | undefined;
  /**
   * Whether the user holds `permission` (read, write, delete, move, lock, share: permissions.ts);
   * always true without a users file. The access guard already checked what the method needs;
   * this is for needs that depend on the target, such as a COPY that replaces a folder.
   */
  allows(permission: string): boolean;

  /** A request header as one string (arrays joined with ', '), undefined when absent. */
  header(name: string): string | undefined;
  href(path: string, collection: boolean): string;
  resolveHref(uri: string): string | undefined;
  /** Drive path named by the Destination header (under the user's home); HttpError 400/502. */
  destination(): string;
  readBody(): Promise<Buffer>;
  readXml(): Promise<XmlElement | undefined>;
  checkPreconditions(targets: WriteTarget[]): Promise<void>;

  /** Writes a complete response (no body when `body` is undefined; Content-Length set). */
  send(status: number, headers?: Record<string, string | number>, body?: string | Buffer): void;
  /** Writes a complete XML response (application/xml; charset=utf-8), prepending the XML declaration. */
  sendXml(status: number, xml: string, headers?: Record<string, string | number>): void;
}

export type MethodHandler = (ctx: RequestContext) => Promise<void>;
