/**
 * Health endpoints on the WebDAV port, for container healthchecks, systemd watchers and load
 * balancers. Both answer GET/HEAD without authentication and carry no data beyond ok / not ready
 * (with a short reason), so exposing them tells nothing about the account:
 *
 * - `/healthz` (liveness): 200 while the process answers HTTP at all.
 * - `/readyz` (readiness): 200 when the bridge can serve the account, else 503 with the reason.
 *
 * A real file or folder named `healthz` or `readyz` at the root of the drive is shadowed for GET
 * and HEAD only; every other method still reaches it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Readiness {
  ready: boolean;
  /** Why not ready, in words (never a secret). */
  reason?: string;
}

export interface ReadinessSource {
  /** The bridge's own view: API reachable and key accepted (see bridge.ts). */
  readiness(): Readiness;
}

/**
 * Whether the bridge can serve: the 1fichier API answers and has not refused the key (checked at
 * start, then kept up to date by every API answer).
 */
export function bridgeReadiness(bridge: ReadinessSource): Readiness {
  const state = bridge.readiness();
  return state.ready ? { ready: true } : { ready: false, reason: state.reason ?? 'not ready' };
}

export const HEALTH_PATHS = ['/healthz', '/readyz'] as const;

/** Answers a health request when `req` is one; returns false for everything else. */
export function answerHealth(req: IncomingMessage, res: ServerResponse, readiness: () => Readiness): boolean {
  const method = req.method ?? '';
  if (method !== 'GET' && method !== 'HEAD') return false;
  const path = (req.url ?? '').split('?')[0];
  if (path !== '/healthz' && path !== '/readyz') return false;
  const state = path === '/healthz' ? { ready: true } : readiness();
  const text = state.ready ? 'ok\n' : `not ready: ${state.reason ?? 'unknown'}\n`;
  res
    .writeHead(state.ready ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) })
    .end(method === 'HEAD' ? undefined : text);
  return true;
}

/** Wraps a request listener so /healthz and /readyz are answered before it (and before its authentication). */
export function withHealthEndpoints(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  readiness: () => Readiness,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (!answerHealth(req, res, readiness)) handler(req, res);
  };
}
