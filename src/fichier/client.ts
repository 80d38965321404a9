/**
 * The typed 1fichier client. One instance per account: every call goes through its Scheduler
 * (pacing, per-folder windows, priorities, single-flight, flood cool-down, retries).
 *
 * Names passed in and returned are the names as stored on 1fichier: apply the name codec
 * (`encodeName` / `decodeName`) in the caller.
 */
import { Readable } from 'node:stream';
import { request, type Dispatcher } from 'undici';
import { Scheduler, type JobReport, type Priority, type SchedulerOptions } from './scheduler.js';
import { Transport, type Json, type RawResponse } from './http.js';
import {
  AbortedError,
  DownloadLinkError,
  FichierError,
  IntegrityError,
  ProtocolError,
  RejectedError,
  TransientError,
  UploadRefusedError,
  extractBloc2,
  decodeHtmlText,
  makeRedactor,
  networkError,
} from './errors.js';
import {
  asArray,
  asInt,
  asNumber,
  asString,
  parseAccountInfo,
  parseEndLinks,
  parseFileInfo,
  parseFileList,
  parseFolderListing,
  parseRemoteInfo,
  parseUploadServer,
  type AccountInfo,
  type EndLink,
  type FileInfo,
  type FileItem,
  type FolderListing,
  type RemoteRequestInfo,
  type UploadServer,
} from './wire.js';
import { buildMultipart, SourceLengthError } from './multipart.js';
import { createWhirlpoolHasher } from './whirlpool.js';
import { formatParisTime } from './paris-time.js';
import { sleep, realClock, type Clock } from './clock.js';

export const DEFAULT_API_URL = 'https://api.1fichier.com/v1';
/** rclone refuses files above 300 GB; so does 1fichier. */
export const MAX_UPLOAD_SIZE = 300e9;

/** One event per upstream call (after its retries), without secrets, URLs or tokens. */
export type FichierLogEvent = JobReport;

export interface EndPollOptions {
  /** end.pl polls before giving up. Default 15. */
  attempts?: number;
  /** First wait between polls. Default 1 000 ms. */
  baseMs?: number;
  /** Longest wait between polls. Default 30 000 ms (SAC polls every 30 s for 5 min). */
  maxMs?: number;
}

export interface FichierClientOptions extends SchedulerOptions {
  apiKey: string;
  /** Default https://api.1fichier.com/v1. The upload node gets the same scheme. */
  apiUrl?: string;
  logger?: (event: FichierLogEvent) => void;
  /** Share one scheduler between clients of the same account. */
  scheduler?: Scheduler;
  endPoll?: EndPollOptions;
  /** Real ms of silence before a request is abandoned (not scaled). Default 60 000. */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
}

export interface CallOptions {
  priority?: Priority;
  signal?: AbortSignal;
}

export interface ReadOptions extends CallOptions {
  /** Skip the just-finished shared answer and wait for the listing window instead. */
  fresh?: boolean;
}

export interface UploadOptions extends CallOptions {
  /** Exact byte count of the stream (1fichier needs Content-Length). */
  size: number;
  /** Stored name (already encoded). */
  name: string;
  /** Destination folder; root (0) when absent. */
  folderId?: number;
  onProgress?: (sentBytes: number, totalBytes: number) => void;
  contentType?: string;
}

export interface UploadResult {
  url: string;
  /** The name 1fichier stored (it may differ from the one sent). */
  filename: string;
  size: number;
  whirlpool: string;
  /** True when end.pl gave a checksum and it matched. */
  verified: boolean;
}

export interface DownloadResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
}

export interface TokenOptions extends CallOptions {
  /** Single-use link (rclone always sends 1). Default true. */
  single?: boolean;
  pass?: string;
  cdn?: boolean;
  inline?: boolean;
  noSsl?: boolean;
}

export interface ChattrOptions {
  filename?: string;
  description?: string;
  pass?: string;
  noSsl?: boolean;
  inline?: boolean;
  cdn?: boolean;
  acl?: { ip?: string[]; country?: string[]; email?: string[]; premium?: boolean } | null;
}

type PlainJob<T> = {
  endpoint: string;
  body?: Json;
  method?: 'GET' | 'POST';
  parse: (o: Json) => T;
  opts?: ReadOptions;
  window?: { key: string; intervalMs: number };
  share?: boolean;
  shareInvalidatedByWrites?: boolean;
  singleFlight?: boolean;
  write?: boolean;
  retryIf?: (err: unknown) => boolean;
};

