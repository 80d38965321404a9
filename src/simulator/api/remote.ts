/** remote/request, remote/ls, remote/info (fichier-api.md §4.17; shapes from the doc transcription). */
import { runRemoteJob } from '../remote-fetch.js';
import { MSG } from '../messages.js';
import { formatParis } from '../paris-time.js';
import { ApiError, arrayParam, intParam, ok, type ApiAnswer, type ApiCall } from './types.js';

let nextRemoteId = 1000;

export function remoteRequest(call: ApiCall): ApiAnswer {
  const { ctx } = call;
  const urls = arrayParam(call.body, 'urls');
  if (!urls.every((u) => typeof u === 'string' && u.length > 0)) throw new ApiError(400, MSG.badParameter('urls must be strings'));
  const folderId = intParam(call.body, 'folder_id', 0);
  if (!ctx.store.folder(folderId)) throw new ApiError(404, MSG.folderNotFound);
  const rawHeaders = call.body.headers ?? {};
  if (typeof rawHeaders !== 'object' || Array.isArray(rawHeaders) || !Object.values(rawHeaders as object).every((v) => typeof v === 'string')) {
    throw new ApiError(400, MSG.badParameter('headers must be an object of strings'));
  }
  const job = { id: ++nextRemoteId, requestedAt: ctx.clock.now(), urls: urls as string[], headers: rawHeaders as Record<string, string>, folderId, results: [] };
  ctx.remoteJobs.set(job.id, job);
  runRemoteJob(ctx, job);
  return ok({ id: job.id, date: formatParis(job.requestedAt), urls: job.urls, headers: job.headers });
}

export function remoteLs(call: ApiCall): ApiAnswer {
  const data = [...call.ctx.remoteJobs.values()].map((j) => ({
    id: j.id,
    request_date: formatParis(j.requestedAt),
    execution_date: j.executedAt === undefined ? '' : formatParis(j.executedAt),
  }));
  return ok({ data });
}

export function remoteInfo(call: ApiCall): ApiAnswer {
  const id = intParam(call.body, 'id');
  const job = call.ctx.remoteJobs.get(id);
  if (!job) throw new ApiError(404, MSG.remoteNotFound);
  return ok({
    id: job.id,
    request_date: formatParis(job.requestedAt),
    execution_date: job.executedAt === undefined ? '' : formatParis(job.executedAt),
    links: job.urls,
    result: job.results.map((r) => ({ ...r })),
  });
}
