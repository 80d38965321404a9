/**
 * GETs of download links on plain keep-alive sockets: the transport of every byte the bridge
 * streams. The API calls keep undici (http.ts); downloads do not, because what a download costs is
 * CPU per byte, and there undici is the bridge's largest cost after the kernel: on the bench
 * machine a relay reading its upstream through undici spent 1.5-2.0 CPU s/GiB, the same relay
 * reading a socket straight into buffers it hands on 0.6-0.8 (docs/performance.md, "Why downloads
 * have their own transport"). A home server or a NAS streams at whatever its CPU allows.
 *
 * What it does is only what a GET of a file needs: one request per connection at a time, the
 * response head (response-head.ts), a body framed by Content-Length, chunked coding
 * (chunked-body.ts) or the connection's end, back-pressure from the body's reader to the socket,
 * keep-alive reuse, one retry of a request that met a connection the server had closed (or answered
 * 408) while idle,
 * a timeout while bytes are awaited, TLS for https links.
 *
 * Reads of plain sockets go straight into slabs of memory (`onread`): each read lands after the
 * previous one, and the body's chunks are views of the slab, handed on without a copy.
 */
import net from 'node:net';
import { Readable } from 'node:stream';
import tls from 'node:tls';
import { ChunkedDecoder } from './chunked-body.js';
import { bodyFraming, keepsAlive, parseResponseHead, type BodyFraming, type ResponseHead } from './response-head.js';

/** Memory one plain socket reads into; a new slab starts when less than MIN_READ is left. */
const SLAB_BYTES = 1024 * 1024;
const MIN_READ = 64 * 1024;
/**
 * TLS hands decrypted bytes over one record (16 KiB) at a time: 65 536 chunks per GiB, each a trip
 * through every stream stage behind the body. The records of one socket read are joined (one copy)
 * into chunks of up to this size before they are delivered.
 */
const TLS_JOIN_BYTES = 256 * 1024;
/** The body's buffer: past this the socket stops being read until the reader takes more. */
const BODY_HIGH_WATER = 256 * 1024;
/** Interim (1xx) answers accepted before the final one of a GET (real hosts send one or two at most). */
const MAX_INTERIM = 32;

export interface DownloadSocketOptions {
  /** Ms without a byte, while bytes are awaited (head, or a body its reader wants), before the GET fails. */
  timeoutMs: number;
  /** Idle connections kept per origin for the next GET. Default 8. */
  maxIdlePerOrigin?: number;
  /** Ms an idle connection is kept. Default 30 000. */
  idleMs?: number;
  /** Extra TLS options for https links (a CA in tests); the host name is always checked. */
  tls?: tls.ConnectionOptions;
}

export interface DownloadAnswer {
  status: number;
  /** Lower-case names; a repeated field is an array. */
  headers: Record<string, string | string[]>;
  /**
   * The body, framed as the head says. Ends after its last byte; errors if the connection ends
   * or fails first, if the framing is broken, after `timeoutMs` without a byte while the reader
   * wants more, or when the signal aborts (an error named AbortError). Destroying it drops the
   * connection.
   */
  body: Readable;
}

/** A failure of the connection or of the HTTP framing (code: the system error's, or one of ours). */
export class DownloadSocketError extends Error {
  override name = 'DownloadSocketError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** Hands out consecutive pieces of one allocation for socket reads. */
class Slab {
  private buffer = Buffer.allocUnsafe(SLAB_BYTES);
  private at = 0;

  next(): Buffer {
    if (this.buffer.length - this.at < MIN_READ) {
      this.buffer = Buffer.allocUnsafe(SLAB_BYTES);
      this.at = 0;
    }
    return this.buffer.subarray(this.at);
  }

  /** The last piece handed out received `bytes`. */
  used(bytes: number): void {
    this.at += bytes;
  }
}

/** What one connection delivers to whoever uses it now. */
interface Receiver {
  bytes(data: Buffer): void;
  /** The connection ended or failed. */
  ended(error: Error | undefined): void;
}

class Connection {
  receiver: Receiver | undefined;
  /** Whether a byte of the current exchange arrived (a reused connection that failed before that is retried). */
  answered = false;
  idleTimer: NodeJS.Timeout | undefined;
  dead = false;
  readonly socket: net.Socket;

