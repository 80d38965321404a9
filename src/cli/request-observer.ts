/**
 * One log line and one metrics sample per WebDAV request: method, path, status, bytes, ms. It
 * wraps the WebDAV handler from outside, so the protocol layer stays free of logging concerns.
 * Byte counts come from the socket (they include headers), because reading the request body here
 * would steal it from the handler.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../webdav/handler.js';
import type { BridgeMetrics } from './metrics.js';

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export function observeRequests(handler: RequestListener, logger: Logger, metrics?: BridgeMetrics): RequestListener {
  return (req, res) => {
    const started = process.hrtime.bigint();
    const socket = req.socket;
    const readBefore = socket.bytesRead;
    const writtenBefore = socket.bytesWritten;
    const streaming = req.method === 'GET';
    if (streaming) metrics?.streamStarted();
    let done = false;
    const finish = (aborted: boolean) => {
      if (done) return;
      done = true;
      if (streaming) metrics?.streamEnded();
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const sent = Math.max(0, socket.bytesWritten - writtenBefore);
      const received = Math.max(0, socket.bytesRead - readBefore);
      const status = res.headersSent ? res.statusCode : 0;
      metrics?.request(req.method ?? '?', status, ms / 1000, sent, received);
      const fields = {
        method: req.method,
        // A signed link's signature is a credential: never in the logs.
        // So is a share link's id (/s/<id>): its first 8 characters tell links apart.
        path: req.url?.replace(/([?&]sig=)[^&]*/g, '$1<hidden>').replace(/^(\/s\/[A-Za-z0-9_-]{8})[A-Za-z0-9_-]*/, '$1…'),
        status,
        bytesSent: sent,
        bytesReceived: received,
        ms: Math.round(ms * 10) / 10,
        ...(aborted ? { aborted: true } : {}),
      };
      if (status >= 500) logger.warn('request', fields);
      else logger.info('request', fields);
    };
    res.once('finish', () => finish(false));
    res.once('close', () => finish(!res.writableFinished));
    handler(req, res);
  };
}
