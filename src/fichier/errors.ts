/**
 * Typed errors for everything 1fichier can answer. Each keeps 1fichier's own message and its
 * `#NNN` code, so callers can both branch on the class and show the server's words.
 *
 * Secrets: error messages are built only from the server's message, the endpoint name and the
 * HTTP status; every message passes through a redactor that strips the API key in case the
 * server (or a proxy) ever echoes it back.
 */

export interface FichierErrorDetails {
  /** 1fichier's message, as sent (redacted), e.g. "Resource not found #469". */
  serverMessage?: string;
  /** The `#NNN` code parsed from the message, when present. */
  code?: number;
  /** HTTP status of the answer, when there was one. */
  httpStatus?: number;
  /** The endpoint that failed, e.g. "file/info.cgi", "upload.cgi", "end.pl". */
  endpoint?: string;
  /** A sanitized underlying error (never the raw transport error, which could carry headers). */
  cause?: Error;
}

export class FichierError extends Error {
  readonly serverMessage?: string;
  readonly code?: number;
  readonly httpStatus?: number;
  readonly endpoint?: string;
  /** True when sending the same request again later may succeed. */
  readonly retryable: boolean = false;

  constructor(message: string, details: FichierErrorDetails = {}) {
    super(message, details.cause ? { cause: details.cause } : undefined);
    this.name = new.target.name;
    this.serverMessage = details.serverMessage;
    this.code = details.code;
    this.httpStatus = details.httpStatus;
    this.endpoint = details.endpoint;
  }

  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      message: this.message,
      serverMessage: this.serverMessage,
      code: this.code,
      httpStatus: this.httpStatus,
      endpoint: this.endpoint,
    };
  }
}

/** Bad, disabled or missing API key (`Not authenticated #247`, `No such user #93`, HTTP 401). */
export class AuthError extends FichierError {}
/**
 * `#93`: besides "No such user", users of other 1fichier tools report it when the account is
 * locked after failed password attempts. Never retried (every try would extend the lockout);
 * the user must reset the account's password on 1fichier.com.
 */
export class PasswordLockoutError extends AuthError {}
/** The key belongs to a free account (`Must be a customer (Premium, Access) #200`). */
export class NotPremiumError extends FichierError {}
/** Unknown or deleted resource (HTTP 404, `Resource not found #469`). */
export class NotFoundError extends FichierError {}
/** Password- or ACL-protected resource (`Resource not allowed #631`, HTTP 403). */
export class ForbiddenError extends FichierError {}
/** The file needs a password, or the one sent is wrong. */
export class PasswordError extends ForbiddenError {}
/** Rate limited: `Flood detected: IP Locked #374/#412/#38`, `User Locked #218`. */
export class FloodError extends FichierError {
  override readonly retryable = true;
}
/**
 * Account-level lock: `Owner locked #620` / `#649`, `Only 1 location allowed at a time #887`, IP
 * blocked #186. Not retried; the scheduler pauses the whole account for its longest cool-down.
 */
export class AccountLockedError extends FichierError {}
/**
 * The request never reached 1fichier: connection refused, DNS failure, TLS failure, no route.
 * Not retried (a wrong --api-url would otherwise wait minutes) and spends no window.
 */
export class UnreachableError extends FichierError {}
/** The API URL answers, but not as 1fichier's API (e.g. `/v1` missing): a configuration error. */
export class ApiUrlError extends FichierError {}
/** 5xx, 429, a network failure or a timeout: worth retrying. */
export class TransientError extends FichierError {
  override readonly retryable = true;
}
/** The answer could not be understood: HTML where JSON was expected, malformed JSON, missing fields. */
export class ProtocolError extends FichierError {}
/** The upload node refused the upload with an HTML page (its `bloc2` text is the serverMessage). */
export class UploadRefusedError extends FichierError {}
/** The bytes 1fichier stored do not match the bytes sent (Whirlpool or size mismatch). */
export class IntegrityError extends FichierError {}
/** Any other KO answer (e.g. `No file has been renamed #312`, a non-empty folder on folder/rm). */
export class RejectedError extends FichierError {}
/** A direct download link is expired, already used (single) or unknown: get a new token. */
export class DownloadLinkError extends FichierError {}
/** The caller aborted the operation through its AbortSignal. */
export class AbortedError extends FichierError {}

/** The first `#` followed by 1–3 digits anywhere in the text, as rclone parses it. */
export function parseErrorCode(message: string | undefined): number | undefined {
  if (!message) return undefined;
  const m = /#(\d{1,3})/.exec(message);
  return m ? Number(m[1]) : undefined;
}

/** Flood codes seen in the wild (§6): #374 (2020–2023), #412 (2024), #38 (user/info), #218 (user lock). */
export const FLOOD_CODES: ReadonlySet<number> = new Set([374, 412, 38, 218]);

/** Account locks: Owner locked (#620 reported by users of other tools, #649 seen by JDownloader), #887, #186. */
export const ACCOUNT_LOCK_CODES: ReadonlySet<number> = new Set([620, 649, 887, 186]);

export type Redactor = (text: string) => string;

/** Builds a function that removes every occurrence of the secrets from a text. */
export function makeRedactor(secrets: Array<string | undefined>): Redactor {
  const list = secrets.filter((s): s is string => typeof s === 'string' && s.length > 0);
  return (text: string) => {
    let out = text;
    for (const s of list) out = out.split(s).join('[redacted]');
    return out;
  };
}

const identity: Redactor = (t) => t;

function describe(endpoint: string | undefined, httpStatus: number | undefined, text: string): string {
  const where = endpoint ? `${endpoint}: ` : '';
  const status = httpStatus !== undefined ? ` (HTTP ${httpStatus})` : '';
  return `${where}${text}${status}`;
}