  constructor(
    readonly origin: string,
    url: URL,
    options: DownloadSocketOptions,
  ) {
    const port = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (url.protocol === 'https:') {
      this.socket = tls.connect({
        ...options.tls,
        host,
        port,
        servername: net.isIP(host) ? undefined : host,
        ALPNProtocols: ['http/1.1'],
      });
      this.socket.on('data', (data: Buffer) => this.join(data));
    } else {
      const slab = new Slab();
      this.socket = net.connect({
        host,
        port,
        onread: {
          buffer: () => slab.next(),
          callback: (bytes: number, buffer: Uint8Array) => {
            slab.used(bytes);
            this.deliver(Buffer.from(buffer.buffer, buffer.byteOffset, bytes));
            // Pausing is the receiver's to do (socket.pause()), not this return value's.
            return true;
          },
        },
      });
    }
    this.socket.setNoDelay(true);
    this.socket.on('end', () => this.end(undefined));
    this.socket.on('error', (error: Error & { code?: string }) => this.end(new DownloadSocketError(error.message, error.code ?? 'ECONNRESET')));
    this.socket.on('close', () => this.end(new DownloadSocketError('the download host closed the connection', 'ECONNRESET')));
  }

  /** TLS records waiting to be delivered as one chunk (see TLS_JOIN_BYTES). */
  private joined: Buffer[] = [];
  private joinedBytes = 0;
  private flushScheduled = false;

  private join(data: Buffer): void {
    this.joined.push(data);
    this.joinedBytes += data.length;
    if (this.joinedBytes >= TLS_JOIN_BYTES) this.flushJoined();
    else if (!this.flushScheduled) {
      // The records of this read all arrive before the event loop moves on: deliver them then.
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flushJoined();
      });
    }
  }

  private flushJoined(): void {
    if (this.joined.length === 0) return;
    const data = this.joined.length === 1 ? this.joined[0]! : Buffer.concat(this.joined, this.joinedBytes);
    this.joined = [];
    this.joinedBytes = 0;
    this.deliver(data);
  }

  private deliver(data: Buffer): void {
    if (data.length === 0) return;
    this.answered = true;
    if (this.receiver) this.receiver.bytes(data);
    // Bytes on an idle connection: nothing asked for them; it cannot be trusted with a next request.
    else this.destroy();
  }

  private end(error: Error | undefined): void {
    if (this.dead) return;
    // Bytes that arrived before the end are the body's last ones.
    this.flushJoined();
    if (this.dead) return;
    this.dead = true;
    clearTimeout(this.idleTimer);
    const receiver = this.receiver;
    this.receiver = undefined;
    receiver?.ended(error);
    if (!this.socket.destroyed) this.socket.destroy();
  }

  destroy(): void {
    this.end(new DownloadSocketError('connection dropped', 'ECONNRESET'));
  }
}

export class DownloadSockets {
  private readonly idle = new Map<string, Connection[]>();
  private readonly live = new Set<Connection>();
  private closed = false;

  constructor(private readonly options: DownloadSocketOptions) {}

  /**
   * GET `url` with `headers` (no Host, Connection or framing headers: those are ours). Resolves
   * once the response head arrived, whatever its status. Rejects with DownloadSocketError for a
   * connection or framing failure before the head, with an AbortError when `signal` aborts, and
   * with a TypeError for a URL that is not http(s) or a header value with CR or LF.
   */
  get(url: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<DownloadAnswer> {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return Promise.reject(new TypeError('a download URL must be http(s)'));
    let head = `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n`;
    for (const [name, value] of Object.entries(headers)) {
      if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) return Promise.reject(new TypeError(`header ${JSON.stringify(name)} holds a line break`));
      head += `${name}: ${value}\r\n`;
    }
    head += '\r\n';
    if (this.closed) return Promise.reject(new DownloadSocketError('the download transport is closed', 'ECLOSED'));
    return this.exchange(url, head, signal, true);
  }