export class FichierClient {
  readonly scheduler: Scheduler;
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly endPoll: Required<EndPollOptions>;

  constructor(options: FichierClientOptions) {
    if (!options || typeof options.apiKey !== 'string' || options.apiKey.length === 0) {
      throw new TypeError('FichierClient needs a non-empty apiKey');
    }
    this.clock = options.clock ?? realClock;
    this.scheduler = options.scheduler ?? new Scheduler(options);
    if (options.logger) {
      const logger = options.logger;
      const previous = this.scheduler.onReport;
      this.scheduler.onReport = (r) => {
        previous?.(r);
        try {
          logger(r);
        } catch {
          // A logger must never break a call.
        }
      };
    }
    this.transport = new Transport({
      apiUrl: options.apiUrl ?? DEFAULT_API_URL,
      apiKey: options.apiKey,
      redact: makeRedactor([options.apiKey]),
      timeoutMs: options.timeoutMs,
      dispatcher: options.dispatcher,
    });
    this.endPoll = { attempts: 15, baseMs: 1_000, maxMs: 30_000, ...options.endPoll };
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  private call<T>(j: PlainJob<T>): Promise<T> {
    const key = `${j.endpoint} ${JSON.stringify(j.body ?? {})}`;
    const p = this.scheduler.run({
      endpoint: j.endpoint,
      priority: j.opts?.priority,
      signal: j.opts?.signal,
      fresh: j.opts?.fresh,
      window: j.window,
      singleFlightKey: j.singleFlight ? key : undefined,
      shareKey: j.share ? key : undefined,
      shareInvalidatedByWrites: j.shareInvalidatedByWrites,
      retryIf: j.retryIf,
      run: async ({ signal }) => j.parse(await this.transport.api(j.endpoint, j.body, { method: j.method, signal })),
    });
    if (!j.write) return p;
    return p.finally(() => this.scheduler.invalidateShared());
  }

  // ------------------------------------------------------------------ account

  /** user/info.cgi, at most once per 60 s: inside the window the last answer is served. */
  async userInfo(opts: ReadOptions = {}): Promise<AccountInfo> {
    return this.call({
      endpoint: 'user/info.cgi',
      parse: parseAccountInfo,
      opts,
      window: { key: 'user/info', intervalMs: this.scheduler.options.userInfoIntervalMs },
      share: true,
      shareInvalidatedByWrites: false,
      singleFlight: true,
    });
  }

  // ------------------------------------------------------------------ listings

  private listingWindow(folderId: number) {
    const o = this.scheduler.options;
    return folderId === -1
      ? { key: 'ls:-1', intervalMs: o.allFilesIntervalMs }
      : { key: `ls:${folderId}`, intervalMs: o.listingIntervalMs };
  }

  /** folder/ls.cgi: the folder's sub-folders and, with `files` (default), its files in the same call. */
  async listFolder(folderId: number, opts: ReadOptions & { files?: boolean } = {}): Promise<FolderListing> {
    checkFolderId(folderId, false);
    const files = opts.files ?? true;
    return this.call({
      endpoint: 'folder/ls.cgi',
      body: files ? { folder_id: folderId, files: 1 } : { folder_id: folderId },
      parse: (o) => parseFolderListing(o, folderId),
      opts,
      window: this.listingWindow(folderId),
      share: true,
      singleFlight: true,
    });
  }

  /** file/ls.cgi: the files of one folder (-1 = every file of the account, once per hour). */
  async listFiles(folderId: number, opts: ReadOptions & { sentBefore?: Date | string; sentAfter?: Date | string } = {}): Promise<FileItem[]> {
    checkFolderId(folderId, true);
    const body: Json = { folder_id: folderId };
    if (opts.sentBefore !== undefined) body.sent_before = parisArg(opts.sentBefore, 'sentBefore');
    if (opts.sentAfter !== undefined) body.sent_after = parisArg(opts.sentAfter, 'sentAfter');
    return this.call({
      endpoint: 'file/ls.cgi',
      body,
      parse: (o) => parseFileList(o),
      opts,
      window: this.listingWindow(folderId),
      share: true,
      singleFlight: true,
    });
  }

  /** file/info.cgi. */
  async fileInfo(url: string, opts: ReadOptions & { pass?: string } = {}): Promise<FileInfo> {
    checkUrl(url);
    const body: Json = { url };
    if (opts.pass) body.pass = opts.pass;
    return this.call({ endpoint: 'file/info.cgi', body, parse: (o) => parseFileInfo(o), opts, singleFlight: true });
  }

  // ------------------------------------------------------------------ downloads

  /** download/get_token.cgi → a direct link valid about 5 minutes. Retried on KO (rclone does). */
  async getDownloadToken(url: string, opts: TokenOptions = {}): Promise<string> {
    checkUrl(url);
    const body: Json = { url, single: opts.single === false ? 0 : 1 };
    if (opts.pass) body.pass = opts.pass;
    if (opts.cdn) body.cdn = 1;
    if (opts.inline) body.inline = 1;
    if (opts.noSsl) body.no_ssl = 1;
    return this.call({
      endpoint: 'download/get_token.cgi',
      body,
      opts,
      parse: (o) => {
        const link = asString(o.url);
        if (!link || !/^https?:\/\//.test(link)) {
          throw new ProtocolError('download/get_token.cgi: answer lacks a valid "url"', { endpoint: 'download/get_token.cgi' });
        }
        return link;
      },
      // A KO inside HTTP 200 ("no token yet") is retried, as rclone does since fb305b597.
      retryIf: (err) => err instanceof RejectedError && (err.httpStatus ?? 0) < 300,
    });
  }

  /**
   * GET on a direct link (from getDownloadToken), optionally ranged. Counts against the download
   * concurrency cap until the body ends or is destroyed. An expired/spent/unknown link (an HTML
   * page) raises DownloadLinkError; ask for a new token then.
   */
  openDownload(directUrl: string, opts: { range?: { start: number; end?: number }; signal?: AbortSignal; priority?: 'interactive' | 'background' } = {}): Promise<DownloadResponse> {
    let parsed: URL;
    try {
      parsed = new URL(directUrl);
    } catch {
      return Promise.reject(new TypeError('openDownload needs an absolute http(s) URL'));
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return Promise.reject(new TypeError('openDownload needs an http(s) URL'));
    const headers: Record<string, string> = { 'user-agent': 'fichier-dav' };
    if (opts.range) {
      const { start, end } = opts.range;
      if (!Number.isSafeInteger(start) || start < 0 || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) {
        return Promise.reject(new RangeError('invalid download range'));
      }
      headers.range = `bytes=${start}-${end ?? ''}`;
    }
    const started = this.clock.now();
    return new Promise<DownloadResponse>((resolve, reject) => {
      void this.scheduler.download(async () => {
        // The account's connection budget (shared by every bridge with Redis) is the drive's
        // (src/drive/connection-budget.ts): it takes its slot before calling here.
        await this.downloadHolding(directUrl, headers, opts.signal, started, resolve, reject);
      });
    });
  }

  /** The GET of openDownload, resolving once the body ended (the caller holds the slots meanwhile). */
  private async downloadHolding(
    directUrl: string,
    headers: Record<string, string>,
    signal: AbortSignal | undefined,
    started: number,
    resolve: (response: DownloadResponse) => void,
    reject: (error: unknown) => void,
  ): Promise<void> {
    let res: { statusCode: number; headers: Record<string, string | string[] | undefined>; body: Readable };
    try {
      if (this.transport.downloads) {
        const answer = await this.transport.downloads.get(new URL(directUrl), headers, signal);
        res = { statusCode: answer.status, headers: answer.headers, body: answer.body };
      } else {
        const answer = await request(directUrl, { method: 'GET', headers, signal, dispatcher: this.transport.dispatcher });
        res = { statusCode: answer.statusCode, headers: answer.headers, body: answer.body as unknown as Readable };
      }
    } catch (err) {
      const e = signal?.aborted ? new AbortedError('download: aborted', { endpoint: 'download' }) : networkError('download', err, this.transport.redact);
      this.report('download', started, e);
      reject(e);
      return;
    }
    if (!isFileAnswer(res.statusCode, res.headers)) {
      const text = await readStart(res.body, 4000);
      const msg = decodeHtmlText(text).slice(0, 200);
      const e =
        res.statusCode >= 500 || res.statusCode === 429
          ? new TransientError(`download: HTTP ${res.statusCode}`, { endpoint: 'download', httpStatus: res.statusCode })
          : new DownloadLinkError(`download: the link is expired, spent or unknown (HTTP ${res.statusCode})`, {
              endpoint: 'download',
              httpStatus: res.statusCode,
              serverMessage: msg || undefined,
            });
      this.report('download', started, e);
      reject(e);
      return;
    }
    const body = res.body;
    const finished = new Promise<void>((r) => {
      body.once('close', r);
      body.once('end', r);
      body.once('error', () => r());
    });
    this.report('download', started);
    resolve({ status: res.statusCode, headers: res.headers, body });
    await finished;
  }

  private report(endpoint: string, started: number, err?: FichierError): void {
    this.scheduler.onReport?.({
      endpoint,
      outcome: err ? 'error' : 'ok',
      ms: Math.round(this.clock.now() - started),
      retries: 0,
      floods: 0,
      errorName: err?.name,
      code: err?.code,
      httpStatus: err?.httpStatus,
    });
  }

  // ------------------------------------------------------------------ upload

  /** upload/get_upload_server.cgi (a GET with the JSON content type, as rclone sends it). */
  async getUploadServer(opts: CallOptions = {}): Promise<UploadServer> {
    return this.call({ endpoint: 'upload/get_upload_server.cgi', method: 'GET', parse: (o) => parseUploadServer(o), opts });
  }

  /**
   * The 3-step upload: get a node, POST the multipart body with an exact Content-Length (never
   * retried once sent), then read end.pl (with `JSON: 1`) until it lists the file. The Whirlpool
   * computed while streaming must match end.pl's, otherwise the upload is removed and an
   * IntegrityError is thrown.
   */
  upload(source: Readable | AsyncIterable<Uint8Array>, opts: UploadOptions): Promise<UploadResult> {
    const { size, name } = opts;
    if (!Number.isSafeInteger(size) || size <= 0) {
      return Promise.reject(new RangeError(`upload size must be a positive integer (1fichier cannot store empty files), got ${size}`));
    }
    if (size > MAX_UPLOAD_SIZE) return Promise.reject(new RangeError(`upload size ${size} exceeds 1fichier's 300 GB limit`));
    if (typeof name !== 'string' || name.length === 0) return Promise.reject(new TypeError('upload needs a non-empty name'));
    if (opts.folderId !== undefined) checkFolderId(opts.folderId, false);
    return this.scheduler.upload(() => this.uploadNow(source, opts)).finally(() => this.scheduler.invalidateShared());
  }

  private async uploadNow(source: Readable | AsyncIterable<Uint8Array>, opts: UploadOptions): Promise<UploadResult> {
    const { size, name, signal } = opts;
    const server = await this.getUploadServer({ priority: opts.priority, signal });
    const hasher = await createWhirlpoolHasher();
    let sent = 0;
    let sourceError: unknown;
    // The node answers only after the whole body: a slow source must not trip a headers
    // timeout, so undici's is off for this request and ours starts once the last byte is out.
    const answerTimeout = new AbortController();
    let answerTimer: ReturnType<typeof setTimeout> | undefined;
    const timeoutMs = this.transport.timeout;
    async function* tap(): AsyncGenerator<Uint8Array> {
      try {
        for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
          const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
          hasher.update(buf);
          sent += buf.length;
          opts.onProgress?.(sent, size);
          yield buf;
        }
        answerTimer = setTimeout(() => answerTimeout.abort(new Error(`no answer ${timeoutMs} ms after the body was sent`)), timeoutMs);
      } catch (err) {
        sourceError = err;
        throw err;
      }
    }
    const fields: Array<[string, string]> = [];
    if (opts.folderId !== undefined && opts.folderId !== 0) fields.push(['did', String(opts.folderId)]);
    const body = buildMultipart(fields, { field: 'file[]', filename: name, size, source: tap(), contentType: opts.contentType });
    body.stream.once('error', (err) => {
      if (err instanceof SourceLengthError) sourceError ??= err;
    });
    const base = `${this.transport.scheme}://${server.host}`;
    const uploadUrl = `${base}/upload.cgi?id=${encodeURIComponent(server.id)}`;

    const raw = await this.scheduler.run<RawResponse>({
      endpoint: 'upload.cgi',
      usesApiBudget: false,
      retry: false,
      signal,
      run: async () => {
        try {
          return await this.transport.send('upload.cgi', uploadUrl, {
            method: 'POST',
            headers: {
              ...this.transport.authHeaders(),
              'content-type': body.contentType,
              'content-length': String(body.contentLength),
            },
            body: body.stream,
            signal: signal ? AbortSignal.any([signal, answerTimeout.signal]) : answerTimeout.signal,
            headersTimeout: 0,
          });
        } catch (err) {
          if (answerTimeout.signal.aborted && !signal?.aborted) {
            throw new TransientError(`upload.cgi: no answer within ${timeoutMs} ms after the body was sent (not retried)`, { endpoint: 'upload.cgi' });
          }
          if (sourceError !== undefined) {
            const m = sourceError instanceof Error ? sourceError.message : String(sourceError);
            throw new UploadSourceError(`upload.cgi: reading the source failed: ${m}`, { endpoint: 'upload.cgi' });
          }
          throw err;
        } finally {
          clearTimeout(answerTimer);
        }
      },
    });
    this.checkUploadAnswer(raw);
    const whirlpool = hasher.digest();
    let link: EndLink;
    try {
      link = await this.pollEnd(base, server.id, signal);
    } catch (err) {
      // The node took the whole body, but end.pl never reported it. The file may well be stored:
      // look for it in the destination folder rather than leave an unknown duplicate behind.
      const found = err instanceof ProtocolError ? await this.findUploaded(opts, whirlpool, size) : undefined;
      if (!found) throw err;
      link = found;
    }
    const problem =
      link.size !== size
        ? `1fichier stored ${link.size} bytes, ${size} were sent`
        : link.whirlpool && link.whirlpool !== whirlpool
          ? `Whirlpool mismatch: sent ${whirlpool}, 1fichier has ${link.whirlpool}`
          : undefined;
    if (problem) {
      let removal = 'the bad copy was removed';
      try {
        await this.removeFiles([link.download], { priority: opts.priority });
      } catch (err) {
        removal = `removing the bad copy failed too (${err instanceof Error ? err.message : String(err)})`;
      }
      throw new IntegrityError(`upload of ${JSON.stringify(name)}: ${problem}; ${removal}`, { endpoint: 'end.pl' });
    }
    return { url: link.download, filename: link.filename, size: link.size, whirlpool, verified: link.whirlpool !== undefined };
  }

  /**
   * After end.pl gave up: the newest file of the destination folder with this name, size and
   * Whirlpool, uploaded in the last hour, is ours. Undefined when the listing does not show it
   * (listings lag) or cannot be read.
   */
  private async findUploaded(opts: UploadOptions, whirlpool: string, size: number): Promise<EndLink | undefined> {
    let listing: FolderListing;
    try {
      listing = await this.listFolder(opts.folderId ?? 0, { files: true, fresh: true, priority: opts.priority, signal: opts.signal });
    } catch {
      return undefined;
    }
    const since = this.clock.now() - this.scheduler.scaled(3_600_000);
    const match = listing.files
      .filter((f) => f.filename === opts.name && f.size === size && f.checksum === whirlpool && (f.date?.getTime() ?? 0) >= since)
      .sort((a, b) => (b.date?.getTime() ?? 0) - (a.date?.getTime() ?? 0))[0];
    return match ? { download: match.url, filename: match.filename, size: match.size, whirlpool: match.checksum } : undefined;
  }

  private checkUploadAnswer(raw: RawResponse): void {
    const location = String(raw.headers.location ?? '');
    if (raw.status >= 300 && raw.status < 400) {
      if (!location.includes('end.pl')) {
        throw new ProtocolError(`upload.cgi: redirected somewhere unexpected (HTTP ${raw.status})`, { endpoint: 'upload.cgi', httpStatus: raw.status });
      }
      return;
    }
    const refusal = extractBloc2(raw.text);
    if (refusal) {
      throw new UploadRefusedError(`upload.cgi: refused: ${refusal}`, { endpoint: 'upload.cgi', httpStatus: raw.status, serverMessage: refusal });
    }
    if (raw.status >= 500 || raw.status === 429) {
      throw new TransientError(`upload.cgi: HTTP ${raw.status} (not retried: the body was sent)`, { endpoint: 'upload.cgi', httpStatus: raw.status });
    }
    if (raw.status >= 400) {
      throw new UploadRefusedError(`upload.cgi: HTTP ${raw.status}`, { endpoint: 'upload.cgi', httpStatus: raw.status, serverMessage: decodeHtmlText(raw.text).slice(0, 200) || undefined });
    }
    // Some nodes answer 200 directly (RUST); end.pl tells whether the upload arrived.
  }

  /** GET end.pl with `JSON: 1` until it lists the upload (HTML, "please wait" and empty links are retried). */
  private async pollEnd(base: string, id: string, signal?: AbortSignal): Promise<EndLink> {
    const url = `${base}/end.pl?xid=${encodeURIComponent(id)}`;
    const { attempts, baseMs, maxMs } = this.endPoll;
    let last = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const links = await this.scheduler
        .run<EndLink[] | string>({
          endpoint: 'end.pl',
          usesApiBudget: false,
          signal,
          retry: false,
          run: async () => {
            const raw = await this.transport.send('end.pl', url, {
              method: 'GET',
              headers: { ...this.transport.authHeaders(), json: '1', accept: 'application/json' },
              signal,
            });
            const text = raw.text.trim();
            if (raw.status >= 500 || raw.status === 429) return `HTTP ${raw.status}`;
            if (!text.startsWith('{')) {
              const words = decodeHtmlText(extractBloc2(text) ?? text).slice(0, 200);
              return words ? `HTML instead of JSON: ${words}` : `HTTP ${raw.status} without JSON`;
            }
            let obj: Json;
            try {
              obj = JSON.parse(text) as Json;
            } catch {
              return 'malformed JSON';
            }
            return parseEndLinks(obj);
          },
        })
        .catch((err: unknown) => {
          if (err instanceof AbortedError) throw err;
          if (err instanceof ProtocolError) throw err;
          return err instanceof Error ? err.message : String(err);
        });
      if (Array.isArray(links)) {
        if (links.length > 0) return links[0];
        last = 'no links yet';
      } else {
        last = links;
      }
      if (attempt < attempts) {
        const delay = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
        await sleep(this.clock, this.scheduler.scaled(delay), signal).catch(() => {
          throw new AbortedError('end.pl: aborted', { endpoint: 'end.pl' });
        });
      }
    }
    throw new ProtocolError(`end.pl: no upload report after ${attempts} polls (last answer: ${last})`, { endpoint: 'end.pl' });
  }

