/**
 * COPY and MOVE (RFC 4918 §9.8, §9.9), mapped to the drive's native copy/move (never read + write).
 * Destination: absolute URI or path (other host → 502, bad encoding → 400). Overwrite: F and an
 * existing destination → 412. Depth: COPY 0 or infinity (default infinity), MOVE infinity only.
 * 201 when the destination was created, 204 when replaced; 403 when source and destination are
 * the same, the destination is inside the source, or the destination is a folder holding the
 * source (Overwrite would delete the source with it); 409 when the destination's parent is missing.
 */
import { HttpError } from '../errors.js';
import type { MethodHandler, RequestContext } from '../handler.js';
import { parseDepth, parseOverwrite } from '../headers.js';
import type { WriteTarget } from '../locking.js';
import { isSameOrBelow } from '../paths.js';
import { statOrUndefined, writeTargets } from '../preconditions.js';

async function transfer(ctx: RequestContext, kind: 'COPY' | 'MOVE'): Promise<void> {
  const destination = ctx.destination();
  const overwrite = parseOverwrite(ctx.header('overwrite'));
  const depthHeader = parseDepth(ctx.header('depth'));
  if (kind === 'MOVE' && depthHeader !== undefined && depthHeader !== 'infinity') {
    throw new HttpError(400, 'MOVE requires Depth: infinity');
  }
  if (kind === 'COPY' && depthHeader === 1) throw new HttpError(400, 'COPY accepts Depth 0 or infinity');
  const depth: 0 | 'infinity' = depthHeader === 0 ? 0 : 'infinity';

  const source = await ctx.drive.stat(ctx.path, ctx.signal, { forWrite: true });
  if (ctx.path === ctx.home) throw new HttpError(403, `Cannot ${kind} the root collection`);
  if (destination === ctx.path) throw new HttpError(403, 'Source and destination are the same resource');
  if (destination === ctx.home) throw new HttpError(403, 'Cannot replace the root collection');
  if (source.kind === 'folder' && isSameOrBelow(destination, ctx.path)) {
    throw new HttpError(403, 'Destination is inside the source collection');
  }
  const existing = await statOrUndefined(ctx, destination);
  if (existing && !overwrite) throw new HttpError(412, 'Destination exists and Overwrite is F');
  // Overwrite: T deletes the destination before the copy (RFC 4918 §9.8.4). A file replacing a file
  // is what PUT does (write); a folder replaced, or a file replaced by a folder, is a deletion. MOVE
  // needs delete anyway (the access guard checked it).
  if (kind === 'COPY' && existing && (existing.kind === 'folder' || source.kind === 'folder') && !ctx.allows('delete')) {
    ctx.logger.info('audit', { event: 'refused', user: ctx.principal ?? 'anonymous', method: ctx.method, url: ctx.req.url, client: ctx.req.socket.remoteAddress ?? 'unknown', missing: ['delete'] });
    throw new HttpError(403, `User "${ctx.principal ?? 'anonymous'}" may not replace ${ctx.href(destination, existing.kind === 'folder')} by COPY: missing permission "delete" (Overwrite: T removes the destination first)`);
  }
  // Overwrite deletes the destination first; a folder holding the source would take the source
  // with it (mod_dav answers 403 too). Compared in NFC: a name may arrive in either form; the
  // same path in its other form is a rename of the resource itself, not a folder holding it.
  const sourceNfc = ctx.path.normalize('NFC');
  const destinationNfc = destination.normalize('NFC');
  if (sourceNfc !== destinationNfc && isSameOrBelow(sourceNfc, destinationNfc)) {
    throw new HttpError(403, `the destination ${destination} holds the source: overwriting it would delete the source; give the full destination name`);
  }

  const targets: WriteTarget[] = writeTargets(destination, true, existing === undefined);
  if (kind === 'MOVE') targets.push(...writeTargets(ctx.path, source.kind === 'folder', true));
  await ctx.checkPreconditions(targets);

  const result =
    kind === 'MOVE'
      ? await ctx.drive.move(ctx.path, destination, { overwrite })
      : await ctx.drive.copy(ctx.path, destination, { overwrite, depth });
  if (kind === 'MOVE') await ctx.locks?.forgetTree(ctx.path);
  ctx.send(result.created ? 201 : 204);
}

export const copy: MethodHandler = (ctx) => transfer(ctx, 'COPY');
export const move: MethodHandler = (ctx) => transfer(ctx, 'MOVE');