  /** Drops every idle connection; GETs in progress go on until they end. */
  close(): void {
    this.closed = true;
    for (const list of this.idle.values()) for (const connection of list) connection.destroy();
    this.idle.clear();
  }

  private take(url: URL): { connection: Connection; reused: boolean } {
    const list = this.idle.get(url.origin);
    while (list?.length) {
      const connection = list.pop()!;
      clearTimeout(connection.idleTimer);
      if (!connection.dead) return { connection, reused: true };
    }
    return { connection: new Connection(url.origin, url, this.options), reused: false };
  }

  private release(connection: Connection): void {
    connection.receiver = undefined;
    this.live.delete(connection);
    const list = this.idle.get(connection.origin) ?? [];
    if (this.closed || connection.dead || list.length >= (this.options.maxIdlePerOrigin ?? 8)) {
      connection.destroy();
      return;
    }
    list.push(connection);
    this.idle.set(connection.origin, list);
    connection.socket.setTimeout(0);
    connection.socket.resume();
    connection.receiver = {
      bytes: () => connection.destroy(),
      ended: () => {
        const at = list.indexOf(connection);
        if (at >= 0) list.splice(at, 1);
      },
    };
    connection.idleTimer = setTimeout(() => connection.destroy(), this.options.idleMs ?? 30_000);
    connection.idleTimer.unref();
  }

  private exchange(url: URL, requestHead: string, signal: AbortSignal | undefined, mayRetry: boolean): Promise<DownloadAnswer> {
    return new Promise<DownloadAnswer>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError());
      const { connection, reused } = this.take(url);
      this.live.add(connection);
      connection.answered = false;
      const socket = connection.socket;
      let pending: Buffer | undefined;
      let body: Readable | undefined;
      let framing: BodyFraming | undefined;
      let response: ResponseHead | undefined;
      let remaining = 0;
      let decoder: ChunkedDecoder | undefined;
      let finished = false;
      let interim = 0;

      const onAbort = (): void => fail(abortError());
      signal?.addEventListener('abort', onAbort, { once: true });
      const timeout = (): void => fail(new DownloadSocketError(`no byte from the download host for ${this.options.timeoutMs} ms`, 'ETIMEDOUT'));
      socket.on('timeout', timeout);
      socket.setTimeout(this.options.timeoutMs);
      // The whole head, not only each byte of it, is due within timeoutMs (undici's headersTimeout):
      // a host dribbling its head a byte at a time, or an endless run of 1xx answers, would
      // otherwise hold the GET (and one of the account's download slots) for days.
      const headTimer = setTimeout(() => fail(new DownloadSocketError(`no complete response head within ${this.options.timeoutMs} ms`, 'ETIMEDOUT')), this.options.timeoutMs);
      headTimer.unref();

