/** folder/mkdir, folder/rm, folder/mv (fichier-api.md §4.13–4.15). */
import { MSG } from '../messages.js';
import { checkName } from './files.js';
import { ApiError, intParam, ok, stringParam, type ApiAnswer, type ApiCall } from './types.js';

function existingFolder(call: ApiCall, name: string, fallback?: number): number {
  const id = intParam(call.body, name, fallback);
  if (!call.ctx.store.folder(id)) throw new ApiError(404, MSG.folderNotFound);
  return id;
}

function nameTaken(call: ApiCall, parentId: number, name: string, except?: number): boolean {
  return call.ctx.store.subFolders(parentId).some((d) => d.name === name && d.id !== except);
}

export function folderMkdir(call: ApiCall): ApiAnswer {
  const parent = existingFolder(call, 'folder_id', 0);
  const name = checkName(call, call.body.name);
  if (call.ctx.opts.rejectDuplicateFolder && nameTaken(call, parent, name)) throw new ApiError(200, MSG.duplicateFolder);
  const rec = call.ctx.store.addFolder(parent, name, call.ctx.clock.now());
  return ok({ folder_id: rec.id, name: rec.name });
}

export function folderRm(call: ApiCall): ApiAnswer {
  const id = existingFolder(call, 'folder_id');
  if (id === 0) throw new ApiError(200, MSG.rootImmutable);
  const now = call.ctx.clock.now();
  call.ctx.store.purge(now);
  // Files pending deletion still count (the C# SDK waits for files == 0 before removing).
  if (call.ctx.store.isOccupied(id, now)) throw new ApiError(200, call.ctx.opts.folderNotEmptyMessage);
  call.ctx.store.removeFolder(id);
  return ok({});
}

export function folderMv(call: ApiCall): ApiAnswer {
  const id = existingFolder(call, 'folder_id');
  if (id === 0) throw new ApiError(200, MSG.rootImmutable);
  const folder = call.ctx.store.folder(id)!;
  const user = call.body.destination_user;
  if (user !== undefined && user !== null && typeof user !== 'string') throw new ApiError(400, MSG.badParameter('destination_user must be a string'));
  const rename = stringParam(call.body, 'rename');
  const oldName = folder.name;
  if (rename !== undefined && rename !== '') {
    // The doc: with `rename` the destination_* parameters are ignored and the folder is renamed in place.
    const name = checkName(call, rename);
    if (call.ctx.opts.rejectDuplicateFolder && nameTaken(call, folder.parentId!, name, id)) throw new ApiError(200, MSG.duplicateFolder);
    folder.name = name;
    return ok({ message: 'Folder renamed', old_name: oldName, new_name: name });
  }
  // rclone omits destination_folder_id when it is 0 (omitempty): missing means the root.
  const dest = existingFolder(call, 'destination_folder_id', 0);
  if (call.ctx.store.isDescendant(dest, id)) throw new ApiError(200, MSG.folderIntoItself);
  if (call.ctx.opts.rejectDuplicateFolder && nameTaken(call, dest, folder.name, id)) throw new ApiError(200, MSG.duplicateFolder);
  folder.parentId = dest;
  return ok({ message: 'Folder moved', old_name: oldName, new_name: folder.name });
}
