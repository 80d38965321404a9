/**
 * The direct path: what a hand-written client does against the simulator with no bridge in
 * between (folder/ls.cgi, get_token + plain GETs on the download host, the 3-step multipart
 * upload built by hand). It is the yardstick every bridge figure is divided by.
 */
import { Readable } from 'node:stream';
import { elapsedMs, now } from './clock.js';
import { expectStatus, timed, type Timed } from './http.js';
import { Pacer } from './pacer.js';
import { payload } from './payload.js';
import type { SimAddresses } from './sim-child.js';

export interface ListingItem {
  name: string;
  id?: number;
  url?: string;
  size?: number;
}

export class DirectClient {
  apiCalls = 0;
  private readonly pacer: Pacer;

  constructor(
    private readonly sim: SimAddresses,
    ratePerSecond: number,
  ) {
    this.pacer = new Pacer(ratePerSecond);
  }

  private get scheme(): string {
    return new URL(this.sim.apiOrigin).protocol.replace(':', '');
  }

  async api(endpoint: string, body: unknown, method = 'POST'): Promise<{ json: Record<string, unknown>; ms: number }> {
    await this.pacer.take();
    this.apiCalls++;
    const started = now();
    const res = await expectStatus(
      `${this.sim.apiUrl}/${endpoint}`,
      {
        method,
        headers: { Authorization: `Bearer ${this.sim.apiKey}`, 'Content-Type': 'application/json' },
        body: method === 'POST' ? JSON.stringify(body) : undefined,
        keepBody: true,
      },
      [200],
    );
    const json = JSON.parse(res.body!.toString('utf8')) as Record<string, unknown>;
    if (json.status === 'KO') throw new Error(`${endpoint}: ${String(json.message)}`);
    return { json, ms: elapsedMs(started) };
  }

  /** One folder/ls.cgi with files:1, timed from request to parsed JSON. */
  async listFolder(folderId: number): Promise<{ ms: number; folders: ListingItem[]; files: ListingItem[] }> {
    const { json, ms } = await this.api('folder/ls.cgi', { folder_id: folderId, files: 1 });
    const folders = ((json.sub_folders as Record<string, unknown>[] | undefined) ?? []).map((f) => ({ name: String(f.name), id: Number(f.id) }));
    const files = ((json.items as Record<string, unknown>[] | undefined) ?? []).map((f) => ({
      name: String(f.filename),
      url: String(f.url),
      size: Number(f.size),
    }));
    return { ms, folders, files };
  }

  /** A download link for `fileUrl` (one API call). */
  async token(fileUrl: string): Promise<string> {
    const { json } = await this.api('download/get_token.cgi', { url: fileUrl });
    return String(json.url);
  }

  get(link: string, range?: { start: number; end: number }, keepBody = false): Promise<Timed> {
    const headers: Record<string, string> = range ? { Range: `bytes=${range.start}-${range.end}` } : {};
    return expectStatus(link, { headers, keepBody }, range ? [206] : [200]);
  }

  /** get_upload_server + multipart POST with Content-Length + end.pl, the body built by hand. */
  async upload(name: string, size: number, folderId: number): Promise<{ ms: number; whirlpool: string }> {
    const started = now();
    const { json } = await this.api('upload/get_upload_server.cgi', undefined, 'GET');
    const node = `${this.scheme}://${String(json.url)}`;
    const id = String(json.id);
    const boundary = `----fichierdavbench${Date.now().toString(16)}`;
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="did"\r\n\r\n${folderId}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file[]"; filename="${name}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    async function* body(): AsyncGenerator<Buffer> {
      yield head;
      for await (const chunk of payload(size)) yield chunk as Buffer;
      yield tail;
    }
    await expectStatus(
      `${node}/upload.cgi?id=${id}`,
      {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${this.sim.apiKey}`,
          'Content-Type': `multipart/form-data; boundary=${boundary}`,
          'Content-Length': String(head.length + size + tail.length),
        },
        body: Readable.from(body()),
      },
      [302],
    );
    const report = await expectStatus(
      `${node}/end.pl?xid=${id}`,
      { headers: { Authorization: `Bearer ${this.sim.apiKey}`, JSON: '1' }, keepBody: true },
      [200],
    );
    const links = (JSON.parse(report.body!.toString('utf8')) as { links?: { whirlpool?: string; size?: string }[] }).links ?? [];
    if (links.length !== 1 || Number(links[0]!.size) !== size) throw new Error(`direct upload: unexpected end.pl report ${report.body!.toString('utf8').slice(0, 200)}`);
    return { ms: elapsedMs(started), whirlpool: String(links[0]!.whirlpool) };
  }
}

export { timed };
