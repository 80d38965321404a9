/**
 * `/s/<id>`: share links (src/links/shares.ts), without WebDAV credentials.
 *
 * - `/s/<id>`: the file's page (name, size, download, preview), or the folder's index;
 * - `/s/<id>/file`: the shared file itself (GET/HEAD, ranges);
 * - `/s/<id>/f/<name>`: a file directly inside a shared folder.
 *
 * The link is looked up in state.db FIRST: an unknown or malformed id (a tampered link) gets 403,
 * an expired, revoked or used-up one 410, before any drive call, so neither costs an API call.
 * A download is counted when a GET's answer hands out the file's first byte (the whole file, a
 * range from 0, or a redirect), decided after the Range header was read as the answer will be: a
 * player's later range requests for the same viewing do not count again.
 * With a password, the form sets a cookie signed with the account's link secret, valid for that
 * link only and for a day (the expiry is signed too); without it the files answer 403. Guesses are
 * throttled like WebDAV logins (429 + Retry-After once a budget is spent).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DriveError, type Drive } from '../drive/types.js';
import type { ShareLink, ShareStore } from '../links/shares.js';
import { signLink, verifyLink } from '../links/signature.js';
import { LoginThrottle } from '../webdav/auth/login-throttle.js';
import type { Logger } from '../webdav/handler.js';
import { shortId } from '../links/shares.js';
import type { PublicRoute } from './routes.js';
import { answerFileById } from './serve-file.js';
import { filePage, folderPage, gonePage, passwordPage, type Page } from './share-page.js';

export const SHARE_PREFIX = '/s/';

export interface ShareRouteOptions {
  drive: Drive;
  shares: ShareStore;
  secret: Buffer;
  downloads: 'stream' | 'redirect';
  /** Whether the public URL is https (the password cookie is then Secure). */
  secure: boolean;
  logger?: Logger;
  /**
   * How many password guesses a link gets (per address and link, per link, per address, in all):
   * the WebDAV login throttle's budgets and escalating blocks, with the link id as the name. Its
   * own instance by default, so guessing at a link never slows WebDAV logins down.
   */
  throttle?: LoginThrottle;
  /** Clock for the password cookie's expiry (ms since the epoch); tests move it. */
  now?: () => number;
}

/** How long the right password opens its link in that browser (the cookie's signed expiry). */
const PASS_COOKIE_MS = 86_400_000;

const GONE: Record<string, string> = {
  expired: 'It has expired.',
  revoked: 'It was revoked by its owner.',
  exhausted: 'It has been downloaded as many times as allowed.',
};

export function shareRoute(given: ShareRouteOptions): PublicRoute {
  const options: Required<Pick<ShareRouteOptions, 'throttle' | 'now'>> & ShareRouteOptions = { ...given, throttle: given.throttle ?? new LoginThrottle(), now: given.now ?? Date.now };
  const { shares, drive } = options;
  return {
    prefix: SHARE_PREFIX,
    async handle(req, res, rest) {
      const [id = '', ...subParts] = rest.split('/');
      const sub = subParts.join('/');
      const method = req.method ?? 'GET';
      const link = shares.get(id);
      if (!link) return sendText(res, 403, 'forbidden: this link is not valid');
      const state = shares.state(link);
      if (state !== 'active') return sendPage(res, 410, gonePage(GONE[state]), method);
      if (link.hasPassword && !hasPassCookie(req, options.secret, id, options.now())) {
        if (sub === '' && method === 'POST') return checkPassword(req, res, options, id);
        if (sub === '' && (method === 'GET' || method === 'HEAD')) return sendPage(res, 200, passwordPage({ action: id, wrong: false }), method);
        return sendText(res, 403, 'forbidden: this link needs its password (open the link in a browser)');
      }
      if (method !== 'GET' && method !== 'HEAD') return sendText(res, 405, 'only GET and HEAD are allowed here', { Allow: 'GET, HEAD' });
      try {
        if (link.kind === 'file') {
          if (sub === '') return await fileLanding(res, options, link, method);
          if (sub === 'file') return await download(req, res, options, link, link.fileId!);
          return sendText(res, 404, 'not found');
        }
        if (sub === '') return await folderLanding(res, options, link, method);
        const name = sub.startsWith('f/') ? safeName(sub.slice(2)) : undefined;
        if (name === undefined) return sendText(res, 404, 'not found');
        const path = link.path === '/' ? `/${name}` : `${link.path}/${name}`;
        const fileId = await drive.fileId!(path);
        return await download(req, res, options, link, fileId);
      } catch (error) {
        if (res.headersSent) return void res.destroy();
        if (error instanceof DriveError && (error.code === 'not-found' || error.code === 'is-a-folder' || error.code === 'not-a-folder' || error.code === 'conflict')) {
          return sendPage(res, 404, gonePage('The shared file is no longer on the account.'), method);
        }
        if (error instanceof DriveError && error.code === 'unavailable') return sendText(res, 503, '1fichier is not answering for now; try again later', { 'Retry-After': '30' });
        throw error;
      }
    },
  };
}

