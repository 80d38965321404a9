/**
 * One file by id, for public links (`.strm` and share links): GET and HEAD without WebDAV
 * credentials. Ranges per RFC 9110 §14 (206 / 416, one range; several are answered with the whole
 * file, which §14.2 allows), validators (ETag, Last-Modified, If-None-Match, If-Range), and a
 * Content-Disposition (RFC 6266) carrying the name. In redirect mode a GET answers 302 to a fresh
 * direct link instead (never stored anywhere: 1fichier's tokens live about 5 minutes).
 *
 * The drive stream is opened BEFORE the status line, so a file that is gone answers 404 and an
 * upstream in cool-down answers 503, never a cut 200.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { create as contentDisposition } from 'content-disposition';
import { DriveError, type ByteRange, type Drive, type FileById } from '../drive/types.js';
import { evaluateConditionals, ifRangeAllows } from '../webdav/conditional.js';
import { storedFileHeaders } from '../webdav/active-content.js';
import type { Logger } from '../webdav/handler.js';
import { httpDate, quotedEtag } from '../webdav/props/format.js';
import { contentRange, decideRanges } from '../webdav/ranges.js';

export interface AnswerFileOptions {
  drive: Drive;
  /** The file's id (Drive.fileId). */
  id: string;
  downloads: 'stream' | 'redirect';
  /** Name given in Content-Disposition; default: the file's current name. */
  filename?: string;
  logger?: Logger;
  /**
   * Counting downloads (share links' `maxDownloads`): asked once per GET, after the range was
   * decided and before any byte or redirect goes out, whether this answer may be given.
   * `fromStart` is true when it hands out the file's first byte: the whole file (no range, a
   * range the answer ignores, several ranges, an If-Range that no longer matches), a range from 0,
   * or a redirect (a direct link serves the whole file). False → `refuse` answers instead.
   */
  admit?: {
    download(fromStart: boolean): boolean;
    refuse(res: ServerResponse): void;
  };
}

/** Answers GET/HEAD of the file `id` (405 for other methods, 404 when the id no longer exists). */
export async function answerFileById(req: IncomingMessage, res: ServerResponse, options: AnswerFileOptions): Promise<void> {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') return sendText(res, 405, 'only GET and HEAD are allowed here', { Allow: 'GET, HEAD' });
  const { drive, id } = options;
  if (!drive.statById || !drive.readById) return sendText(res, 404, 'not found');
  const abort = new AbortController();
  // The request observer, the shutdown tracker, this answer and pipeline() all watch 'close': not a leak.
  res.setMaxListeners(Math.max(res.getMaxListeners(), 32));
  const onClose = () => !res.writableFinished && abort.abort();
  res.once('close', onClose);
  try {
    const entry = await drive.statById(id, abort.signal);
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    const validators = { ETag: quotedEtag(entry.etag), 'Last-Modified': httpDate(entry.modified) };
    const outcome = evaluateConditionals(header, entry, true);
    if (outcome === 'not-modified') return void res.writeHead(304, validators).end();
    if (outcome === 'precondition-failed') return sendText(res, 412, 'precondition failed', validators);

    if (method === 'GET' && options.downloads === 'redirect' && drive.directUrlById) {
      if (options.admit && !options.admit.download(true)) return options.admit.refuse(res);
      const location = await drive.directUrlById(id, abort.signal);
      return void res.writeHead(302, { Location: location, 'Cache-Control': 'no-store', 'Content-Length': 0 }).end();
    }
    const base = {
      ...validators,
      'Accept-Ranges': 'bytes',
      'Content-Type': entry.contentType ?? 'application/octet-stream',
      'Content-Disposition': contentDisposition(options.filename ?? entry.name, { type: 'inline' }),
      'Cache-Control': 'private, no-transform',
      ...storedFileHeaders(entry.contentType ?? 'application/octet-stream'),
    };
    const rangeHeader = ifRangeAllows(header('if-range'), entry) ? header('range') : undefined;
    const decision = decideRanges(rangeHeader, entry.size);
    if (decision.kind === 'unsatisfiable') {
      return sendText(res, 416, 'range not satisfiable', { ...validators, 'Accept-Ranges': 'bytes', 'Content-Range': `bytes */${entry.size}` });
    }
    const range: ByteRange | undefined = decision.kind === 'partial' && decision.ranges.length === 1 ? decision.ranges[0] : undefined;
    const length = range ? range.end - range.start + 1 : entry.size;
    if (method === 'GET' && options.admit && !options.admit.download(range === undefined || range.start === 0)) return options.admit.refuse(res);
    const stream = method === 'HEAD' || length === 0 ? undefined : await drive.readById(id, { range, signal: abort.signal });
    res.writeHead(range ? 206 : 200, { ...base, 'Content-Length': length, ...(range ? { 'Content-Range': contentRange(range, entry.size) } : {}) });
    if (!stream) return void res.end();
    await pipeBody(stream, res, abort.signal, options.logger, entry);
  } catch (error) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    answerError(res, error, options.logger);
  } finally {
    res.off('close', onClose);
  }
}

async function pipeBody(stream: Readable, res: ServerResponse, signal: AbortSignal, logger: Logger | undefined, entry: FileById): Promise<void> {
  try {
    await pipeline(stream, res);
  } catch (error) {
    // The client leaving is not a failure; the drive failing mid-answer is (the answer is cut).
    if (!signal.aborted) logger?.warn('public link: the file stopped streaming', { name: entry.name, error: String(error) });
    res.destroy();
  }
}

const STATUS: Record<string, number> = { 'not-found': 404, 'is-a-folder': 404, forbidden: 403, 'bad-request': 400, unavailable: 503 };

/**
 * What an anonymous link holder is told: a fixed text per status. A drive's reason names account
 * paths and the state of the API key ("1fichier refused the API key…"), which is the operator's
 * business, not the visitor's: it goes to the log instead.
 */
const PUBLIC_TEXT: Record<number, string> = {
  400: 'bad request',
  403: 'forbidden',
  404: 'not found',
  502: 'the file could not be fetched from 1fichier; try again later',
  503: '1fichier is not answering for now; try again later',
};

function answerError(res: ServerResponse, error: unknown, logger: Logger | undefined): void {
  if (error instanceof DriveError) {
    const status = STATUS[error.code] ?? 502;
    const retry: Record<string, string> = status === 503 ? { 'Retry-After': String(error.retryAfterSeconds ?? 30) } : {};
    if (status !== 404) logger?.warn('public link: cannot serve the file', { status, error: error.message });
    // 404 says nothing about the account: the same words whether the id never existed or was removed.
    return sendText(res, status, PUBLIC_TEXT[status] ?? PUBLIC_TEXT[502]!, retry);
  }
  logger?.error('public link: unexpected failure', { error: String(error) });
  sendText(res, 500, 'internal error');
}

function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string | number> = {}): void {
  const body = `${text}\n`;
  res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(body) }).end(body);
}
