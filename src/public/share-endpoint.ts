/**
 * `POST /.share`: WebDAV users with the `share` permission make share links.
 *
 * Request (JSON, at most 16 KiB; the same Basic credentials as for WebDAV):
 *   { "path": "/Films/a.mkv", "expires": "7d", "maxDownloads": 3, "password": "…" }
 * `path` is as the user sees it (under their home); only `path` is required.
 * Answers 201 `{ "url", "id", "expires" }` (expires: ISO 8601 or null); 400 with a reason for bad
 * input; 401/403 from the access guard (no credentials, no `share` permission) before anything
 * is looked up; 404 when the path does not exist.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DriveError, type Drive } from '../drive/types.js';
import { createShare, ShareRequestError } from '../links/create-share.js';
import type { ShareStore } from '../links/shares.js';
import { inHome, normaliseHome } from '../webdav/auth/permissions.js';
import type { Logger } from '../webdav/handler.js';
import type { AuthorizeResult } from '../webdav/server.js';
import { shortId } from '../links/shares.js';
import type { PublicRoute } from './routes.js';

export const SHARE_ENDPOINT = '/.share';

export interface ShareEndpointOptions {
  drive: Drive;
  shares: ShareStore;
  publicUrl: () => string;
  /** The WebDAV access guard; absent = anonymous access (as for WebDAV). */
  authorize?: (req: IncomingMessage, res: ServerResponse) => AuthorizeResult | Promise<AuthorizeResult>;
  logger?: Logger;
}

export function shareEndpoint(options: ShareEndpointOptions): PublicRoute {
  return {
    prefix: SHARE_ENDPOINT,
    async handle(req, res, rest) {
      if (rest !== '') return sendJson(res, 404, { error: 'not found' });
      if (req.method !== 'POST') return sendJson(res, 405, { error: 'use POST with a JSON body' }, { Allow: 'POST' });
      const verdict = options.authorize ? await options.authorize(req, res) : true;
      if (verdict === false) return;
      const user = typeof verdict === 'object' ? verdict.user : 'anonymous';
      const home = typeof verdict === 'object' ? (verdict.home ?? '/') : '/';
      let body: Record<string, unknown>;
      try {
        body = await readJson(req);
      } catch (error) {
        return sendJson(res, (error as { status?: number }).status ?? 400, { error: (error as Error).message }, { Connection: 'close' });
      }
      const { path, expires, maxDownloads, password } = body;
      if (typeof path !== 'string' || !path.startsWith('/')) return sendJson(res, 400, { error: '"path" must be an absolute path such as /Films/a.mkv' });
      let visible: string;
      try {
        visible = normaliseHome(path);
      } catch {
        return sendJson(res, 400, { error: '"path" must not contain "." or ".." segments' });
      }
      if (expires !== undefined && typeof expires !== 'string') return sendJson(res, 400, { error: '"expires" must be a duration such as "7d"' });
      if (maxDownloads !== undefined && typeof maxDownloads !== 'number') return sendJson(res, 400, { error: '"maxDownloads" must be a number' });
      if (password !== undefined && typeof password !== 'string') return sendJson(res, 400, { error: '"password" must be a string' });
      const drivePath = inHome(home, visible);
      try {
        const made = await createShare(options.shares, options.drive, options.publicUrl(), { path: drivePath, createdBy: user, expires, maxDownloads, password });
        options.logger?.info('audit', {
          event: 'share-created',
          user,
          path: drivePath,
          id: shortId(made.link.id),
          expires: made.link.expiresAt ? new Date(made.link.expiresAt).toISOString() : null,
          maxDownloads: made.link.maxDownloads ?? null,
          client: req.socket.remoteAddress ?? 'unknown',
        });
        sendJson(res, 201, { url: made.url, id: made.link.id, expires: made.link.expiresAt ? new Date(made.link.expiresAt).toISOString() : null });
      } catch (error) {
        if (error instanceof ShareRequestError) return sendJson(res, 400, { error: error.message });
        if (error instanceof DriveError && error.code === 'not-found') return sendJson(res, 404, { error: `${visible} does not exist` });
        if (error instanceof DriveError && error.code === 'unavailable') return sendJson(res, 503, { error: '1fichier is not answering for now; try again later' }, { 'Retry-After': '30' });
        throw error;
      }
    },
  };
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 16 * 1024) throw Object.assign(new Error('request body too large'), { status: 413 });
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new Error('the body must be JSON such as {"path": "/a.txt", "expires": "7d"}');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('the body must be a JSON object');
  return value as Record<string, unknown>;
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = `${JSON.stringify(value)}\n`;
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) }).end(body);
}