async function fileLanding(res: ServerResponse, options: ShareRouteOptions, link: ShareLink, method: string): Promise<void> {
  const entry = await options.drive.statById!(link.fileId!);
  const nonce = randomBytes(16).toString('base64');
  const page = filePage({ name: entry.name, size: entry.size, contentType: entry.contentType, fileHref: `${link.id}/file`, expiresAt: link.expiresAt, nonce });
  sendPage(res, 200, page, method);
}

async function folderLanding(res: ServerResponse, options: ShareRouteOptions, link: ShareLink, method: string): Promise<void> {
  const children = await options.drive.list(link.path);
  const files = children
    .filter((c) => c.kind === 'file')
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((c) => ({ name: c.name, size: c.size, href: `${link.id}/f/${encodeURIComponent(c.name)}` }));
  sendPage(res, 200, folderPage({ name: link.name, files }), method);
}

async function download(req: IncomingMessage, res: ServerResponse, options: ShareRouteOptions, link: ShareLink, fileId: string): Promise<void> {
  const range = req.headers.range;
  options.logger?.info('audit', { event: 'share-download', id: shortId(link.id), path: link.path, client: req.socket.remoteAddress ?? 'unknown', method: req.method, ...(range ? { range } : {}) });
  // A download counts when the answer hands out the file's first byte, whatever the Range header
  // looked like (a suffix range, several ranges or a stale If-Range are answered with the whole
  // file): serve-file decides that once the range is known, and counting stays atomic in state.db.
  await answerFileById(req, res, {
    drive: options.drive,
    id: fileId,
    downloads: options.downloads,
    logger: options.logger,
    admit: {
      download: (fromStart) => !fromStart || options.shares.countDownload(link.id),
      refuse: (answer) => sendPage(answer, 410, gonePage(GONE.exhausted), req.method ?? 'GET'),
    },
  });
}

/** A file name from the URL: one decoded segment, never a dot segment or a path. */
function safeName(encoded: string): string | undefined {
  let name: string;
  try {
    name = decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) return undefined;
  return name;
}

const cookieName = (id: string) => `fdshare_${id}`;
const cookiePayload = (id: string, until: number) => `share-password:${id}:${until}`;

/**
 * Whether the request carries this link's password cookie, still valid at `now`: `<until>.<sig>`,
 * the signature covering the link id and the expiry (seconds since the epoch), so neither can be
 * changed and a copied cookie stops working when it expires, whatever the browser keeps.
 */
function hasPassCookie(req: IncomingMessage, secret: Buffer, id: string, now: number): boolean {
  const header = req.headers.cookie ?? '';
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || part.slice(0, eq).trim() !== cookieName(id)) continue;
    const match = /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(part.slice(eq + 1).trim());
    if (match && Number(match[1]) * 1000 > now && verifyLink(secret, cookiePayload(id, Number(match[1])), match[2]!)) return true;
  }
  return false;
}

async function checkPassword(req: IncomingMessage, res: ServerResponse, options: ShareRouteOptions & { throttle: LoginThrottle; now: () => number }, id: string): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 4096) return sendText(res, 413, 'request body too large', { Connection: 'close' });
    chunks.push(chunk);
  }
  const password = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('password') ?? '';
  const client = req.socket.remoteAddress ?? 'unknown';
  // Budgets first: a refused guess is not even hashed (scrypt is the expensive part).
  const admission = options.throttle.admit(client, id, password);
  if (!admission.ok) return refuseGuess(res, options, id, client, admission.retryAfterMs);
  if (!(await options.shares.checkPassword(id, password))) {
    const block = options.throttle.fail(admission.ticket);
    if (block > 0) return refuseGuess(res, options, id, client, block);
    options.logger?.warn('share: wrong password', { id: shortId(id), client });
    return sendPage(res, 403, passwordPage({ action: id, wrong: true }), 'POST');
  }
  options.throttle.succeed(admission.ticket);
  const until = Math.floor((options.now() + PASS_COOKIE_MS) / 1000);
  const cookie = `${cookieName(id)}=${until}.${signLink(options.secret, cookiePayload(id, until))}; HttpOnly; SameSite=Lax; Max-Age=${PASS_COOKIE_MS / 1000}${options.secure ? '; Secure' : ''}`;
  res.writeHead(303, { Location: id, 'Set-Cookie': cookie, 'Cache-Control': 'no-store', 'Content-Length': 0 }).end();
}

function refuseGuess(res: ServerResponse, options: ShareRouteOptions, id: string, client: string, waitMs: number): void {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  options.logger?.warn('share: too many wrong passwords; guesses refused for now', { id: shortId(id), client, retryAfterSeconds: seconds });
  sendPage(res, 429, passwordPage({ action: id, wrong: true, waitSeconds: seconds }), 'POST', { 'Retry-After': String(seconds) });
}

function sendPage(res: ServerResponse, status: number, page: Page, method: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...extra,
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': Buffer.byteLength(page.html),
    'Content-Security-Policy': page.csp,
    'Cache-Control': 'no-store',
    // The link id is the grant: never hand it to another site through Referer.
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
  });
  if (method === 'HEAD') res.end();
  else res.end(page.html);
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const body = `${text}\n`;
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer', 'Content-Length': Buffer.byteLength(body) }).end(body);
}