  // ------------------------------------------------------------------ file operations

  /** file/mv.cgi. `rename` (only with one URL) is sent only when given and non-empty. */
  async moveFiles(urls: string[], destinationFolderId: number, opts: CallOptions & { rename?: string } = {}): Promise<{ moved: number; urls: string[] }> {
    checkUrls(urls);
    checkFolderId(destinationFolderId, false);
    const body: Json = { urls, destination_folder_id: destinationFolderId };
    if (opts.rename) {
      if (urls.length !== 1) throw new TypeError('rename is only allowed when moving one file');
      body.rename = opts.rename;
    }
    return this.call({
      endpoint: 'file/mv.cgi',
      body,
      opts,
      write: true,
      parse: (o) => ({ moved: asNumber(o.moved) ?? urls.length, urls: asArray(o.urls).map(asString).filter(isString) }),
    });
  }

  /** file/cp.cgi (note: `folder_id`, not destination_folder_id). Each copy gets a new URL. */
  async copyFiles(urls: string[], folderId: number, opts: CallOptions & { rename?: string } = {}): Promise<{ copied: number; urls: Array<{ from: string; to: string }> }> {
    checkUrls(urls);
    checkFolderId(folderId, false);
    const body: Json = { urls, folder_id: folderId };
    if (opts.rename) {
      if (urls.length !== 1) throw new TypeError('rename is only allowed when copying one file');
      body.rename = opts.rename;
    }
    return this.call({
      endpoint: 'file/cp.cgi',
      body,
      opts,
      write: true,
      parse: (o) => {
        const pairs = asArray(o.urls).map((u) => {
          const x = (u ?? {}) as Json;
          return { from: asString(x.from_url) ?? '', to: asString(x.to_url) ?? '' };
        });
        if (pairs.some((p) => !p.to)) throw new ProtocolError('file/cp.cgi: answer lacks urls[].to_url', { endpoint: 'file/cp.cgi' });
        return { copied: asNumber(o.copied) ?? pairs.length, urls: pairs };
      },
    });
  }

