/**
 * The direct-download (CDN) host (fichier-api.md §4.5): `GET /<token>` serves the file with
 * Range support (206 + `Content-Range: bytes a-b/TOTAL`, 416 + `bytes *\/TOTAL`) and an RFC 5987
 * `Content-Disposition`. A token lives 5 minutes (scaled); with `single` it serves one GET. A dead
 * token answers an HTML page, never JSON nor the file. Concurrent downloads are capped per account.
 */
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { create as contentDisposition } from 'content-disposition';
import parseRange from 'range-parser';
import { answerHtml, type Exchange } from './exchange.js';
import { waitMs } from './wait.js';
import { bloc2Page } from './html.js';

export const DEAD_LINK = 'Lien de téléchargement expiré ou invalide, veuillez générer un nouveau lien';
export const FILE_GONE = 'Le fichier demandé n\u2019existe pas ou a été supprimé';
export const TOO_MANY = 'Votre adresse IP ouvre trop de connexions vers le serveur';

export async function handleDownload(x: Exchange): Promise<void> {
  const { ctx, req, res } = x;
  x.req.resume();
  ctx.stats.downloadRequests++;
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') {
    answerHtml(x, 405, bloc2Page(DEAD_LINK), 'method not allowed');
    return;
  }
  let key = x.url.pathname.slice(1);
  try {
    key = decodeURIComponent(key);
  } catch {
    // A malformed escape is simply an unknown token.
  }
  const token = ctx.tokens.get(key);
  const now = ctx.clock.now();
  if (!token || now >= token.expiresAt || (token.single && token.used)) {
    const why = !token ? 'unknown token' : now >= token.expiresAt ? 'expired token' : 'spent single-use token';
    answerHtml(x, ctx.opts.deadTokenStatus, bloc2Page(DEAD_LINK), why);
    return;
  }
  const file = ctx.store.file(token.fileId);
  if (!file) {
    answerHtml(x, 404, bloc2Page(FILE_GONE), 'file deleted');
    return;
  }
  const active = ctx.activeDownloads.get(token.owner) ?? 0;
  if (active >= ctx.opts.maxConcurrentDownloads) {
    answerHtml(x, 403, bloc2Page(TOO_MANY), 'too many concurrent downloads');
    return;
  }
  if (method === 'GET') token.used = true;

  const size = file.content.size;
  let start = 0;
  let end = size - 1;
  let status = 200;
  const rangeHeader = req.headers.range;
  if (rangeHeader !== undefined) {
    const ranges = parseRange(size, rangeHeader, { combine: true });
    if (ranges === -1) {
      answerHtml(x, 416, bloc2Page('Range Not Satisfiable'), 'range not satisfiable', { 'Content-Range': `bytes */${size}` });
      return;
    }
    // Malformed or multi-range requests get the whole file (RFC 9110 lets a server ignore Range).
    if (ranges !== -2 && ranges.type === 'bytes' && ranges.length === 1) {
      start = ranges[0]!.start;
      end = ranges[0]!.end;
      status = 206;
    }
  }
  const length = Math.max(0, end - start + 1);
  const headers: Record<string, string | number> = {
    'Content-Type': file.contentType,
    'Content-Length': length,
    'Accept-Ranges': 'bytes',
    'Content-Disposition': contentDisposition(file.name, { type: 'attachment' }),
    Server: 'nginx',
  };
  if (status === 206) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  // The CDN's time to first byte (option downloadTtfbMs): real time, not scaled.
  if (ctx.opts.downloadTtfbMs > 0) await waitMs(ctx.opts.downloadTtfbMs);
  if (res.destroyed) return;
  x.outcome = 'data';
  res.writeHead(status, headers);
  if (method === 'HEAD' || length === 0) {
    res.end();
    return;
  }

  ctx.activeDownloads.set(token.owner, active + 1);
  ctx.stats.downloadStarted();
  res.once('close', () => {
    ctx.activeDownloads.set(token.owner, Math.max(0, (ctx.activeDownloads.get(token.owner) ?? 1) - 1));
    ctx.stats.downloadEnded();
  });
  const cutAfter = ctx.faults.takeCut();
  let sent = 0;
  let cutting = false;
  // Kill the connection only once the promised bytes have left our buffers, so the client sees
  // exactly `cutAfter` bytes and then a broken connection.
  const destroyWhenFlushed = (tries = 0): void => {
    const pending = res.writableLength + (res.socket?.writableLength ?? 0);
    if (pending === 0 || tries > 2000) res.destroy();
    else setTimeout(() => destroyWhenFlushed(tries + 1), 1);
  };
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (cutting) {
        done();
        return;
      }
      if (cutAfter !== undefined && sent + chunk.length >= cutAfter) {
        const head = chunk.subarray(0, Math.max(0, cutAfter - sent));
        sent += head.length;
        ctx.stats.bytesServed += head.length;
        x.outcome = 'cut';
        cutting = true;
        done(null, head);
        setImmediate(() => destroyWhenFlushed());
        return;
      }
      sent += chunk.length;
      ctx.stats.bytesServed += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      // After a cut the body must never end normally: leave the stream open until it is destroyed.
      if (!cutting) done();
    },
  });
  try {
    const rate = ctx.opts.downloadBytesPerSecond;
    const line = ctx.opts.downloadLineBytesPerSecond;
    const stages: Transform[] = [];
    if (rate > 0) stages.push(paced(rate));
    if (line > 0) stages.push(sharedLine(line, ctx.line));
    await pipeline([file.content.read(start, end), ...stages, meter, res]);
  } catch {
    // The client went away or the cut fault fired: nothing to answer any more.
    if (!res.destroyed) res.destroy();
  }
}

/**
 * Caps all download connections together at `bytesPerSecond` (option downloadLineBytesPerSecond):
 * each slice takes its turn on one shared line, so two connections get half the rate each, as on
 * a client's own saturated line.
 */
function sharedLine(bytesPerSecond: number, line: { freeAt: number }): Transform {
  return new Transform({
    async transform(chunk: Buffer, _enc, done) {
      for (let at = 0; at < chunk.length; at += PACE_SLICE) {
        const slice = chunk.subarray(at, at + PACE_SLICE);
        line.freeAt = Math.max(Date.now(), line.freeAt) + (slice.length / bytesPerSecond) * 1000;
        const wait = line.freeAt - Date.now();
        if (wait > 0) await waitMs(wait);
        this.push(slice);
      }
      done();
    },
  });
}

/** Slices of at most this many bytes, so a per-connection cap is smooth rather than bursty. */
const PACE_SLICE = 64 * 1024;

/**
 * Caps one connection at `bytesPerSecond` (option downloadBytesPerSecond): each slice leaves no
 * earlier than the cap allows since the transfer began, as a congested real link would deliver it.
 */
function paced(bytesPerSecond: number): Transform {
  const started = Date.now();
  let sent = 0;
  return new Transform({
    async transform(chunk: Buffer, _enc, done) {
      for (let at = 0; at < chunk.length; at += PACE_SLICE) {
        const slice = chunk.subarray(at, at + PACE_SLICE);
        const due = started + ((sent + slice.length) / bytesPerSecond) * 1000;
        const wait = due - Date.now();
        if (wait > 0) await waitMs(wait);
        sent += slice.length;
        this.push(slice);
      }
      done();
    },
  });
}
