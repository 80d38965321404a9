/**
 * An upload node (fichier-api.md §4.6 steps 2 and 3): `POST /upload.cgi?id=<id>` takes a
 * multipart body with `file[]` parts (and `did`), streams each part to disk while hashing it,
 * and answers 302 to a *relative* `/end.pl?xid=<id>`; `GET /end.pl?xid=<id>` reports the stored
 * files as JSON (header `JSON: 1`) or as an HTML table, repeatedly, until the report expires.
 * Ids only work on the node that issued them, so a client that posts to the wrong host fails.
 */
import type { IncomingMessage } from 'node:http';
import { Busboy, type BusboyHeaders, type BusboyInstance } from '@fastify/busboy';
import type { DiskContent } from './content.js';
import { contentTypeOf, visibleAtFor, type SimContext, type UploadLink, type UploadSession } from './context.js';
import { answerHtml, answerJson, type Exchange } from './exchange.js';
import { bloc2Page, escapeHtml, page } from './html.js';
import { nameProblem, sanitiseUploadName } from './names.js';
import { SpoolLimitError, spoolToDisk } from './spool.js';

export const NO_FILE = "Pas de fichier trouvé dans l'envoi";
export const CANNOT_OPEN = 'Ne peut ouvrir le fichier destination';
export const BAD_ID = "Identifiant d'envoi inconnu ou déjà utilisé";
export const BAD_NAME = 'Nom de fichier invalide';
export const TOO_BIG = 'Fichier trop volumineux';
export const NEED_LENGTH = 'Content-Length requis';
export const UNKNOWN_REPORT = 'Rapport d\u2019envoi introuvable ou expiré';
export const PLEASE_WAIT = 'Veuillez patienter, vérification du fichier en cours (Please wait)';

export function uploadEndpointOf(pathname: string): string {
  if (pathname === '/upload.cgi') return 'upload.cgi';
  if (pathname === '/end.pl') return 'end.pl';
  return 'unknown';
}

function drain(req: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    if (req.readableEnded) return resolve();
    req.on('end', resolve);
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.resume();
  });
}

function isAccountKey(ctx: SimContext, header: string | undefined): boolean {
  const m = header ? /^Bearer\s+(\S+)\s*$/.exec(header) : null;
  return m !== null && m[1] === ctx.opts.apiKey;
}

interface Part {
  filename: string;
  content: DiskContent;
}

/** Parses the multipart body, spooling every `file[]` part; resolves once the whole body is read. */
function receiveParts(x: Exchange): Promise<{ parts: Part[]; fields: Record<string, string> }> {
  const { ctx, req } = x;
  return new Promise((resolve, reject) => {
    let bb: BusboyInstance;
    try {
      // Plain `filename=` parameters with non-ASCII bytes are read as UTF-8, as browsers send them.
      bb = new Busboy({ headers: req.headers as BusboyHeaders, preservePath: true, limits: { files: 500, fieldSize: 1 << 16 } });
    } catch (err) {
      reject(err);
      return;
    }
    const fields: Record<string, string> = {};
    const pending: Promise<Part | undefined>[] = [];
    const openStreams = new Set<NodeJS.ReadableStream & { destroy(err?: Error): void }>();
    bb.on('field', (name, value) => {
      fields[name] = value;
    });
    bb.on('file', (name, stream, filename) => {
      if (name !== 'file[]') {
        stream.resume();
        return;
      }
      openStreams.add(stream);
      stream.once('close', () => openStreams.delete(stream));
      const spooled = spoolToDisk(stream, ctx.dataDir, () => undefined, ctx.opts.maxFileSize)
        .then((content) => ({ filename: filename ?? '', content }))
        .catch((err: unknown) => {
          stream.resume();
          throw err;
        });
      spooled.catch(() => undefined);
      pending.push(spooled);
    });
    bb.on('error', (err) => reject(err));
    bb.on('finish', () => {
      Promise.allSettled(pending).then((results) => {
        const parts: Part[] = [];
        let failure: unknown;
        for (const r of results) {
          if (r.status === 'fulfilled' && r.value) parts.push(r.value);
          else if (r.status === 'rejected') failure = r.reason;
        }
        if (failure) {
          for (const p of parts) p.content.release();
          reject(failure);
        } else resolve({ parts, fields });
      }, reject);
    });
    req.on('data', (c: Buffer) => (ctx.stats.bytesReceived += c.length));
    // A client that goes away mid-body: fail the parts in flight so their temp files are removed.
    const abort = (): void => {
      if (req.complete) return;
      const err = new Error('client went away during the upload');
      bb.destroy(err);
      for (const s of openStreams) s.destroy(err);
      reject(err);
    };
    req.on('aborted', abort);
    req.on('close', abort);
    req.pipe(bb);
  });
}

