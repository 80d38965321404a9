/**
 * One request/response on any listener, with what all hosts share: the slow / 5xx / dropped
 * connection faults, error containment (a handler bug answers 500, never crashes the process),
 * and the stats + log entry written when the response closes.
 */
import { waitMs } from './wait.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SimContext } from './context.js';
import { codeOf, sendJson } from './envelope.js';
import { page, sendHtml } from './html.js';
import { MSG } from './messages.js';
import type { HostKind } from './stats.js';

export interface Exchange {
  ctx: SimContext;
  req: IncomingMessage;
  res: ServerResponse;
  host: HostKind;
  node: string;
  endpoint: string;
  url: URL;
  outcome: string;
  message?: string;
  body?: unknown;
}

/** Sends a JSON answer and notes its outcome (OK/KO + message) for the log. */
export function answerJson(x: Exchange, status: number, obj: Record<string, unknown>, pretty = false, outcome?: string): void {
  const st = obj.status;
  x.outcome = outcome ?? (st === 'KO' ? 'KO' : 'OK');
  if (typeof obj.message === 'string' && st === 'KO') x.message = obj.message;
  sendJson(x.res, status, obj, { pretty, shuffle: x.ctx.opts.shuffleKeys });
}

export function answerHtml(x: Exchange, status: number, html: string, message?: string, extra?: Record<string, string>): void {
  x.outcome = status >= 300 && status < 400 ? 'redirect' : 'html';
  if (message) x.message = message;
  sendHtml(x.res, status, html, extra);
}

const REASONS: Record<number, string> = { 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Temporarily Unavailable', 504: 'Gateway Time-out' };

export async function runExchange(
  ctx: SimContext,
  host: HostKind,
  node: string,
  endpoint: string,
  req: IncomingMessage,
  res: ServerResponse,
  handler: (x: Exchange) => Promise<void> | void,
): Promise<void> {
  const arrived = ctx.clock.now();
  const started = performance.now();
  const url = new URL(req.url ?? '/', 'http://sim.invalid');
  const x: Exchange = { ctx, req, res, host, node, endpoint, url, outcome: 'html' };
  let recorded = false;
  const record = (status: number): void => {
    if (recorded) return;
    recorded = true;
    ctx.stats.record({
      time: new Date(arrived).toISOString(),
      ms: arrived,
      host,
      node,
      method: req.method ?? '?',
      path: url.pathname + url.search,
      endpoint,
      status,
      outcome: x.outcome,
      ...(x.message !== undefined ? { message: x.message } : {}),
      caller: `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`,
      auth: req.headers.authorization !== undefined,
      headers: ctx.stats.pickHeaders(req.headers),
      ...(x.body !== undefined ? { body: x.body } : {}),
      durationMs: Math.round(performance.now() - started),
    });
  };
  // 'finish' comes first for complete answers (so stats are current when the client has the
  // body); 'close' catches aborted and dropped ones.
  res.on('finish', () => record(res.statusCode));
  res.on('close', () => record(res.headersSent ? res.statusCode : 0));

  try {
    const delay = ctx.faults.takeDelay(host, endpoint);
    if (delay > 0) await waitMs(delay);
    const failure = ctx.faults.takeFailure(host, endpoint);
    if (failure) {
      if (failure.drop) {
        x.outcome = 'dropped';
        req.socket.destroy();
        return;
      }
      if (failure.flood) {
        x.outcome = 'flood';
        const message = ctx.opts.floodMessage ?? MSG.flood(ctx.opts.floodCode);
        sendJson(res, 403, { status: 'KO', message }, { pretty: false, shuffle: ctx.opts.shuffleKeys });
        return;
      }
      x.outcome = 'fault';
      const reason = REASONS[failure.status] ?? 'Error';
      sendHtml(res, failure.status, page(`${failure.status} ${reason}`, `<center><h1>${failure.status} ${reason}</h1></center><hr><center>nginx</center>`));
      return;
    }
    await handler(x);
  } catch (err) {
    x.outcome = 'error';
    x.message = err instanceof Error ? err.message : String(err);
    if (!res.headersSent) {
      if (host === 'api') sendJson(res, 500, { status: 'KO', message: 'Internal error #500' }, { pretty: false, shuffle: false });
      else sendHtml(res, 500, page('Erreur', '<div class="bloc2">Erreur interne</div>'));
    } else {
      res.destroy();
    }
  }
}

export { codeOf };
