/**
 * GET and HEAD (RFC 9110). Files stream from Drive.read — one read per range, each with exactly that
 * range and the request's abort signal, so a client disconnect aborts the upstream transfer and the
 * stream is destroyed. Multiple ranges answer multipart/byteranges; overlapping ones are coalesced.
 *
 * Collections: GET answers a small HTML index of the folder (one Drive.list); HEAD answers the
 * same headers without listing. In `downloads: 'redirect'` mode a file GET answers 302 to
 * Drive.directUrl when the drive has one (conditionals are still evaluated first).
 */
import { fromHome } from '../auth/permissions.js';
import { randomBytes } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import type { ByteRange, DriveEntry } from '../../drive/types.js';
import { evaluateConditionals, ifRangeAllows } from '../conditional.js';
import { HttpError, ResponseStreamError } from '../errors.js';
import type { MethodHandler, RequestContext } from '../handler.js';
import { joinPath } from '../paths.js';
import { httpDate, quotedEtag } from '../props/format.js';
import { contentRange, decideRanges } from '../ranges.js';
import { escapeXml } from '../xml/escape.js';
import { storedFileHeaders } from '../active-content.js';

export const get: MethodHandler = async (ctx) => {
  const entry = await ctx.drive.stat(ctx.path, ctx.signal);
  if (entry.kind === 'folder') return folderIndex(ctx);

  const validators = {
    ETag: quotedEtag(entry.etag),
    'Last-Modified': httpDate(entry.modified),
  };
  const outcome = evaluateConditionals(ctx.header, entry, true);
  if (outcome === 'precondition-failed') throw new HttpError(412, 'Precondition failed', { headers: validators });
  if (outcome === 'not-modified') {
    ctx.res.writeHead(304, validators);
    ctx.res.end();
    return;
  }

  if (ctx.method === 'GET' && ctx.settings.downloads === 'redirect' && ctx.drive.directUrl) {
    const url = await ctx.drive.directUrl(ctx.path, ctx.signal);
    ctx.send(302, { Location: url, 'Cache-Control': 'no-store' });
    return;
  }

  const contentType = entry.contentType ?? 'application/octet-stream';
  const base = { ...validators, 'Accept-Ranges': 'bytes', ...storedFileHeaders(contentType) };
  const rangeHeader = ifRangeAllows(ctx.header('if-range'), entry) ? ctx.header('range') : undefined;
  const decision = decideRanges(rangeHeader, entry.size);

  if (decision.kind === 'unsatisfiable') {
    throw new HttpError(416, 'Range not satisfiable', { headers: { ...base, 'Content-Range': `bytes */${entry.size}` } });
  }
  if (decision.kind === 'full') {
    const stream = ctx.method === 'HEAD' || entry.size === 0 ? undefined : await openRead(ctx, undefined);
    ctx.res.writeHead(200, { ...base, 'Content-Type': contentType, 'Content-Length': entry.size });
    if (!stream) return void ctx.res.end();
    await pipeToClient(ctx, stream, true);
    return;
  }
  if (decision.ranges.length === 1) {
    const range = decision.ranges[0];
    const stream = ctx.method === 'HEAD' ? undefined : await openRead(ctx, range);
    ctx.res.writeHead(206, {
      ...base,
      'Content-Type': contentType,
      'Content-Range': contentRange(range, entry.size),
      'Content-Length': range.end - range.start + 1,
    });
    if (!stream) return void ctx.res.end();
    await pipeToClient(ctx, stream, true);
    return;
  }
  await multipart(ctx, entry, decision.ranges, base, contentType);
};

/**
 * Opens the drive stream BEFORE the status line is written, so a drive that fails to start (flood
 * cool-down, vanished file) still gets its proper status (503, 404…) instead of a cut connection.
 * pipeline() later destroys the stream if the client goes away (and the signal aborts it upstream).
 */
