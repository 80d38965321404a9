/** MKCOL (RFC 4918 §9.3): 201; 405 when something exists there; 409 parent missing; 415 with a body. */
import { HttpError } from '../errors.js';
import type { MethodHandler } from '../handler.js';
import { statOrUndefined, writeTargets } from '../preconditions.js';

export const mkcol: MethodHandler = async (ctx) => {
  const body = await ctx.readBody();
  if (body.length > 0) throw new HttpError(415, 'MKCOL with a request body is not supported');
  if (ctx.path === ctx.home || (await statOrUndefined(ctx, ctx.path)) !== undefined) {
    throw new HttpError(405, 'A resource already exists at this URL', { headers: { Allow: ctx.settings.allow } });
  }
  await ctx.checkPreconditions(writeTargets(ctx.path, false, true));
  await ctx.drive.mkdir(ctx.path);
  ctx.send(201);
};
