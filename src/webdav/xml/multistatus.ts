/**
 * A 207 Multi-Status written entry by entry, so a large folder's PROPFIND never sits in memory as
 * one string and the first bytes leave at once. Honours backpressure (waits for 'drain').
 */
import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
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

export class MultistatusWriter {
  private started = false;

  constructor(private readonly res: ServerResponse) {}

  private async write(chunk: string): Promise<void> {
    if (!this.started) {
      this.started = true;
      this.res.writeHead(207, { 'Content-Type': 'application/xml; charset=utf-8' });
      chunk = `${XML_DECLARATION}<D:multistatus xmlns:D="DAV:">` + chunk;
    }
    if (this.res.destroyed) throw new Error('client went away');
    if (!this.res.write(chunk)) {
      await Promise.race([once(this.res, 'drain'), once(this.res, 'close')]);
    }
  }

  async propstatResponse(href: string, propstats: PropStat[]): Promise<void> {
    const parts = propstats
      .map((ps) => {
        const err = ps.errorXml ? `<D:error>${ps.errorXml}</D:error>` : '';
        const desc = ps.description ? `<D:responsedescription>${escapeXml(ps.description)}</D:responsedescription>` : '';
        return `<D:propstat><D:prop>${ps.propsXml}</D:prop><D:status>${statusLine(ps.status)}</D:status>${err}${desc}</D:propstat>`;
      })
      .join('');
    await this.write(`<D:response>${hrefElement(href)}${parts}</D:response>`);
  }

  async statusResponse(href: string, status: number, errorXml?: string): Promise<void> {
    const err = errorXml ? `<D:error>${errorXml}</D:error>` : '';
    await this.write(`<D:response>${hrefElement(href)}<D:status>${statusLine(status)}</D:status>${err}</D:response>`);
  }

  async end(): Promise<void> {
    await this.write('</D:multistatus>');
    this.res.end();
  }
}
