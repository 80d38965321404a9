/**
 * A 207 Multi-Status written entry by entry, so a large folder's PROPFIND never sits in memory as
 * one string. Entries are gathered into chunks of about `CHUNK_CHARS` before each socket write: a
 * write per entry cost a syscall-sized overhead per file and, past the socket's high-water mark, a
 * 'drain' wait per entry. Honours backpressure (waits for 'drain' between chunks).
 */
import type { ServerResponse } from 'node:http';
import { hrefElement, statusLine, XML_DECLARATION } from './write.js';
import { escapeXml } from './escape.js';

export interface PropStat {
  status: number;
  /** Concatenated property elements (see propertyElement). */
  propsXml: string;
  /** Optional <D:error> content and <D:responsedescription>. */
  errorXml?: string;
  description?: string;
}

/** Characters gathered before a socket write (about 64 KiB). */
const CHUNK_CHARS = 64 * 1024;

/** A whole `<D:response>` element with its propstats, as `propstatResponse` writes it. */
export function propstatResponseXml(href: string, propstats: PropStat[]): string {
  const parts = propstats
    .map((ps) => {
      const err = ps.errorXml ? `<D:error>${ps.errorXml}</D:error>` : '';
      const desc = ps.description ? `<D:responsedescription>${escapeXml(ps.description)}</D:responsedescription>` : '';
      return `<D:propstat><D:prop>${ps.propsXml}</D:prop><D:status>${statusLine(ps.status)}</D:status>${err}${desc}</D:propstat>`;
    })
    .join('');
  return `<D:response>${hrefElement(href)}${parts}</D:response>`;
}

export class MultistatusWriter {
  private started = false;
  private pending = '';
  /** The encoded chunks written so far, when recording (see `recorded`). */
  private readonly chunks: Buffer[] | undefined;

  /** `record`: keep the encoded body so the caller can store it (`recorded()` after `end()`). */
  constructor(
    private readonly res: ServerResponse,
    options: { record?: boolean } = {},
  ) {
    this.chunks = options.record ? [] : undefined;
  }

  /** The whole body as sent (its chunks, in order), once `end()` resolved; undefined when not recording. */
  recorded(): readonly Buffer[] | undefined {
    return this.chunks;
  }

  /** Encodes a chunk once: what the socket gets is what a recording keeps. */
  private encode(chunk: string): Buffer {
    const bytes = Buffer.from(chunk, 'utf8');
    if (bytes.length > 0) this.chunks?.push(bytes);
    return bytes;
  }

  private async write(chunk: string): Promise<void> {
    if (!this.started) {
      this.started = true;
      this.res.writeHead(207, { 'Content-Type': 'application/xml; charset=utf-8' });
      chunk = `${XML_DECLARATION}<D:multistatus xmlns:D="DAV:">` + chunk;
    }
    this.pending += chunk;
    if (this.pending.length >= CHUNK_CHARS) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.res.destroyed) throw new Error('client went away');
    const chunk = this.pending;
    this.pending = '';
    if (chunk !== '' && !this.res.write(this.encode(chunk))) await drained(this.res);
  }

  /**
   * Adds an already serialised `<D:response>` element (see propstatResponseXml). Returns a promise
   * only when a chunk went to the socket (await it: backpressure), so a listing's entries do not
   * each cost a microtask turn.
   */
  add(xml: string): Promise<void> | undefined {
    if (!this.started) return this.write(xml);
    this.pending += xml;
    return this.pending.length >= CHUNK_CHARS ? this.flush() : undefined;
  }

  async propstatResponse(href: string, propstats: PropStat[]): Promise<void> {
    await this.write(propstatResponseXml(href, propstats));
  }

  async statusResponse(href: string, status: number, errorXml?: string): Promise<void> {
    const err = errorXml ? `<D:error>${errorXml}</D:error>` : '';
    await this.write(`<D:response>${hrefElement(href)}<D:status>${statusLine(status)}</D:status>${err}</D:response>`);
  }

  async end(): Promise<void> {
    await this.write('</D:multistatus>');
    if (this.res.destroyed) throw new Error('client went away');
    this.res.end(this.encode(this.pending));
    this.pending = '';
  }
}

/**
 * Sends a whole 207 body stored earlier (MultistatusWriter.recorded), with its length. The chunks
 * go out in one corked batch (one writev), without copying them into a single buffer first.
 */
export function sendMultistatus(res: ServerResponse, body: readonly Buffer[]): void {
  let length = 0;
  for (const chunk of body) length += chunk.length;
  res.writeHead(207, { 'Content-Type': 'application/xml; charset=utf-8', 'Content-Length': length });
  res.cork();
  for (const chunk of body) res.write(chunk);
  res.end();
  res.uncork();
}

/**
 * Waits for 'drain' or 'close', removing both listeners afterwards (a Promise.race of two
 * events.once left the loser attached, one more listener per wait on a long answer).
 */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
