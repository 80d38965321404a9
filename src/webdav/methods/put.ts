/**
 * PUT (RFC 4918 §9.7, RFC 9110 §9.3.4). The body is streamed to Drive.write, never buffered here.
 * Size: Content-Length, X-Expected-Entity-Length for chunked bodies (macOS Finder) or OC-Total-Length;
 * otherwise unknown and the drive spools. The body is checked against each of them (put-body.ts):
 * a mismatch answers 400 and changes nothing. 201 when created, 204 when replaced; 405 on a collection; 409 when
 * the parent is missing (from the drive's 'conflict').
 */
import { evaluateConditionals } from '../conditional.js';
import { HttpError } from '../errors.js';
import type { MethodHandler } from '../handler.js';
import { checkedPutBody } from '../put-body.js';
import { statOrUndefined, writeTargets } from '../preconditions.js';
import { httpDate, quotedEtag } from '../props/format.js';

export const put: MethodHandler = async (ctx) => {
  if (ctx.path === ctx.home) throw new HttpError(405, 'Cannot PUT to the root collection', { headers: { Allow: ctx.settings.allow } });
  if (ctx.header('content-range') !== undefined) throw new HttpError(400, 'Partial PUT (Content-Range) is not supported');
  const existing = await statOrUndefined(ctx, ctx.path);
  if (existing?.kind === 'folder') throw new HttpError(405, 'Cannot PUT to a collection');
  if (evaluateConditionals(ctx.header, existing, false) !== 'proceed') throw new HttpError(412, 'Precondition failed');
  await ctx.checkPreconditions(writeTargets(ctx.path, false, existing === undefined));

  const body = checkedPutBody(ctx.req);
  let result;
  try {
    result = await ctx.drive.write(ctx.path, body.stream, {
      size: body.size,
      contentType: ctx.header('content-type'),
      signal: ctx.signal,
    });
  } catch (error) {
    const problem = body.problem();
    if (problem) throw new HttpError(400, problem, { headers: { Connection: 'close' } });
    throw error;
  }
  ctx.send(result.created ? 201 : 204, {
    ETag: quotedEtag(result.entry.etag),
    'Last-Modified': httpDate(result.entry.modified),
  });
};