/**
 * Maps a KO (or an error HTTP status) to its typed error. `message` is 1fichier's message field
 * (may be empty when the body had none).
 */
export function classifyApiError(args: {
  httpStatus: number;
  message?: string;
  endpoint?: string;
  redact?: Redactor;
}): FichierError {
  const redact = args.redact ?? identity;
  const serverMessage = args.message !== undefined ? redact(args.message) : undefined;
  const text = serverMessage ?? '';
  const code = parseErrorCode(text);
  const { httpStatus, endpoint } = args;
  const details: FichierErrorDetails = { serverMessage, code, httpStatus, endpoint };
  const msg = describe(endpoint, httpStatus, text || `HTTP ${httpStatus}`);
  const lower = text.toLowerCase();

  if (lower.includes('flood') || (code !== undefined && FLOOD_CODES.has(code) && (httpStatus === 403 || httpStatus === 429 || lower.includes('lock')))) {
    return new FloodError(msg, details);
  }
  // Before the file-password rule: the lockout message may speak of the account's password.
  if (code === 93) return new PasswordLockoutError(msg, details);
  if (lower.includes('password')) return new PasswordError(msg, details);
  if (lower.includes('must be a customer') || (code === 200 && lower.includes('premium'))) {
    return new NotPremiumError(msg, details);
  }
  if (httpStatus === 401 || code === 247 || lower.includes('not authenticated') || lower.includes('no such user')) {
    return new AuthError(msg, details);
  }
  if (ACCOUNT_LOCK_CODES.has(code ?? -1) || lower.includes('owner locked') || /only \d+ locations? allowed/.test(lower)) {
    return new AccountLockedError(msg, details);
  }
  if (httpStatus === 404 || code === 469 || lower.includes('not found')) return new NotFoundError(msg, details);
  if (code === 631 || lower.includes('not allowed') || (httpStatus === 403 && !text)) return new ForbiddenError(msg, details);
  if (httpStatus >= 500 || httpStatus === 429 || httpStatus === 408) return new TransientError(msg, details);
  if (httpStatus === 403) return new ForbiddenError(msg, details);
  return new RejectedError(msg, details);
}

/** Connection-level codes: the request was never delivered. */
const REFUSED = new Set(['ECONNREFUSED']);
const DNS = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);
const NO_ROUTE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN', 'UND_ERR_CONNECT_TIMEOUT', 'EADDRNOTAVAIL']);
const TLS = /^(ERR_TLS_|ERR_SSL_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_|EPROTO$|HOSTNAME_MISMATCH)/;

function errorCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && !e.code.startsWith('UND_ERR_SOCKET')) return e.code;
  }
  return undefined;
}

/**
 * When `err` (from undici) means the request never reached the server, the error that says so:
 * the URL's origin, what failed and what to check. Undefined for failures after the request may
 * have been delivered (reset, timeout while waiting for the answer).
 */
export function unreachableError(endpoint: string, url: string, err: unknown, redact: Redactor = identity): UnreachableError | undefined {
  const code = errorCode(err);
  if (!code) return undefined;
  let where = url;
  try {
    const u = new URL(url);
    where = `${u.origin}${u.pathname.replace(/\/[^/]*\.(cgi|pl)$/, '').replace(/\/(user|folder|file|download|upload|remote)$/, '')}`;
  } catch {
    // keep the text as given
  }
  let what: string;
  if (REFUSED.has(code)) what = 'connection refused (nothing listens at that address and port): check --api-url';
  else if (DNS.has(code)) what = "the host name does not resolve (DNS): check --api-url and this machine's network and DNS";
  else if (NO_ROUTE.has(code)) what = 'no connection could be made (no route or timed out): check the network, a proxy or a firewall';
  else if (TLS.test(code)) what = "the TLS handshake failed: check the URL's scheme (https or http), this machine's clock and its CA certificates";
  else return undefined;
  const message = redact(`cannot reach the 1fichier API at ${where}: ${what} (${code})`);
  return new UnreachableError(`${endpoint}: ${message}`, { endpoint, cause: Object.assign(new Error(redact(code)), { name: 'Error' }) });
}

/** A transport-level failure (connection reset, refused, timeout) as a retryable error. */
export function networkError(endpoint: string, err: unknown, redact: Redactor = identity): TransientError {
  const e = err as { code?: unknown; message?: unknown; name?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const raw = typeof e?.message === 'string' ? e.message : String(err);
  const text = redact(code ? `${code}: ${raw}` : raw);
  // A fresh Error as the cause: the transport's own error object may reference the request.
  const cause = new Error(text);
  cause.name = typeof e?.name === 'string' ? e.name : 'Error';
  return new TransientError(describe(endpoint, undefined, `network error: ${text}`), { endpoint, cause });
}

/** The first non-empty `<div class="bloc2">` text of an upload node's HTML page. */
export function extractBloc2(html: string): string | undefined {
  const re = /<div[^>]*class\s*=\s*["']?[^"'>]*\bbloc2\b[^>]*>([\s\S]*?)<\/div>/gi;
  for (let m = re.exec(html); m; m = re.exec(html)) {
    const text = decodeHtmlText(m[1]);
    if (text) return text;
  }
  return undefined;
}

/** Strips tags and decodes the few entities a French status page uses. */
export function decodeHtmlText(fragment: string): string {
  return fragment
    .replace(/<[^>]*>/g, ' ')
    .replace(/&#(\d+);/g, (_, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h: string) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&nbsp;/g, ' ')
    .replace(/&eacute;/g, 'é')
    .replace(/&egrave;/g, 'è')
    .replace(/&agrave;/g, 'à')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}
