/**
 * Timed HTTP requests for both paths, over one keep-alive undici Agent. Time to first byte is
 * measured to the first body chunk (what a player waits for), total time to the body's end.
 */
import { Agent, request } from 'undici';
import type { Readable } from 'node:stream';
import { elapsedMs, now } from './clock.js';

export const agent = new Agent({
  connections: 256,
  keepAliveTimeout: 60_000,
  headersTimeout: 600_000,
  bodyTimeout: 600_000,
});

export interface RequestSpec {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | Readable;
  /** Keep the body bytes (for comparisons); otherwise they are only counted. */
  keepBody?: boolean;
  signal?: AbortSignal;
}

export interface Timed {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: number;
  ttfbMs: number;
  totalMs: number;
  body?: Buffer;
}

export async function timed(url: string, spec: RequestSpec = {}): Promise<Timed> {
  const started = now();
  const res = await request(url, {
    dispatcher: agent,
    method: (spec.method ?? 'GET') as 'GET',
    headers: spec.headers,
    body: spec.body,
    signal: spec.signal,
  });
  let ttfbMs = -1;
  let bytes = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    if (ttfbMs < 0) ttfbMs = elapsedMs(started);
    bytes += chunk.length;
    if (spec.keepBody) chunks.push(chunk);
  }
  const totalMs = elapsedMs(started);
  return {
    status: res.statusCode,
    headers: res.headers,
    bytes,
    ttfbMs: ttfbMs < 0 ? totalMs : ttfbMs,
    totalMs,
    body: spec.keepBody ? Buffer.concat(chunks) : undefined,
  };
}

/** Same as timed() but a non-expected status is an error (with a short reason). */
export async function expectStatus(url: string, spec: RequestSpec, ok: number[]): Promise<Timed> {
  const result = await timed(url, spec);
  if (!ok.includes(result.status)) {
    const text = result.body ? result.body.toString('utf8').slice(0, 200) : '';
    throw new Error(`${spec.method ?? 'GET'} ${new URL(url).pathname} answered ${result.status} ${text}`);
  }
  return result;
}

export function rangeHeader(start: number, end: number): Record<string, string> {
  return { Range: `bytes=${start}-${end}` };
}

export interface Drained {
  status: number;
  bytes: number;
  ms: number;
  /** Milliseconds until the response head arrived (for the bridge: its API calls and their pacing). */
  headMs: number;
  /** False when the time cap cut the transfer short. */
  complete: boolean;
}

/**
 * Reads a (large) body for at most `capMs`: a transfer slower than the run's time budget is cut
 * and its throughput still reported from the bytes that arrived.
 */
export async function drainFor(url: string, headers: Record<string, string>, capMs: number): Promise<Drained> {
  const started = now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), capMs);
  let bytes = 0;
  let status = 0;
  let headMs = 0;
  try {
    const res = await request(url, { dispatcher: agent, headers, signal: controller.signal });
    headMs = elapsedMs(started);
    status = res.statusCode;
    for await (const chunk of res.body as AsyncIterable<Buffer>) bytes += chunk.length;
    return { status, bytes, ms: elapsedMs(started), headMs, complete: true };
  } catch (error) {
    if (!controller.signal.aborted) throw error;
    return { status, bytes, ms: elapsedMs(started), headMs, complete: false };
  } finally {
    clearTimeout(timer);
  }
}
