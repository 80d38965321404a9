/** download/get_token.cgi and upload/get_upload_server.cgi (fichier-api.md §4.5, §4.6 step 1). */
import { newDownloadToken, newUploadId } from '../ids.js';
import { MSG } from '../messages.js';
import { findFile } from './files.js';
import { ApiError, flagParam, stringParam, type ApiAnswer, type ApiCall } from './types.js';

export function getToken(call: ApiCall): ApiAnswer {
  const { ctx } = call;
  const f = findFile(call, call.body.url);
  if (f.pass) {
    const pass = stringParam(call.body, 'pass');
    if (pass === undefined || pass === '') throw new ApiError(403, MSG.passwordMissing);
    if (pass !== f.pass) throw new ApiError(403, MSG.passwordInvalid);
  }
  const single = flagParam(call.body, 'single') === 1;
  flagParam(call.body, 'cdn');
  flagParam(call.body, 'inline');
  flagParam(call.body, 'no_ssl');
  const token = newDownloadToken();
  ctx.tokens.set(token, {
    token,
    fileId: f.id,
    expiresAt: ctx.clock.now() + ctx.clock.scaled(ctx.opts.tokenLifetimeMs),
    single,
    used: false,
    owner: call.who,
  });
  ctx.stats.tokensIssued++;
  const { scheme, downloadHost } = ctx.addresses;
  return { status: 200, body: { status: 'OK', url: `${scheme}://${downloadHost}/${token}` } };
}

export function getUploadServer(call: ApiCall): ApiAnswer {
  const { ctx } = call;
  const node = ctx.nextNode % ctx.addresses.uploadHosts.length;
  ctx.nextNode++;
  let id = newUploadId();
  while (ctx.uploads.has(id)) id = newUploadId();
  ctx.uploads.set(id, {
    id,
    node,
    expiresAt: ctx.clock.now() + ctx.clock.scaled(ctx.opts.uploadIdLifetimeMs),
    state: 'issued',
    links: [],
    incoming: 0,
    pleaseWaitLeft: 0,
  });
  // A bare host and no "status" key, as the real service answers.
  return { status: 200, body: { url: ctx.addresses.uploadHosts[node], id } };
}
