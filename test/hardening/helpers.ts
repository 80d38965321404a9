/**
 * Helpers for the hardening tests: the bridge over the simulator (test/integration/helpers.ts)
 * with a logger that records every line, and a raw HTTP(S) client that sends any method, path,
 * header and body exactly as crafted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BridgeOptions } from '../../src/cli/bridge.js';
import type { StartOptions } from '../../src/simulator/index.js';
import type { Logger } from '../../src/webdav/handler.js';
import { startStack, type Stack } from '../integration/helpers.js';

export { KEY } from '../integration/helpers.js';

export interface RecordedLog extends Logger {
  lines: string[];
  errors: string[];
}

export function recordLog(): RecordedLog {
  const lines: string[] = [];
  const errors: string[] = [];
  const record = (level: string) => (message: string, fields?: Record<string, unknown>) => {
    const line = `${level} ${message} ${JSON.stringify(fields ?? {})}`;
    lines.push(line);
    if (level === 'error') errors.push(line);
  };
  return { lines, errors, info: record('info'), warn: record('warn'), error: record('error') };
}

export interface HardStack extends Stack {
  log: RecordedLog;
  port: number;
  req(spec: RawRequest): Promise<RawResponse>;
}

export async function startHardStack(simOptions: StartOptions = {}, bridgeOptions: Partial<BridgeOptions> = {}): Promise<HardStack> {
  const log = recordLog();
  // Our own state dir, removed with retries: background cache writes may still land while closing.
  const stateDir = bridgeOptions.stateDir ?? (await mkdtemp(join(tmpdir(), 'fichier-dav-hard-')));
  const stack = await startStack(simOptions, { logger: log, stateDir, ...bridgeOptions });
  const port = stack.bridge.port;
  const tls = bridgeOptions.tls !== undefined;
  return {
    ...stack,
    log,
    port,
    req: (spec) => rawRequest(port, spec, tls),
    async close() {
      await stack.close();
      if (!bridgeOptions.stateDir) await rm(stateDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    },
  };
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string | number | string[]>;
  body?: string | Buffer;
  /** Basic credentials, sent as UTF-8. */
  auth?: { user: string; password: string };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

export function rawRequest(port: number, spec: RawRequest, tls = false): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number | string[]> = { ...(spec.headers ?? {}) };
    if (spec.auth) headers.Authorization = basic(spec.auth.user, spec.auth.password);
    if (spec.body !== undefined && headers['Content-Length'] === undefined && headers['Transfer-Encoding'] === undefined) {
      headers['Content-Length'] = Buffer.byteLength(spec.body);
    }
    const options = { host: '127.0.0.1', port, method: spec.method ?? 'GET', path: spec.path, headers, agent: false as const };
    const onResponse = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    };
    const req = tls ? https.request({ ...options, rejectUnauthorized: false }, onResponse) : http.request(options, onResponse);
    req.on('error', reject);
    if (spec.body !== undefined) req.end(spec.body);
    else req.end();
  });
}

/** Sends raw bytes; resolves with everything the server sent until it closed (or `waitMs` passed). */
export function rawExchange(port: number, text: string | Buffer, waitMs = 5_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let data = '';
    socket.setEncoding('latin1');
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('error', (error) => {
      clearTimeout(timer);
      if (data) resolve(data);
      else reject(error);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(data);
    });
  });
}

export const PROPFIND_ALLPROP = `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`;

/** A Depth-1 PROPFIND of `path` that must answer 207 (the server is alive and serving). */
export async function assertAlive(stack: { req(spec: RawRequest): Promise<RawResponse> }, path = '/', auth?: RawRequest['auth']): Promise<RawResponse> {
  const r = await stack.req({ method: 'PROPFIND', path, headers: { Depth: '1' }, auth });
  if (r.status !== 207) throw new Error(`server not alive: PROPFIND ${path} → ${r.status} ${r.text.slice(0, 200)}`);
  return r;
}
