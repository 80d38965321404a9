/**
 * Limits against slow or greedy clients, for the http or https server in front of the handler:
 *
 * - `headersTimeoutMs`: a client must send its whole request head within this time (slowloris:
 *   a head trickled byte by byte is cut with 408). Node checks it every
 *   `connectionsCheckingInterval`, which is derived from it so short limits are honoured.
 * - `requestTimeout` stays 0: a multi-gigabyte PUT or a long stream must not be cut mid-way.
 * - `idleTimeoutMs`: a connection on which nothing moves for this long is closed when the wait is
 *   the client's fault (idle keep-alive, a body that stopped coming, a response it stopped
 *   reading), but not while the client waits for us (an upload being finalised by 1fichier).
 * - `maxConnections`: beyond it a new connection is refused at once with a plain 503 (HTTP), or
 *   closed (HTTPS, where nothing can be said before the handshake), and the refusal is logged.
 */
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from './handler.js';

export interface ServerLimits {
  /** Default 30 000 ms. */
  headersTimeoutMs?: number;
  /** Default 300 000 ms; 0 turns it off. */
  idleTimeoutMs?: number;
  /** Idle keep-alive connections are closed after this. Default 5 000 ms. */
  keepAliveTimeoutMs?: number;
  /** Connections open at once. Default 1 024. */
  maxConnections?: number;
}

export const DEFAULT_LIMITS = {
  headersTimeoutMs: 30_000,
  idleTimeoutMs: 300_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1024,
} as const;

/** Options for http.createServer / https.createServer. */
export function serverOptions(limits: ServerLimits = {}): http.ServerOptions {
  const headersTimeout = limits.headersTimeoutMs ?? DEFAULT_LIMITS.headersTimeoutMs;
  return {
    requestTimeout: 0,
    headersTimeout,
    keepAliveTimeout: limits.keepAliveTimeoutMs ?? DEFAULT_LIMITS.keepAliveTimeoutMs,
    connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(headersTimeout / 4))),
  };
}

/** Installs the idle timeout and the connection cap on a created (not yet listening) server. */
export function applyConnectionLimits(
  server: http.Server,
  limits: ServerLimits = {},
  options: { tls?: boolean; logger?: Logger } = {},
): { openConnections(): number } {
  const idle = limits.idleTimeoutMs ?? DEFAULT_LIMITS.idleTimeoutMs;
  if (idle > 0) {
    server.setTimeout(idle);
    const current = new WeakMap<Socket, { req: http.IncomingMessage; res: http.ServerResponse }>();
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const exchange = { req, res };
      current.set(req.socket, exchange);
      res.once('close', () => {
        if (current.get(req.socket) === exchange) current.delete(req.socket);
      });
    });
    // With a listener here Node leaves the decision to us instead of destroying every idle socket.
    server.on('timeout', (socket: Socket) => {
      const exchange = current.get(socket);
      const waitingForUs = exchange !== undefined && exchange.req.complete && !exchange.res.writableNeedDrain;
      if (!waitingForUs) socket.destroy();
    });
  }
  const max = limits.maxConnections ?? DEFAULT_LIMITS.maxConnections;
  const open = new Set<Socket>();
  let lastWarning = -Infinity;
  server.prependListener('connection', (socket: Socket) => {
    if (open.size >= max) {
      if (Date.now() - lastWarning > 10_000) {
        lastWarning = Date.now();
        options.logger?.warn('too many connections: refusing new ones', { max });
      }
      socket.on('error', () => {});
      if (options.tls) {
        socket.destroy();
      } else {
        const body = `Too many connections (at most ${max}); try again shortly\n`;
        socket.end(
          `HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        );
        // A client that never reads must not pin the socket.
        setTimeout(() => socket.destroy(), 5_000).unref();
      }
      return;
    }
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });
  return { openConnections: () => open.size };
}
