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
 * - `maxConnectionsPerAddress`: one address cannot hold more than this many connections (refused
 *   the same way), so a single machine cannot starve every other client.
 * - Unproven connections: a connection is proven once a request on it was answered with anything
 *   but 401/403/407/429 (it got past authentication). At most `maxUnprovenConnections` unproven
 *   connections are kept: a new connection beyond that closes the longest-idle unproven one
 *   instead of being refused, and an unproven connection idle for `unprovenIdleMs` is closed.
 *   Many addresses opening connections and sending nothing (or only failing logins) therefore
 *   cannot keep the slots from clients that log in.
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
  /** Connections open at once from one address. Default 128. */
  maxConnectionsPerAddress?: number;
  /** Unproven connections kept at once. Default half of maxConnections. */
  maxUnprovenConnections?: number;
  /** An unproven connection with no request in progress is closed after this. Default 15 000 ms. */
  unprovenIdleMs?: number;
}

export const DEFAULT_LIMITS = {
  headersTimeoutMs: 30_000,
  idleTimeoutMs: 300_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 1024,
  maxConnectionsPerAddress: 128,
  unprovenIdleMs: 15_000,
} as const;

/** Statuses that say the client has not got past authentication. */
const UNPROVEN_STATUSES = new Set([401, 403, 407, 429]);

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

interface Connection {
  socket: Socket;
  address: string;
  proven: boolean;
  /** Requests in progress on it. */
  active: number;
  /** Epoch ms of the last request start or end (or the connection itself). */
  lastActivity: number;
}

/** Installs the idle timeouts and the connection caps on a created (not yet listening) server. */
export function applyConnectionLimits(
  server: http.Server,
  limits: ServerLimits = {},
  options: { tls?: boolean; logger?: Logger } = {},
): { openConnections(): number; unprovenConnections(): number } {
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
  const perAddress = limits.maxConnectionsPerAddress ?? DEFAULT_LIMITS.maxConnectionsPerAddress;
  const maxUnproven = limits.maxUnprovenConnections ?? Math.max(1, Math.floor(max / 2));
  const unprovenIdleMs = limits.unprovenIdleMs ?? DEFAULT_LIMITS.unprovenIdleMs;
  // Keyed by "address:port", the same for the TCP socket and the TLS socket above it.
  const open = new Map<string, Connection>();
  const byAddress = new Map<string, number>();
  // Insertion order = oldest first; re-inserted on activity, so the first idle one is the longest idle.
  const unproven = new Map<string, Connection>();
  const lastWarning = { total: -Infinity, address: -Infinity };

  const warn = (kind: 'total' | 'address', message: string, fields: Record<string, unknown>) => {
    if (Date.now() - lastWarning[kind] > 10_000) {
      lastWarning[kind] = Date.now();
      options.logger?.warn(message, fields);
    }
  };

  const refuse = (socket: Socket, reason: string) => {
    socket.on('error', () => {});
    if (options.tls) {
      socket.destroy();
      return;
    }
    const body = `${reason}; try again shortly\n`;
    socket.end(
      `HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    // A client that never reads must not pin the socket.
    setTimeout(() => socket.destroy(), 5_000).unref();
  };

  /** Closes the unproven connection idle the longest; false when every unproven one is busy. */
  const evictIdleUnproven = (): boolean => {
    for (const connection of unproven.values()) {
      if (connection.active === 0) {
        connection.socket.destroy();
        forget(keyOf(connection.socket));
        return true;
      }
    }
    return false;
  };

  const forget = (key: string) => {
    const connection = open.get(key);
    if (!connection) return;
    open.delete(key);
    unproven.delete(key);
    const left = (byAddress.get(connection.address) ?? 1) - 1;
    if (left > 0) byAddress.set(connection.address, left);
    else byAddress.delete(connection.address);
  };

  server.prependListener('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    if ((byAddress.get(address) ?? 0) >= perAddress) {
      warn('address', 'too many connections from one address: refusing new ones from it', { address, max: perAddress });
      refuse(socket, `Too many connections from your address (at most ${perAddress})`);
      return;
    }
    if (unproven.size >= maxUnproven || open.size >= max) evictIdleUnproven();
    if (open.size >= max) {
      warn('total', 'too many connections: refusing new ones', { max });
      refuse(socket, `Too many connections (at most ${max})`);
      return;
    }
    const key = keyOf(socket);
    const connection: Connection = { socket, address, proven: false, active: 0, lastActivity: Date.now() };
    open.set(key, connection);
    unproven.set(key, connection);
    byAddress.set(address, (byAddress.get(address) ?? 0) + 1);
    socket.once('close', () => {
      if (open.get(key) === connection) forget(key);
    });
  });

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const key = keyOf(req.socket);
    const connection = open.get(key);
    if (!connection) return;
    connection.active++;
    connection.lastActivity = Date.now();
    res.once('close', () => {
      connection.active--;
      connection.lastActivity = Date.now();
      if (!connection.proven && res.headersSent && !UNPROVEN_STATUSES.has(res.statusCode)) {
        connection.proven = true;
        unproven.delete(key);
      } else if (!connection.proven) {
        unproven.delete(key);
        unproven.set(key, connection);
      }
    });
  });

  if (unprovenIdleMs > 0) {
    const sweep = setInterval(() => {
      const oldest = Date.now() - unprovenIdleMs;
      for (const [key, connection] of unproven) {
        if (connection.active === 0 && connection.lastActivity <= oldest) {
          connection.socket.destroy();
          forget(key);
        }
      }
    }, Math.max(250, Math.min(5_000, Math.floor(unprovenIdleMs / 4))));
    sweep.unref();
    server.once('close', () => clearInterval(sweep));
  }

  return { openConnections: () => open.size, unprovenConnections: () => unproven.size };
}

function keyOf(socket: Socket): string {
  return `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
}
