/**
 * Helpers shared by the write methods: existence probes and the lock targets each write declares
 * (see locking.ts for the target semantics).
 */
import { DriveError, type DriveEntry } from '../drive/types.js';
import type { RequestContext } from './handler.js';
import type { WriteTarget } from './locking.js';
import { parentPath } from './paths.js';

/** The entry at `path` a write is about to change, or undefined when it does not exist. */
export async function statOrUndefined(ctx: RequestContext, path: string): Promise<DriveEntry | undefined> {
  try {
    return await ctx.drive.stat(path, ctx.signal, { forWrite: true });
  } catch (error) {
    if (error instanceof DriveError && error.code === 'not-found') return undefined;
    throw error;
  }
}

/** Targets for writing `path`: itself (depth per `deep`), plus its parent when membership changes. */
export function writeTargets(path: string, deep: boolean, membershipChanges: boolean): WriteTarget[] {
  const targets: WriteTarget[] = [{ path, depth: deep ? 'infinity' : 0 }];
  if (membershipChanges && path !== '/') targets.push({ path: parentPath(path), depth: 0 });
  return targets;
}
