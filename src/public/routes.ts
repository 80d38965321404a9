/**
 * Public routes on the WebDAV port: URLs that work WITHOUT WebDAV credentials because the URL
 * itself carries the grant (a signed link). They are answered before authentication, like the
 * health endpoints (src/cli/health.ts). `/stream/` serves `.strm` links, `/s/` share links and
 * `/.share` the WebDAV-side share endpoint.
 *
 * A real file or folder of the drive whose path starts with one of these prefixes is shadowed for
 * every method; the prefixes are chosen so that real names rarely collide.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../webdav/handler.js';

export interface PublicRoute {
  /** '/stream/' (every path under it) or '/.share' (that path, and paths under it). */
  prefix: string;
  /** Answers the request; `rest` is the path after the prefix, still percent-encoded, without the query. */
  handle(req: IncomingMessage, res: ServerResponse, rest: string): Promise<void>;
}

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** The route a raw request path belongs to, with the rest of its path; undefined when none. */
export function matchPublicRoute(routes: readonly PublicRoute[], rawPath: string): { route: PublicRoute; rest: string } | undefined {
  for (const route of routes) {
    const prefix = route.prefix;
    if (prefix.endsWith('/')) {
      if (rawPath.startsWith(prefix)) return { route, rest: rawPath.slice(prefix.length) };
    } else if (rawPath === prefix) {
      return { route, rest: '' };
    } else if (rawPath.startsWith(`${prefix}/`)) {
      return { route, rest: rawPath.slice(prefix.length + 1) };
    }
  }
  return undefined;
}

/**
 * Wraps a request listener so the public routes are answered before it (and before its
 * authentication). A route that throws gets a 500 (or a cut connection once the answer started),
 * never a crash, and a line in `logger`.
 */
export function withPublicRoutes(handler: Listener, routes: readonly PublicRoute[], logger?: Logger): Listener {
  if (routes.length === 0) return handler;
  return (req, res) => {
    const rawPath = (req.url ?? '/').split('?')[0] ?? '/';
    const match = matchPublicRoute(routes, rawPath);
    if (!match) return handler(req, res);
    match.route.handle(req, res, match.rest).catch((error: unknown) => {
      // The visitor gets no reason (it may name account paths); the operator does.
      logger?.error('public link: unexpected failure', { route: match.route.prefix, error: String(error) });
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' }).end('internal error\n');
      else res.destroy();
    });
  };
}