  /** file/rename.cgi. Renaming to the current name answers KO #312 (RejectedError). */
  async renameFile(url: string, newName: string, opts: CallOptions = {}): Promise<{ url: string; oldName?: string; newName: string }> {
    checkUrl(url);
    if (typeof newName !== 'string' || newName.length === 0) throw new TypeError('renameFile needs a non-empty name');
    return this.call({
      endpoint: 'file/rename.cgi',
      body: { urls: [{ url, filename: newName }], pretty: 0 },
      opts,
      write: true,
      parse: (o) => {
        const first = (asArray(o.urls)[0] ?? {}) as Json;
        return { url: asString(first.url) ?? url, oldName: asString(first.old_filename), newName: asString(first.new_filename) ?? newName };
      },
    });
  }

  /** file/rm.cgi. */
  async removeFiles(urls: string[], opts: CallOptions = {}): Promise<{ removed: number }> {
    checkUrls(urls);
    return this.call({
      endpoint: 'file/rm.cgi',
      body: { files: urls.map((url) => ({ url })) },
      opts,
      write: true,
      parse: (o) => ({ removed: asNumber(o.removed) ?? urls.length }),
    });
  }

  /** file/chattr.cgi. */
  async chattr(urls: string[], attrs: ChattrOptions, opts: CallOptions = {}): Promise<{ updated: number }> {
    checkUrls(urls);
    const body: Json = { urls };
    if (attrs.filename !== undefined) {
      if (urls.length !== 1) throw new TypeError('filename can only be set on one file');
      body.filename = attrs.filename;
    }
    if (attrs.description !== undefined) body.description = attrs.description;
    if (attrs.pass !== undefined) body.pass = attrs.pass;
    if (attrs.noSsl !== undefined) body.no_ssl = attrs.noSsl ? 1 : 0;
    if (attrs.inline !== undefined) body.inline = attrs.inline ? 1 : 0;
    if (attrs.cdn !== undefined) body.cdn = attrs.cdn ? 1 : 0;
    if (attrs.acl !== undefined) {
      body.acl =
        attrs.acl === null
          ? {}
          : {
              ...(attrs.acl.ip ? { ip: attrs.acl.ip } : {}),
              ...(attrs.acl.country ? { country: attrs.acl.country } : {}),
              ...(attrs.acl.email ? { email: attrs.acl.email } : {}),
              ...(attrs.acl.premium !== undefined ? { premium: attrs.acl.premium ? 1 : 0 } : {}),
            };
    }
    return this.call({ endpoint: 'file/chattr.cgi', body, opts, write: true, parse: (o) => ({ updated: asNumber(o.updated) ?? 0 }) });
  }