async function handleUpload(x: Exchange, nodeIndex: number): Promise<void> {
  const { ctx, req } = x;
  if (req.method !== 'POST') {
    await drain(req);
    answerHtml(x, 405, bloc2Page(NO_FILE), NO_FILE);
    return;
  }
  // nginx in front of the node wants the whole length up front: chunked bodies are refused.
  if (req.headers['content-length'] === undefined) {
    answerHtml(x, ctx.opts.chunkedUploadStatus, bloc2Page(NEED_LENGTH), NEED_LENGTH, { Connection: 'close' });
    req.resume();
    return;
  }
  const id = x.url.searchParams.get('id') ?? '';
  const session = ctx.uploads.get(id);
  const now = ctx.clock.now();
  if (!session || session.node !== nodeIndex || session.state !== 'issued' || now >= session.expiresAt) {
    await drain(req);
    answerHtml(x, 200, bloc2Page(BAD_ID), BAD_ID);
    return;
  }
  session.state = 'receiving';
  if (ctx.faults.take('uploadRefusals')) {
    await drain(req);
    ctx.uploads.delete(id);
    answerHtml(x, 200, bloc2Page(CANNOT_OPEN), CANNOT_OPEN);
    return;
  }

  let received: { parts: Part[]; fields: Record<string, string> };
  try {
    received = await receiveParts(x);
  } catch (err) {
    ctx.uploads.delete(id);
    await drain(req);
    const tooBig = err instanceof SpoolLimitError;
    answerHtml(x, 200, bloc2Page(tooBig ? TOO_BIG : NO_FILE), tooBig ? TOO_BIG : NO_FILE);
    return;
  }

  const fail = (message: string): void => {
    for (const p of received.parts) p.content.release();
    ctx.uploads.delete(id);
    answerHtml(x, 200, bloc2Page(message), message);
  };
  let parts = received.parts;
  if (ctx.opts.refuseEmptyUploads) {
    for (const p of parts) if (p.content.size === 0) p.content.release();
    parts = parts.filter((p) => p.content.size > 0);
    received.parts = parts;
  }
  if (parts.length === 0) return fail(NO_FILE);
  if (ctx.opts.uploadNameMode === 'reject' && parts.some((p) => nameProblem(p.filename, ctx.opts.maxNameLength))) return fail(BAD_NAME);

  const owned = isAccountKey(ctx, req.headers.authorization);
  const didRaw = received.fields.did;
  const did = didRaw !== undefined && /^\d+$/.test(didRaw.trim()) ? Number(didRaw.trim()) : 0;
  // An invalid did silently puts the file in the root (api.html).
  const folderId = owned && ctx.store.folder(did) ? did : 0;
  const stored = ctx.clock.now();
  const links: UploadLink[] = parts.map((p) => {
    const name = ctx.opts.uploadNameMode === 'sanitise' ? sanitiseUploadName(p.filename, ctx.opts.maxNameLength) : p.filename || 'fichier';
    const rec = ctx.store.addFile({
      name,
      folderId,
      content: p.content,
      contentType: contentTypeOf(name),
      now: stored,
      visibleAt: visibleAtFor(ctx, stored),
      owner: owned ? 'account' : 'anonymous',
    });
    return {
      fileId: rec.id,
      download: rec.url,
      filename: rec.name,
      size: rec.content.size,
      whirlpool: rec.content.whirlpool,
      remove: owned ? '' : `https://1fichier.com/remove/${rec.id}/${rec.removeCode}`,
    };
  });
  ctx.stats.uploads += links.length;
  session.state = 'done';
  session.links = links;
  session.expiresAt = stored + ctx.clock.scaled(ctx.opts.endPlLifetimeMs);
  session.pleaseWaitLeft = ctx.faults.current.endPlPleaseWait ?? 0;
  const location = `/end.pl?xid=${id}`;
  answerHtml(x, 302, page('Envoi terminé', `<div class="bloc2">Veuillez patienter... <a href="${location}">${escapeHtml(location)}</a></div>`), undefined, { Location: location });
}

