/**
 * HTTP transport (undici, keep-alive pool). Knows the wire envelope: JSON bodies with
 * `Authorization: Bearer` and `Content-Type: application/json` on every API call (1fichier answers
 * `Content-Type not JSON #24` otherwise, even on body-less GETs), and checks both the HTTP status
 * and the `status` field of every answer. Never follows redirects (the upload POST's 302 must be
 * read, not followed).
 */
import { Agent, request, type Dispatcher } from 'undici';
import { DownloadSockets } from './download-socket.js';
import type { Readable } from 'node:stream';
import { inspect } from 'node:util';
import {
  ApiUrlError,
  classifyApiError,
  networkError,
  unreachableError,
  ProtocolError,
  TransientError,
  AbortedError,
  type Redactor,
} from './errors.js';

export interface TransportOptions {
  apiUrl: string;
  apiKey: string;
  redact: Redactor;
  /** Ms without any byte before a request is abandoned. Default 60 000 (real time, not scaled). */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
  userAgent?: string;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export type Json = Record<string, unknown>;

export class Transport {
  readonly apiUrl: string;
  readonly scheme: 'http' | 'https';
  private readonly apiKey: string;
  readonly redact: Redactor;
  readonly dispatcher: Dispatcher;
  /**
   * The download transport (download-socket.ts), unless the caller brought its own dispatcher
   * (a proxy, a mock): then downloads go through that dispatcher too.
   */
  readonly downloads: DownloadSockets | undefined;
  readonly timeout: number;
  private readonly ownsDispatcher: boolean;
  private readonly userAgent: string;
  private readonly timeoutMs: number;

  constructor(o: TransportOptions) {
    let url: URL;
    try {
      url = new URL(o.apiUrl);
    } catch {
      throw new TypeError(`invalid apiUrl: ${JSON.stringify(o.apiUrl)}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError('apiUrl must be http(s)');
    this.apiUrl = o.apiUrl.replace(/\/+$/, '');
    this.scheme = url.protocol === 'https:' ? 'https' : 'http';
    this.apiKey = o.apiKey;
    this.redact = o.redact;
    this.timeoutMs = o.timeoutMs ?? 60_000;
    this.timeout = this.timeoutMs;
    this.ownsDispatcher = !o.dispatcher;
    this.dispatcher =
      o.dispatcher ??
      new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections: 32, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
    this.downloads = this.ownsDispatcher ? new DownloadSockets({ timeoutMs: this.timeoutMs }) : undefined;
    this.userAgent = o.userAgent ?? 'fichier-dav';
  }

  async close(): Promise<void> {
    this.downloads?.close();
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /** Debug dumps (console.log, util.inspect, JSON) of a client never show the key. */
  [inspect.custom](): string {
    return `Transport { apiUrl: ${JSON.stringify(this.apiUrl)}, apiKey: '[redacted]' }`;
  }

  toJSON(): Record<string, unknown> {
    return { apiUrl: this.apiUrl, apiKey: '[redacted]' };
  }

  authHeaders(): Record<string, string> {
    return { authorization: `Bearer ${this.apiKey}`, 'user-agent': this.userAgent };
  }

  /** One API call: `POST {apiUrl}/{endpoint}` with a JSON body (or GET with no body). */
  async api(endpoint: string, body: Json | undefined, opts: { method?: 'POST' | 'GET'; signal?: AbortSignal } = {}): Promise<Json> {
    const method = opts.method ?? 'POST';
    const raw = await this.send(endpoint, `${this.apiUrl}/${endpoint}`, {
      method,
      headers: { ...this.authHeaders(), 'content-type': 'application/json', accept: 'application/json' },
      body: method === 'POST' ? JSON.stringify(body ?? {}) : undefined,
      signal: opts.signal,
    });
    if (raw.status === 404) this.checkApiUrl(endpoint, raw);
    return this.interpretJson(endpoint, raw, true);
  }

  /**
   * A 404 that is not 1fichier's own "Resource not found" (a JSON KO naming a resource) means the
   * API URL is wrong: most often `/v1` is missing, and every call would answer "no such resource".
   */
  private checkApiUrl(endpoint: string, raw: RawResponse): void {
    let message = '';
    try {
      const parsed = JSON.parse(raw.text) as { message?: unknown };
      message = typeof parsed?.message === 'string' ? parsed.message : '';
    } catch {
      // HTML or plain text: not 1fichier's API
    }
    if (/not found|not allowed/i.test(message) && !/method|endpoint/i.test(message)) return;
    const path = new URL(this.apiUrl).pathname;
    const hint = /\/v1$/.test(path)
      ? 'check --api-url (1fichier\'s is https://api.1fichier.com/v1)'
      : `it lacks /v1: use ${this.apiUrl}/v1`;
    throw new ApiUrlError(this.redact(`${endpoint}: the API URL ${this.apiUrl} does not answer like 1fichier's API (HTTP 404): ${hint}`), {
      endpoint,
      httpStatus: 404,
      serverMessage: message ? this.redact(message) : undefined,
    });
  }

