/**
 * The /v1 transport (fichier-api.md §2): POST + JSON (GET too for get_upload_server), the JSON
 * Content-Type check (#24), empty body = {}, Bearer auth (#247 / #93, #200 for a free key),
 * flood limits, then the endpoint handler; every refusal is a KO envelope.
 */
import { waitMs } from '../wait.js';
import { timingSafeEqual } from 'node:crypto';
import type { SimContext } from '../context.js';
import { answerJson, type Exchange } from '../exchange.js';
import { MSG } from '../messages.js';
import { fileChattr, fileCp, fileInfoCgi, fileMv, fileRename, fileRm } from './files.js';
import { folderMkdir, folderMv, folderRm } from './folders.js';
import { fileLs, folderLs } from './listing.js';
import { remoteInfo, remoteLs, remoteRequest } from './remote.js';
import { getToken, getUploadServer } from './transfer.js';
import { ApiError, type ApiAnswer, type ApiCall, type ApiHandler } from './types.js';
import { userInfo } from './user.js';

interface Route {
  handler: ApiHandler;
  methods: string[];
  /** get_upload_server works without a key (CSU got a node with no key at all). */
  authOptional?: boolean;
}

const ROUTES: Record<string, Route> = {
  'user/info.cgi': { handler: userInfo, methods: ['POST'] },
  'folder/ls.cgi': { handler: folderLs, methods: ['POST'] },
  'file/ls.cgi': { handler: fileLs, methods: ['POST'] },
  'file/info.cgi': { handler: fileInfoCgi, methods: ['POST'] },
  'download/get_token.cgi': { handler: getToken, methods: ['POST'] },
  'upload/get_upload_server.cgi': { handler: getUploadServer, methods: ['GET', 'POST'], authOptional: true },
  'file/mv.cgi': { handler: fileMv, methods: ['POST'] },
  'file/cp.cgi': { handler: fileCp, methods: ['POST'] },
  'file/rename.cgi': { handler: fileRename, methods: ['POST'] },
  'file/rm.cgi': { handler: fileRm, methods: ['POST'] },
  'file/chattr.cgi': { handler: fileChattr, methods: ['POST'] },
  'folder/mkdir.cgi': { handler: folderMkdir, methods: ['POST'] },
  'folder/rm.cgi': { handler: folderRm, methods: ['POST'] },
  'folder/mv.cgi': { handler: folderMv, methods: ['POST'] },
  'remote/request.cgi': { handler: remoteRequest, methods: ['POST'] },
  'remote/ls.cgi': { handler: remoteLs, methods: ['POST'] },
  'remote/info.cgi': { handler: remoteInfo, methods: ['POST'] },
};

const MAX_BODY = 1 << 20;

/** The stats name of an API path ('/v1/folder/ls.cgi' -> 'folder/ls.cgi'). */
export function apiEndpointOf(pathname: string): string {
  const ep = pathname.replace(/^\/v1\//, '');
  return ROUTES[ep] ? ep : 'unknown';
}

function readBody(x: Exchange): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    x.req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ApiError(413, 'Request body too large #27'));
        x.req.destroy();
        return;
      }
      chunks.push(c);
    });
    x.req.on('end', () => resolve(Buffer.concat(chunks)));
    x.req.on('error', reject);
  });
}

/** The body as the request log keeps it: file passwords are replaced, their presence kept. */
function redacted(body: Record<string, unknown>): Record<string, unknown> {
  if (!('pass' in body) && !('dpass' in body)) return body;
  const copy: Record<string, unknown> = { ...body };
  for (const k of ['pass', 'dpass']) if (k in copy && copy[k] !== '') copy[k] = '<redacted>';
  return copy;
}