function wantsJson(x: Exchange): boolean {
  const h = x.req.headers.json;
  const q = x.url.searchParams.get('JSON') ?? x.url.searchParams.get('json');
  return h === '1' || q === '1';
}

function reportTable(session: UploadSession): string {
  const rows = session.links
    .map((l) => `<tr><td>${escapeHtml(l.filename)}</td><td>${l.size}</td><td><a href="${escapeHtml(l.download)}">${escapeHtml(l.download)}</a></td><td>${escapeHtml(l.remove)}</td></tr>`)
    .join('\n');
  return page('Envoi terminé', `<table class="premium">\n<tr><th>Nom du fichier</th><th>Taille</th><th>Lien de téléchargement</th><th>Lien de suppression</th></tr>\n${rows}\n</table>`);
}

function handleEndPl(x: Exchange, nodeIndex: number): void {
  const { ctx } = x;
  x.req.resume();
  const id = x.url.searchParams.get('xid') ?? '';
  const session = ctx.uploads.get(id);
  const now = ctx.clock.now();
  if (!session || session.node !== nodeIndex || (session.state === 'done' && now >= session.expiresAt) || session.state === 'issued') {
    answerHtml(x, ctx.opts.endPlUnknownStatus, bloc2Page(UNKNOWN_REPORT), UNKNOWN_REPORT);
    return;
  }
  if (session.state === 'receiving' || session.pleaseWaitLeft > 0) {
    if (session.state === 'done') session.pleaseWaitLeft--;
    answerHtml(x, 200, bloc2Page(PLEASE_WAIT), PLEASE_WAIT);
    return;
  }
  if (!wantsJson(x)) {
    answerHtml(x, 200, reportTable(session));
    return;
  }
  const htmlExts = ctx.faults.current.endPlHtmlExtensions ?? [];
  if (session.links.some((l) => htmlExts.some((e) => l.filename.toLowerCase().endsWith(e)))) {
    answerHtml(x, 200, reportTable(session), 'html instead of JSON (fault)');
    return;
  }
  const corrupt = (whirlpool: string) =>
    ctx.faults.take('endPlWrongWhirlpool') ? whirlpool.replace(/^./, (c) => (c === '0' ? '1' : '0')) : whirlpool;
  const links = ctx.faults.take('endPlNoLinks')
    ? []
    : session.links.map((l) => ({ download: l.download, filename: l.filename, size: String(l.size), whirlpool: corrupt(l.whirlpool), remove: l.remove }));
  answerJson(x, 200, { incoming: session.incoming, links });
}

export async function handleUploadNode(x: Exchange, nodeIndex: number): Promise<void> {
  if (x.endpoint === 'upload.cgi') return handleUpload(x, nodeIndex);
  if (x.endpoint === 'end.pl') return handleEndPl(x, nodeIndex);
  x.req.resume();
  answerHtml(x, 404, page('404 Not Found', '<center><h1>404 Not Found</h1></center><hr><center>nginx</center>'));
}
