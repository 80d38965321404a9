/**
 * Remote upload execution. The simulator must never reach beyond this machine, so only loopback
 * http(s) URLs are really fetched (into the account, spooled and hashed like an upload); any
 * other URL gets a failed result with a clear message and no network traffic.
 */
import { get as httpGet, type IncomingMessage } from 'node:http';
import { get as httpsGet } from 'node:https';
import { basename } from 'node:path';
import { contentTypeOf, visibleAtFor, type RemoteJob, type RemoteResult, type SimContext } from './context.js';
import { sanitiseUploadName } from './names.js';
import { spoolToDisk } from './spool.js';

export function isLoopbackUrl(raw: string): boolean {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return false;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  const h = u.hostname.replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

function fetchLoopback(url: string, headers: Record<string, string>): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const getter = u.protocol === 'https:' ? httpsGet : httpGet;
    const req = getter(u, { headers, timeout: 30_000, rejectUnauthorized: false }, resolve);
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

function nameFrom(res: IncomingMessage, url: string): string {
  const cd = res.headers['content-disposition'];
  if (typeof cd === 'string') {
    const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(cd);
    if (star) {
      try {
        return decodeURIComponent(star[1]!.trim());
      } catch {
        /* fall through */
      }
    }
    const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(cd);
    if (plain) return plain[1]!.trim();
  }
  const path = new URL(url).pathname;
  let leaf = basename(path);
  try {
    leaf = decodeURIComponent(leaf);
  } catch {
    /* keep raw */
  }
  return leaf || 'index.html';
}

async function fetchOne(ctx: SimContext, job: RemoteJob, url: string): Promise<RemoteResult> {
  if (!isLoopbackUrl(url)) {
    return { status: 'KO', url, download_link: '', message: 'simulator: only loopback http(s) URLs are fetched; this URL was not contacted' };
  }
  try {
    const res = await fetchLoopback(url, job.headers);
    if ((res.statusCode ?? 0) < 200 || (res.statusCode ?? 0) >= 300) {
      res.resume();
      return { status: 'KO', url, download_link: '', message: `HTTP ${res.statusCode} from the remote server` };
    }
    const content = await spoolToDisk(res, ctx.dataDir, (n) => (ctx.stats.bytesReceived += n), ctx.opts.maxFileSize);
    const name = sanitiseUploadName(nameFrom(res, url), ctx.opts.maxNameLength);
    const now = ctx.clock.now();
    const folderId = ctx.store.folder(job.folderId) ? job.folderId : 0;
    const rec = ctx.store.addFile({ name, folderId, content, contentType: contentTypeOf(name), now, visibleAt: visibleAtFor(ctx, now) });
    return { status: 'OK', url, download_link: rec.url, message: '' };
  } catch (err) {
    return { status: 'KO', url, download_link: '', message: `fetch failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

export function runRemoteJob(ctx: SimContext, job: RemoteJob): void {
  const work = (async () => {
    for (const url of job.urls) job.results.push(await fetchOne(ctx, job, url));
    job.executedAt = ctx.clock.now();
  })();
  ctx.background.add(work);
  void work.finally(() => ctx.background.delete(work));
}