  /** Parses and checks a JSON answer; throws the typed error for a KO or an error status. */
  interpretJson(endpoint: string, raw: RawResponse, requireOkStatus: boolean): Json {
    return interpretResponse(endpoint, raw.status, raw.text, { redact: this.redact, requireOkStatus });
  }

  /** Low-level request; reads the whole (small) body as text. Maps network failures. */
  async send(
    endpoint: string,
    url: string,
    o: {
      method: 'GET' | 'POST';
      headers: Record<string, string>;
      body?: string | Buffer | Readable;
      signal?: AbortSignal;
      maxBodyBytes?: number;
      /** Per-request override; 0 disables undici's own headers timeout. */
      headersTimeout?: number;
    },
  ): Promise<RawResponse> {
    let res: Dispatcher.ResponseData;
    try {
      res = await request(url, {
        method: o.method,
        headers: o.headers,
        body: o.body,
        signal: o.signal,
        dispatcher: this.dispatcher,
        ...(o.headersTimeout !== undefined ? { headersTimeout: o.headersTimeout } : {}),
      });
    } catch (err) {
      if (o.signal?.aborted) throw new AbortedError(`${endpoint}: aborted`, { endpoint });
      throw unreachableError(endpoint, url, err, this.redact) ?? networkError(endpoint, err, this.redact);
    }
    let text: string;
    try {
      text = await readText(res.body, o.maxBodyBytes ?? 8 * 1024 * 1024);
    } catch (err) {
      if (o.signal?.aborted) throw new AbortedError(`${endpoint}: aborted`, { endpoint });
      throw networkError(endpoint, err, this.redact);
    }
    return { status: res.statusCode, headers: res.headers, text };
  }
}

async function readText(body: Dispatcher.ResponseData['body'], max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > max) {
      body.destroy();
      throw new Error(`response larger than ${max} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The classifier of an API answer: HTTP status + body text → the parsed JSON object, or the typed
 * error (KO inside any status, error statuses, HTML or malformed JSON where JSON was expected).
 */
export function interpretResponse(
  endpoint: string,
  status: number,
  text: string,
  opts: { redact?: Redactor; requireOkStatus?: boolean } = {},
): Json {
  const redact = opts.redact ?? ((t: string) => t);
  const trimmed = text.trim();
  let parsed: unknown;
  let parseFailed = false;
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      parseFailed = true;
    }
  } else {
    parseFailed = true;
  }
  const obj = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Json) : undefined;
  const statusField = obj ? String(obj.status ?? '').toUpperCase() : '';
  const message = obj && obj.message !== undefined ? String(obj.message) : undefined;

  if (status >= 400 || statusField === 'KO') {
    if (!obj && (status >= 500 || status === 429)) {
      throw new TransientError(`${endpoint}: HTTP ${status}`, { endpoint, httpStatus: status });
    }
    throw classifyApiError({ httpStatus: status, message, endpoint, redact });
  }
  if (parseFailed || !obj) {
    const what = trimmed.startsWith('<') ? 'HTML' : parsed !== undefined ? 'a non-object JSON value' : 'malformed JSON';
    throw new ProtocolError(`${endpoint}: expected a JSON object, got ${what} (HTTP ${status})`, {
      endpoint,
      httpStatus: status,
      serverMessage: redact(trimmed.slice(0, 200)),
    });
  }
  if ((opts.requireOkStatus ?? true) && status >= 300) {
    throw new ProtocolError(`${endpoint}: unexpected HTTP ${status}`, { endpoint, httpStatus: status });
  }
  return obj;
}