function openRead(ctx: RequestContext, range: ByteRange | undefined): Promise<Readable> {
  return ctx.drive.read(ctx.path, { range, signal: ctx.signal });
}

async function multipart(
  ctx: RequestContext,
  entry: DriveEntry,
  ranges: ByteRange[],
  base: Record<string, string>,
  contentType: string,
): Promise<void> {
  const boundary = `fichier-dav-${randomBytes(12).toString('hex')}`;
  const heads = ranges.map(
    (r, i) =>
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${contentType}\r\nContent-Range: ${contentRange(r, entry.size)}\r\n\r\n`,
  );
  const tail = `\r\n--${boundary}--\r\n`;
  const length =
    heads.reduce((n, h) => n + Buffer.byteLength(h), 0) +
    ranges.reduce((n, r) => n + (r.end - r.start + 1), 0) +
    Buffer.byteLength(tail);
  const first = ctx.method === 'HEAD' ? undefined : await openRead(ctx, ranges[0]);
  ctx.res.writeHead(206, {
    ...base,
    'Content-Type': `multipart/byteranges; boundary=${boundary}`,
    'Content-Length': length,
  });
  if (!first) return void ctx.res.end();
  // One pipeline for the whole body: a pipeline per part into the same response left its
  // listeners on the response each time (64 parts: a leak warning per request). A part's drive
  // stream failing while the client is still there is a drive failure (blamed as in pipeToClient).
  let failure: unknown;
  let current: Readable | undefined;
  async function* body(): AsyncGenerator<Buffer> {
    for (let i = 0; i < ranges.length; i++) {
      yield Buffer.from(heads[i]);
      try {
        current = i === 0 ? first : await openRead(ctx, ranges[i]);
        for await (const chunk of current!) yield chunk as Buffer;
      } catch (error) {
        if (!ctx.signal.aborted) failure ??= error;
        throw error;
      } finally {
        current?.destroy();
      }
    }
    yield Buffer.from(tail);
  }
  try {
    await pipeline(Readable.from(body()), ctx.res);
  } catch (error) {
    throw failure !== undefined ? new ResponseStreamError(failure) : error;
  } finally {
    // A body never started (the client left at once) never reached the first part's finally.
    first.destroy();
  }
}

/**
 * pipeline() with blame: an error the drive stream raises while the client is still connected is
 * a drive failure (ResponseStreamError, logged); anything after the client left is just its leaving.
 */
async function pipeToClient(ctx: RequestContext, stream: Readable, end: boolean): Promise<void> {
  let failure: unknown;
  const onError = (error: unknown) => {
    if (!ctx.signal.aborted) failure ??= error;
  };
  stream.on('error', onError);
  try {
    await pipeline(stream, ctx.res, { end });
  } catch (error) {
    throw failure !== undefined ? new ResponseStreamError(failure) : error;
  } finally {
    stream.off('error', onError);
  }
}

async function folderIndex(ctx: RequestContext): Promise<void> {
  const headers = { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' };
  if (ctx.method === 'HEAD') {
    ctx.res.writeHead(200, headers);
    ctx.res.end();
    return;
  }
  const children = await ctx.drive.list(ctx.path, ctx.signal);
  const rows = children
    .slice()
    .sort((a, b) => (a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === 'folder' ? -1 : 1))
    .map((c) => {
      const href = ctx.href(joinPath(ctx.path, c.name), c.kind === 'folder');
      const label = c.kind === 'folder' ? `${c.name}/` : c.name;
      const size = c.kind === 'folder' ? '' : String(c.size);
      return `<tr><td><a href="${escapeXml(href)}">${escapeXml(label)}</a></td><td>${size}</td><td>${httpDate(c.modified)}</td></tr>`;
    })
    .join('\n');
  // The path as the client named it (under its home), not the account's.
  const title = escapeXml(fromHome(ctx.home, ctx.path) ?? '/');
  const html = `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1>\n<table>\n${rows}\n</table></body></html>\n`;
  ctx.send(200, headers, html);
}