      const cleanUp = (): void => {
        finished = true;
        clearTimeout(headTimer);
        signal?.removeEventListener('abort', onAbort);
        socket.setTimeout(0);
        socket.removeListener('timeout', timeout);
      };
      const fail = (error: Error): void => {
        if (finished) return;
        cleanUp();
        this.live.delete(connection);
        connection.receiver = undefined;
        connection.destroy();
        if (body) body.destroy(error);
        else reject(error);
      };
      const complete = (reusable: boolean): void => {
        if (finished) return;
        cleanUp();
        body!.push(null);
        if (reusable && response && keepsAlive(response)) this.release(connection);
        else {
          this.live.delete(connection);
          connection.receiver = undefined;
          connection.destroy();
        }
      };
      const deliver = (data: Buffer): void => {
        if (data.length > 0 && !body!.push(data)) {
          // The reader is behind: stop reading the socket (back-pressure reaches the host), and
          // stop the clock too: a reader that holds its stream is not the host going silent.
          socket.pause();
          socket.setTimeout(0);
        }
      };
      const onBody = (data: Buffer): void => {
        if (framing!.kind === 'close') return deliver(data);
        if (framing!.kind === 'length') {
          const take = Math.min(remaining, data.length);
          remaining -= take;
          deliver(take === data.length ? data : data.subarray(0, take));
          // Bytes past the body: the host sent what was not asked; the connection is not reused.
          if (remaining === 0) complete(take === data.length);
          return;
        }
        let rest: Buffer;
        try {
          rest = decoder!.write(data, deliver);
        } catch (error) {
          return fail(new DownloadSocketError((error as Error).message, 'EPROTO'));
        }
        if (decoder!.done) complete(rest.length === 0);
      };
      const onHead = (data: Buffer): void => {
        pending = pending ? Buffer.concat([pending, data]) : data;
        let head: ResponseHead | undefined;
        // A loop, not a recursion, over the interim answers (100 Continue, 103 Early Hints) one
        // packet may hold before the final one: a packet of thousands would overflow the stack
        // inside the socket's read callback, which crashes the process.
        for (;;) {
          try {
            head = parseResponseHead(pending);
            if (!head) return;
            framing = bodyFraming(head);
          } catch (error) {
            return fail(new DownloadSocketError((error as Error).message, 'EPROTO'));
          }
          if (head.status >= 200) break;
          framing = undefined;
          // A host answering nothing but interim answers would hold the GET for ever: the timeout
          // never fires while bytes arrive.
          if (++interim > MAX_INTERIM) return fail(new DownloadSocketError(`more than ${MAX_INTERIM} interim (1xx) answers`, 'EPROTO'));
          pending = pending.subarray(head.length);
          if (pending.length === 0) {
            pending = undefined;
            return;
          }
        }
        const rest = pending.subarray(head.length);
        pending = undefined;
        if (head.status === 408 && reused && mayRetry && !signal?.aborted) {
          // A host timing out an idle connection may say so with a 408 before it closes it
          // (nginx, Apache): met on a reused connection it answers no request of ours, so ask
          // again on a new one rather than take it for the link's answer.
          cleanUp();
          this.live.delete(connection);
          connection.receiver = undefined;
          connection.destroy();
          this.exchange(url, requestHead, signal, false).then(resolve, reject);
          return;
        }
        response = head;
        clearTimeout(headTimer);
        remaining = framing.kind === 'length' ? framing.bytes : 0;
        if (framing.kind === 'chunked') decoder = new ChunkedDecoder();
        body = new Readable({
          highWaterMark: BODY_HIGH_WATER,
          read: () => {
            if (finished || !socket.isPaused()) return;
            socket.setTimeout(this.options.timeoutMs);
            socket.resume();
          },
          destroy: (error, callback) => {
            // A reader that leaves before the end: the rest of the body cannot be skipped cheaply.
            if (!finished) fail(error ?? abortError());
            callback(error);
          },
        });
        // The body can fail before its reader attaches listeners (a broken chunk in the head's
        // packet): that must reach the reader, not crash the process as an unhandled 'error'.
        body.on('error', () => {});
        resolve({ status: head.status, headers: head.headers, body });
        if (framing.kind === 'none' || (framing.kind === 'length' && remaining === 0)) complete(rest.length === 0);
        else if (rest.length > 0) onBody(rest);
      };

      connection.receiver = {
        bytes: (data) => (response ? onBody(data) : onHead(data)),
        ended: (error) => {
          if (finished) return;
          if (response && framing?.kind === 'close' && !error) return complete(false);
          if (!response && reused && !connection.answered && mayRetry && !signal?.aborted) {
            // The host closed this idle connection as we reused it: nothing was answered, ask again.
            cleanUp();
            this.live.delete(connection);
            this.exchange(url, requestHead, signal, false).then(resolve, reject);
            return;
          }
          const why = response
            ? `the download host ended the answer early (${framing?.kind === 'length' ? `${remaining} bytes missing` : 'chunked body unfinished'})`
            : 'the download host closed the connection before answering';
          fail(error && !response ? error : new DownloadSocketError(error ? `${why}: ${error.message}` : why, 'ECONNRESET'));
        },
      };
      socket.resume();
      socket.write(requestHead);
    });
  }
}

function abortError(): Error {
  const error = new Error('download aborted');
  error.name = 'AbortError';
  return error;
}