function sameKey(given: string, expected: string | undefined): boolean {
  if (!expected) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

type Auth = { kind: 'premium' } | { kind: 'free' } | { kind: 'none' } | { kind: 'bad' };

function authenticate(ctx: SimContext, header: string | undefined): Auth {
  if (header === undefined) return { kind: 'none' };
  const m = /^Bearer\s+(\S+)\s*$/.exec(header);
  if (!m) return { kind: 'bad' };
  if (sameKey(m[1]!, ctx.opts.apiKey)) return { kind: 'premium' };
  if (sameKey(m[1]!, ctx.opts.freeApiKey)) return { kind: 'free' };
  return { kind: 'bad' };
}

export async function handleApi(x: Exchange): Promise<void> {
  const ip = x.req.socket.remoteAddress ?? '?';
  x.res.once('finish', () => x.ctx.limits.noteAnswer(ip, x.res.statusCode));
  // A real round trip to the API host (option apiLatencyMs): real time, not scaled.
  if (x.ctx.opts.apiLatencyMs > 0) await waitMs(x.ctx.opts.apiLatencyMs);
  await answerApi(x, ip);
}

async function answerApi(x: Exchange, ip: string): Promise<void> {
  const { ctx } = x;
  let pretty = false;
  try {
    const caller = `${ip}:${x.req.socket.remotePort ?? '?'}`;
    const ban = ctx.limits.banned(ip, x.url.pathname.replace(/^\/v1\//, ''), caller);
    if (ban) {
      x.req.resume();
      answerJson(x, ban.status, { status: 'KO', message: ban.message }, false, 'flood');
      return;
    }
    const ep = x.url.pathname.replace(/^\/v1\//, '');
    const route = ROUTES[ep];
    if (!x.url.pathname.startsWith('/v1/') || !route) throw new ApiError(404, MSG.unknownEndpoint);
    const method = x.req.method ?? 'GET';
    if (!route.methods.includes(method)) throw new ApiError(405, MSG.methodNotAllowed);

    // The JSON Content-Type is required even on a body-less GET (CSU, rclone comments).
    const ctype = x.req.headers['content-type'] ?? '';
    if (!/^application\/json\s*(;|$)/i.test(ctype)) {
      x.req.resume();
      throw new ApiError(ctx.opts.contentTypeStatus, MSG.contentType);
    }

    const raw = await readBody(x);
    let body: Record<string, unknown> = {};
    if (method === 'POST' && raw.length > 0 && raw.toString('utf8').trim() !== '') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw.toString('utf8'));
      } catch {
        throw new ApiError(400, MSG.badJson);
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ApiError(400, MSG.badJson);
      body = parsed as Record<string, unknown>;
    }
    x.body = redacted(body);
    pretty = body.pretty === 1 || body.pretty === '1';

    const auth = authenticate(ctx, x.req.headers.authorization);
    if (auth.kind === 'bad' || (auth.kind === 'none' && !route.authOptional)) {
      const msg = ctx.opts.badKeyMessage === 'no-such-user' ? MSG.noSuchUser : MSG.notAuthenticated;
      throw new ApiError(ctx.opts.badKeyStatus, msg);
    }
    if (auth.kind === 'free') throw new ApiError(ctx.opts.freeKeyStatus, MSG.notCustomer);
    const lock = auth.kind === 'premium' ? ctx.faults.current.accountLock : undefined;
    if (lock) throw new ApiError(403, lock === 'owner' ? MSG.ownerLocked : MSG.passwordLocked);

    const authenticated = auth.kind === 'premium';
    const who = authenticated ? `key:${ctx.opts.apiKey}` : `ip:${ip}`;
    const flood = ctx.limits.check(who, ep, body, caller);
    if (flood) {
      answerJson(x, flood.status, { status: 'KO', message: flood.message }, pretty, 'flood');
      return;
    }

    const call: ApiCall = { ctx, body, who, authenticated };
    const answer: ApiAnswer = await route.handler(call);
    answerJson(x, answer.status, answer.body, pretty);
  } catch (err) {
    if (err instanceof ApiError) {
      answerJson(x, err.httpStatus, { status: 'KO', message: err.message }, pretty);
      return;
    }
    throw err;
  }
}
