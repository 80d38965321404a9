/**
 * Test helpers that speak plain HTTP to the simulator (no client code): JSON API calls, a
 * hand-built multipart body, and raw requests with node:http for the cases fetch cannot express
 * (chunked uploads, exact headers, broken connections).
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { whirlpool } from 'hash-wasm';
import type { Simulator } from '../../src/simulator/index.js';

export interface ApiResult {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown>;
}

export async function api(
  sim: Simulator,
  endpoint: string,
  body?: unknown,
  init: { key?: string | null; contentType?: string | null; method?: string; rawBody?: string } = {},
): Promise<ApiResult> {
  const headers: Record<string, string> = {};
  const key = init.key === undefined ? sim.apiKey : init.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const ct = init.contentType === undefined ? 'application/json' : init.contentType;
  if (ct !== null) headers['content-type'] = ct;
  const method = init.method ?? 'POST';
  const res = await fetch(`${sim.apiUrl}/${endpoint}`, {
    method,
    headers,
    body: method === 'GET' ? undefined : init.rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* non-JSON answers are asserted through `text` */
  }
  return { status: res.status, headers: res.headers, text, json };
}

export interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer | string;
}

/** A multipart/form-data body built by hand (unquoted boundary in the header, quoted names). */
export function multipart(parts: Part[]): { body: Buffer; contentType: string } {
  const boundary = `----simtest${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    // Quoted-string escaping as Go's mime/multipart (rclone) does it.
    if (p.filename !== undefined) head += `; filename="${p.filename.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
    head += '\r\n';
    if (p.filename !== undefined) head += `Content-Type: ${p.contentType ?? 'application/octet-stream'}\r\n`;
    head += '\r\n';
    chunks.push(Buffer.from(head, 'utf8'), Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data, 'utf8'), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Set when the connection broke before the body was complete. */
  error?: Error;
}

/** One raw HTTP/1.1 request; `chunked` sends the body without Content-Length. Never follows redirects. */
export function raw(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: Buffer | string; chunked?: boolean } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const body = init.body === undefined ? undefined : Buffer.isBuffer(init.body) ? init.body : Buffer.from(init.body);
    const headers: Record<string, string | number> = { ...init.headers };
    if (body && !init.chunked) headers['content-length'] = body.length;
    if (init.chunked) headers['transfer-encoding'] = 'chunked';
    const req = httpRequest(u, { method: init.method ?? 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (error) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), error }));
      res.on('aborted', () => undefined);
    });
    req.on('error', reject);
    if (body) {
      if (init.chunked) {
        req.write(body.subarray(0, Math.ceil(body.length / 2)));
        req.end(body.subarray(Math.ceil(body.length / 2)));
      } else req.end(body);
    } else req.end();
  });
}

export async function getUploadServer(sim: Simulator): Promise<{ url: string; id: string }> {
  const r = await api(sim, 'upload/get_upload_server.cgi', undefined, { method: 'GET' });
  if (r.status !== 200) throw new Error(`get_upload_server: ${r.status} ${r.text}`);
  return r.json as { url: string; id: string };
}

export interface UploadOutcome {
  node: { url: string; id: string };
  post: RawResponse;
  endPl?: ApiResult;
}

/** The full 3-step upload: node, multipart POST, end.pl with `JSON: 1`. */
export async function upload(
  sim: Simulator,
  filename: string,
  data: Buffer | string,
  opts: { did?: number; key?: string | null; extraParts?: Part[] } = {},
): Promise<UploadOutcome> {
  const node = await getUploadServer(sim);
  const parts: Part[] = [{ name: 'file[]', filename, data }];
  if (opts.did !== undefined) parts.push({ name: 'did', data: String(opts.did) });
  parts.push(...(opts.extraParts ?? []));
  const mp = multipart(parts);
  const headers: Record<string, string> = { 'content-type': mp.contentType };
  const key = opts.key === undefined ? sim.apiKey : opts.key;
  if (key !== null) headers.authorization = `Bearer ${key}`;
  const post = await raw(`http://${node.url}/upload.cgi?id=${node.id}`, { method: 'POST', headers, body: mp.body });
  if (post.status !== 302) return { node, post };
  const endPl = await endPlJson(sim, node);
  return { node, post, endPl };
}

export async function endPlJson(sim: Simulator, node: { url: string; id: string }, host = node.url): Promise<ApiResult> {
  const res = await fetch(`http://${host}/end.pl?xid=${node.id}`, { headers: { JSON: '1', authorization: `Bearer ${sim.apiKey}` } });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    /* HTML */
  }
  return { status: res.status, headers: res.headers, text, json };
}

export async function whirlpoolHex(data: Buffer | string): Promise<string> {
  return whirlpool(Buffer.isBuffer(data) ? data : Buffer.from(data));
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Options that switch the limits off, for tests about something else. */
export const NO_LIMITS = { limitsEnabled: false } as const;
