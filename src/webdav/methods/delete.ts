/**
 * DELETE (RFC 4918 §9.6): files and whole folders via Drive.remove (one call; the drive removes the
 * content). 204 on success. Locks rooted at or below the path vanish with it.
 */
import { HttpError } from '../errors.js';
import type { MethodHandler } from '../handler.js';
import { parseDepth } from '../headers.js';
import { writeTargets } from '../preconditions.js';

export const del: MethodHandler = async (ctx) => {
  if (ctx.path === ctx.home) throw new HttpError(403, 'The root collection cannot be deleted');
  const entry = await ctx.drive.stat(ctx.path, ctx.signal, { forWrite: true });
  const depth = parseDepth(ctx.header('depth'));
  if (entry.kind === 'folder' && depth !== undefined && depth !== 'infinity') {
    throw new HttpError(400, 'DELETE of a collection requires Depth: infinity');
  }
  await ctx.checkPreconditions(writeTargets(ctx.path, entry.kind === 'folder', true));
  await ctx.drive.remove(ctx.path);
  await ctx.locks?.forgetTree(ctx.path);
  ctx.send(204);
};
