/** file/info, file/mv, file/cp, file/rename, file/rm, file/chattr (fichier-api.md §4.4, §4.7–4.11). */
import { isOwned, visibleAtFor } from '../context.js';
import { fileIdFromUrl } from '../ids.js';
import { MSG } from '../messages.js';
import { nameProblem } from '../names.js';
import { emptyAcl, type Acl, type FileRec } from '../store.js';
import { fileInfo } from './shapes.js';
import { ApiError, arrayParam, flagParam, intParam, ok, stringParam, type ApiAnswer, type ApiCall } from './types.js';

export function findFile(call: ApiCall, url: unknown): FileRec {
  const id = fileIdFromUrl(url);
  const f = id ? call.ctx.store.file(id) : undefined;
  if (!isOwned(f)) throw new ApiError(404, MSG.notFound);
  return f;
}

function destinationFolder(call: ApiCall, name: string): number {
  const id = intParam(call.body, name, 0);
  if (!call.ctx.store.folder(id)) throw new ApiError(404, MSG.folderNotFound);
  return id;
}

/** Name check for mkdir / rename / mv rename; in 'accept' mode only emptiness and length count. */
export function checkName(call: ApiCall, name: unknown): string {
  const { opts } = call.ctx;
  if (typeof name !== 'string' || name.length === 0) throw new ApiError(200, MSG.invalidName);
  if (opts.nameMode === 'accept') {
    if ([...name].length > opts.maxNameLength) throw new ApiError(200, MSG.nameTooLong);
    return name;
  }
  const problem = nameProblem(name, opts.maxNameLength);
  if (problem) throw new ApiError(200, problem);
  return name;
}

function urlList(call: ApiCall): FileRec[] {
  return arrayParam(call.body, 'urls').map((u) => findFile(call, u));
}

export function fileInfoCgi(call: ApiCall): ApiAnswer {
  const f = findFile(call, call.body.url);
  if (f.pass && stringParam(call.body, 'pass') !== f.pass) throw new ApiError(403, MSG.notAllowed);
  const body = fileInfo(f, call.ctx.store);
  return { status: 200, body: call.ctx.opts.fileInfoStatus ? { status: 'OK', ...body } : body };
}

export function fileMv(call: ApiCall): ApiAnswer {
  const files = urlList(call);
  const dest = destinationFolder(call, 'destination_folder_id');
  const rename = stringParam(call.body, 'rename');
  let newName: string | undefined;
  if (rename !== undefined && rename !== '') {
    if (files.length !== 1) throw new ApiError(200, MSG.renameNeedsOneUrl);
    const f = files[0]!;
    newName = checkName(call, rename);
    // Since 2024 the API refuses a "rename" equal to the current name (rclone 3f2074901).
    if (newName === f.name) throw new ApiError(200, MSG.renameSameName);
    if (dest === f.folderId) {
      // RI-5421: a move into the same folder did not rename.
      if (call.ctx.opts.mvSameFolderRename === 'ko') throw new ApiError(200, MSG.sameFolderRename);
      newName = undefined;
    }
  }
  for (const f of files) {
    f.folderId = dest;
    if (newName !== undefined) f.name = newName;
  }
  const body: Record<string, unknown> = { moved: files.length, urls: files.map((f) => f.url) };
  if (newName !== undefined) body.filename = newName;
  return ok(body);
}

export function fileCp(call: ApiCall): ApiAnswer {
  const files = urlList(call);
  const dest = destinationFolder(call, 'folder_id');
  const rename = stringParam(call.body, 'rename');
  if (rename !== undefined && rename !== '' && files.length !== 1) throw new ApiError(200, MSG.renameNeedsOneUrl);
  const name = rename !== undefined && rename !== '' ? checkName(call, rename) : undefined;
  const now = call.ctx.clock.now();
  const urls = files.map((src) => {
    const copy = call.ctx.store.copyFile(src, dest, name ?? src.name, now, visibleAtFor(call.ctx, now));
    return { from_url: src.url, to_url: copy.url };
  });
  return ok({ copied: urls.length, urls });
}

export function fileRename(call: ApiCall): ApiAnswer {
  const entries = arrayParam(call.body, 'urls').map((e) => {
    if (!e || typeof e !== 'object') throw new ApiError(400, MSG.badParameter('urls[] must be {url, filename} objects'));
    const { url, filename } = e as { url?: unknown; filename?: unknown };
    return { file: findFile(call, url), filename };
  });
  const changes = entries.map(({ file, filename }) => ({ file, name: checkName(call, filename) }));
  const done: Record<string, unknown>[] = [];
  for (const { file, name } of changes) {
    if (name === file.name) continue;
    done.push({ url: file.url, old_filename: file.name, new_filename: name });
    file.name = name;
  }
  // KO inside HTTP 200 (RI-7856).
  if (done.length === 0) throw new ApiError(200, MSG.notRenamed);
  return ok({ renamed: done.length, urls: done });
}

export function fileRm(call: ApiCall): ApiAnswer {
  const { ctx } = call;
  const entries = arrayParam(call.body, 'files');
  const now = ctx.clock.now();
  const goneAt = now + ctx.clock.scaled(ctx.faults.current.deleteLingerMs ?? 0);
  let removed = 0;
  const urls: string[] = [];
  for (const e of entries) {
    const url = e && typeof e === 'object' ? (e as { url?: unknown }).url : e;
    const id = fileIdFromUrl(url);
    const f = id ? ctx.store.file(id) : undefined;
    if (!isOwned(f)) continue;
    ctx.store.removeFile(f, now, goneAt);
    removed++;
    urls.push(f.url);
  }
  if (removed === 0) throw new ApiError(404, MSG.notFound);
  return ok({ removed, urls });
}

function parseAcl(raw: unknown): Acl {
  if (raw === '' || raw === null) return emptyAcl();
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ApiError(400, MSG.badParameter('acl must be an object'));
  const o = raw as Record<string, unknown>;
  const list = (k: string): string[] => {
    const v = o[k];
    if (v === undefined) return [];
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new ApiError(400, MSG.badParameter(`acl.${k} must be an array of strings`));
    return v as string[];
  };
  const premium = o.premium === 1 || o.premium === '1' ? 1 : 0;
  return { ip: list('ip'), country: list('country'), email: list('email'), premium };
}

export function fileChattr(call: ApiCall): ApiAnswer {
  const files = urlList(call);
  const b = call.body;
  const filename = stringParam(b, 'filename');
  if (filename !== undefined && files.length !== 1) throw new ApiError(200, MSG.renameNeedsOneUrl);
  const name = filename !== undefined ? checkName(call, filename) : undefined;
  const description = stringParam(b, 'description');
  const pass = stringParam(b, 'pass');
  if (pass !== undefined && pass !== '' && pass.length < 6) throw new ApiError(200, MSG.badParameter('pass must have at least 6 characters'));
  const inline = flagParam(b, 'inline');
  const cdn = flagParam(b, 'cdn');
  const noSsl = flagParam(b, 'no_ssl');
  const acl = b.acl !== undefined ? parseAcl(b.acl) : undefined;
  for (const f of files) {
    if (name !== undefined) f.name = name;
    if (description !== undefined) f.description = description;
    if (pass !== undefined) f.pass = pass;
    if (inline !== undefined) f.inline = inline;
    if (cdn !== undefined) f.cdn = cdn;
    if (noSsl !== undefined) f.noSsl = noSsl;
    if (acl !== undefined) f.acl = acl;
  }
  return ok({ updated: files.length, urls: files.map((f) => f.url) });
}
