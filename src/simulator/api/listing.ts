/** folder/ls.cgi and file/ls.cgi (fichier-api.md §4.2, §4.3). */
import { MSG } from '../messages.js';
import { parseParis } from '../paris-time.js';
import { orderFiles, orderFolders, type FileRec } from '../store.js';
import { fileItem, subFolderItem } from './shapes.js';
import { ApiError, flagParam, intParam, ok, type ApiAnswer, type ApiCall } from './types.js';

function dateFilter(call: ApiCall): (f: FileRec) => boolean {
  const parse = (name: string): number | undefined => {
    const raw = call.body[name];
    if (raw === undefined || raw === null || raw === '') return undefined;
    const t = parseParis(raw);
    if (t === undefined) throw new ApiError(400, MSG.badParameter(`${name} must be "YYYY-MM-DD HH:MM:SS"`));
    return t;
  };
  const before = parse('sent_before');
  const after = parse('sent_after');
  // Dates are shown to the second, so compare at that precision; both bounds inclusive.
  const second = (ms: number): number => Math.floor(ms / 1000) * 1000;
  return (f) => (before === undefined || second(f.createdAt) <= before) && (after === undefined || second(f.createdAt) >= after);
}

function itemsOf(call: ApiCall, files: FileRec[]): Record<string, unknown>[] {
  const { opts } = call.ctx;
  return orderFiles(files, opts.listingOrder, opts.seed).slice(0, opts.listingCap).map(fileItem);
}

export function fileLs(call: ApiCall): ApiAnswer {
  const { ctx } = call;
  const folderId = intParam(call.body, 'folder_id', 0);
  const now = ctx.clock.now();
  ctx.store.purge(now);
  if (folderId !== -1 && !ctx.store.folder(folderId)) throw new ApiError(404, MSG.folderNotFound);
  const keep = dateFilter(call);
  const files = ctx.store.listed(now, folderId === -1 ? undefined : folderId).filter(keep);
  const items = itemsOf(call, files);
  const body: Record<string, unknown> = { count: items.length };
  if (items.length > 0 || !ctx.opts.omitEmptyArrays) body.items = items;
  return ok(body);
}

export function folderLs(call: ApiCall): ApiAnswer {
  const { ctx } = call;
  const folderId = intParam(call.body, 'folder_id', 0);
  const withFiles = flagParam(call.body, 'files') === 1;
  const now = ctx.clock.now();
  ctx.store.purge(now);
  const folder = ctx.store.folder(folderId);
  if (!folder) throw new ApiError(404, MSG.folderNotFound);
  const files = ctx.store.listed(now, folderId);
  const subs = orderFolders(ctx.store.subFolders(folderId), ctx.opts.listingOrder, ctx.opts.seed).map(subFolderItem);
  const size = files.reduce((n, f) => n + f.content.size, 0);
  const body: Record<string, unknown> = {
    folder_id: folder.id,
    name: folder.name,
    size: files.length === 0 ? null : size,
    files: files.length,
    pass: folder.pass ? 1 : 0,
  };
  if (folder.parentId !== null) body.create_date = subFolderItem(folder).create_date;
  if (subs.length > 0 || !ctx.opts.omitEmptyArrays) body.sub_folders = subs;
  if (withFiles) {
    const items = itemsOf(call, files);
    if (items.length > 0 || !ctx.opts.omitEmptyArrays) body.items = items;
  }
  return ok(body);
}