  // ------------------------------------------------------------------ folders

  /** folder/mkdir.cgi → the new folder's id and stored name. */
  async mkdir(name: string, parentId = 0, opts: CallOptions = {}): Promise<{ folderId: number; name: string }> {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('mkdir needs a non-empty name');
    checkFolderId(parentId, false);
    return this.call({
      endpoint: 'folder/mkdir.cgi',
      body: { name, folder_id: parentId },
      opts,
      write: true,
      parse: (o) => {
        const folderId = asInt(o.folder_id);
        if (folderId === undefined) throw new ProtocolError('folder/mkdir.cgi: answer lacks "folder_id"', { endpoint: 'folder/mkdir.cgi' });
        return { folderId, name: asString(o.name) ?? name };
      },
    });
  }

  /** folder/rm.cgi (the folder must be empty; otherwise a KO, often inside HTTP 200). */
  async removeFolder(folderId: number, opts: CallOptions = {}): Promise<void> {
    checkFolderId(folderId, false);
    if (folderId === 0) throw new TypeError('the root folder cannot be removed');
    return this.call({ endpoint: 'folder/rm.cgi', body: { folder_id: folderId }, opts, write: true, parse: () => undefined });
  }

  /**
   * folder/mv.cgi, with rclone's rules: `destination_folder_id` omitted when 0 (root),
   * `destination_user` always "" , `rename` only when non-empty (then the folder is renamed in
   * place and the destination is ignored by 1fichier).
   */
  async moveFolder(folderId: number, opts: CallOptions & { destinationFolderId?: number; rename?: string } = {}): Promise<{ oldName?: string; newName?: string; message?: string }> {
    checkFolderId(folderId, false);
    if (folderId === 0) throw new TypeError('the root folder cannot be moved');
    const body: Json = { folder_id: folderId };
    if (opts.destinationFolderId !== undefined) {
      checkFolderId(opts.destinationFolderId, false);
      if (opts.destinationFolderId !== 0) body.destination_folder_id = opts.destinationFolderId;
    }
    body.destination_user = '';
    if (opts.rename) body.rename = opts.rename;
    return this.call({
      endpoint: 'folder/mv.cgi',
      body,
      opts,
      write: true,
      parse: (o) => ({ oldName: asString(o.old_name), newName: asString(o.new_name), message: asString(o.message) }),
    });
  }

