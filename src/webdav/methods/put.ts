/**
 * PUT (RFC 4918 §9.7, RFC 9110 §9.3.4). The body is streamed to Drive.write, never buffered here.
 * Size: Content-Length, or X-Expected-Entity-Length for chunked bodies (macOS Finder); otherwise
 * unknown and the drive spools. 201 when created, 204 when replaced; 405 on a collection; 409 when
 * the parent is missing (from the drive's 'conflict').
 */
import { evaluateConditionals } from '../conditional.js';
import { HttpError } from '../errors.js';
import type { MethodHandler, RequestContext } from '../handler.js';
import { declaredLength } from '../body.js';
import { statOrUndefined, writeTargets } from '../preconditions.js';
import { httpDate, quotedEtag } from '../props/format.js';

export const put: MethodHandler = async (ctx) => {
  if (ctx.path === '/') throw new HttpError(405, 'Cannot PUT to the root collection', { headers: { Allow: ctx.settings.allow } });
  if (ctx.header('content-range') !== undefined) throw new HttpError(400, 'Partial PUT (Content-Range) is not supported');
  const existing = await statOrUndefined(ctx, ctx.path);
  if (existing?.kind === 'folder') throw new HttpError(405, 'Cannot PUT to a collection');
  if (evaluateConditionals(ctx.header, existing, false) !== 'proceed') throw new HttpError(412, 'Precondition failed');
  await ctx.checkPreconditions(writeTargets(ctx.path, false, existing === undefined));

  const result = await ctx.drive.write(ctx.path, ctx.req, {
    size: bodySize(ctx),
    contentType: ctx.header('content-type'),
    signal: ctx.signal,
  });
  ctx.send(result.created ? 201 : 204, {
    ETag: quotedEtag(result.entry.etag),
    'Last-Modified': httpDate(result.entry.modified),
  });
};

function bodySize(ctx: RequestContext): number | undefined {
  const chunked = /\bchunked\b/i.test(ctx.header('transfer-encoding') ?? '');
  if (!chunked) return declaredLength(ctx.req) ?? 0;
  const expected = ctx.header('x-expected-entity-length');
  if (expected !== undefined && /^\d+$/.test(expected.trim())) return Number(expected.trim());
  return undefined;
}
