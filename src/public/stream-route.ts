/**
 * `/stream/<file id>/<name>?sig=…`: the URL a `.strm` file holds (src/links/stream-url.ts). The
 * signature is checked first, so a tampered, foreign or missing one gets 403 without any API call;
 * a valid one serves the file by id (ranges, or a redirect with `--downloads redirect`).
 */
import type { Drive } from '../drive/types.js';
import { parseStreamPath, STREAM_PREFIX, verifyStream } from '../links/stream-url.js';
import type { Logger } from '../webdav/handler.js';
import type { PublicRoute } from './routes.js';
import { answerFileById } from './serve-file.js';

export interface StreamRouteOptions {
  drive: Drive;
  /** The account's link secret (src/links/secret.ts). */
  secret: Buffer;
  downloads: 'stream' | 'redirect';
  logger?: Logger;
}

export function streamRoute(options: StreamRouteOptions): PublicRoute {
  return {
    prefix: STREAM_PREFIX,
    async handle(req, res, rest) {
      const parsed = parseStreamPath(rest);
      const signature = new URL(req.url ?? '/', 'http://link.invalid').searchParams.get('sig');
      if (!parsed || !verifyStream(options.secret, parsed.id, signature)) {
        const body = 'forbidden: this link is not valid (its signature does not match)\n';
        res.writeHead(403, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) }).end(body);
        return;
      }
      await answerFileById(req, res, { drive: options.drive, id: parsed.id, downloads: options.downloads, logger: options.logger });
    },
  };
}