  // ------------------------------------------------------------------ remote upload

  /** remote/request.cgi: ask 1fichier to fetch URLs into a folder. */
  async remoteRequest(urls: string[], folderId = 0, opts: CallOptions & { headers?: Record<string, string> } = {}): Promise<{ id: number; raw: Json }> {
    if (!Array.isArray(urls) || urls.length === 0 || !urls.every((u) => typeof u === 'string' && /^(https?|ftp):\/\//.test(u))) {
      throw new TypeError('remoteRequest needs a non-empty list of http(s)/ftp URLs');
    }
    checkFolderId(folderId, false);
    const body: Json = { urls, folder_id: folderId };
    if (opts.headers) body.headers = opts.headers;
    return this.call({
      endpoint: 'remote/request.cgi',
      body,
      opts,
      write: true,
      parse: (o) => {
        const id = asInt(o.id);
        if (id === undefined) throw new ProtocolError('remote/request.cgi: answer lacks "id"', { endpoint: 'remote/request.cgi' });
        return { id, raw: o };
      },
    });
  }

  /** remote/ls.cgi: the account's remote-upload requests. */
  async remoteList(opts: CallOptions = {}): Promise<RemoteRequestInfo[]> {
    return this.call({
      endpoint: 'remote/ls.cgi',
      body: {},
      opts,
      singleFlight: true,
      parse: (o) => asArray(o.data).map((d) => parseRemoteInfo((d ?? {}) as Json)),
    });
  }

  /** remote/info.cgi: one request's details and per-URL results. */
  async remoteInfo(id: number, opts: CallOptions = {}): Promise<RemoteRequestInfo & { links: string[]; results: Json[] }> {
    if (!Number.isSafeInteger(id) || id < 0) throw new TypeError('remoteInfo needs a request id');
    return this.call({
      endpoint: 'remote/info.cgi',
      body: { id },
      opts,
      singleFlight: true,
      parse: (o) => ({
        ...parseRemoteInfo(o),
        links: asArray(o.links).map(asString).filter(isString),
        results: asArray(o.result).filter((r): r is Json => !!r && typeof r === 'object'),
      }),
    });
  }
}

/** The upload source failed (or had the wrong length) while being sent. */
export class UploadSourceError extends FichierError {}

function isString(v: unknown): v is string {
  return typeof v === 'string';
}

function checkFolderId(id: number, allowAll: boolean): void {
  if (!Number.isSafeInteger(id) || id < (allowAll ? -1 : 0)) {
    throw new TypeError(`invalid folder id ${String(id)}`);
  }
}

function checkUrl(url: string): void {
  if (typeof url !== 'string' || !/^https?:\/\/\S+$/.test(url)) throw new TypeError('a file is identified by its http(s) URL');
}

function checkUrls(urls: string[]): void {
  if (!Array.isArray(urls) || urls.length === 0) throw new TypeError('expected a non-empty list of file URLs');
  urls.forEach(checkUrl);
}

function parisArg(v: Date | string, name: string): string {
  if (v instanceof Date) return formatParisTime(v);
  if (typeof v === 'string' && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(v)) return v;
  throw new TypeError(`${name} must be a Date or a "YYYY-MM-DD HH:MM:SS" Paris time`);
}

/**
 * Whether a direct link's answer is the file (not 1fichier's HTML page for a dead link). The page
 * is told by its HTML type, but a stored `.html` file is served as text/html too: the file's answer
 * names it in `Content-Disposition` (RFC 6266; 1fichier sends `filename*=UTF-8''…`) or, ranged,
 * carries a `Content-Range`, which the page never does. Any other status is never the file.
 */
export function isFileAnswer(status: number, headers: Record<string, string | string[] | undefined>): boolean {
  if (status !== 200 && status !== 206) return false;
  const type = String(headers['content-type'] ?? '');
  if (!type.includes('text/html')) return true;
  const disposition = String(headers['content-disposition'] ?? '');
  return /filename/i.test(disposition) || (status === 206 && headers['content-range'] !== undefined);
}

/**
 * The first `max` characters of a (small, error page) body as text; the rest is not read: the body
 * is destroyed once enough arrived or on any failure (the status says enough then).
 */
async function readStart(body: Readable, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      bytes += chunk.length;
      if (bytes >= max * 4) break;
    }
  } catch {
    // the status says enough
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, max);
}
