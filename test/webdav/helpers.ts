/**
 * Test helpers: a WebDAV server over a MemoryDrive on an ephemeral port, and a raw HTTP client
 * (node:http, not fetch) so tests can send any method, odd paths like `/%NETHOOD%`, and bodies
 * exactly as crafted.
 */
import http from 'node:http';
import { Readable } from 'node:stream';
import { MemoryDrive, type MemoryDriveOptions } from '../../src/drive/memory-drive.js';
import type { Drive } from '../../src/drive/types.js';
import type { Logger } from '../../src/webdav/handler.js';
import { LockManager } from '../../src/webdav/lock-manager.js';
import { startWebDavServer, type RunningWebDavServer, type WebDavOptions } from '../../src/webdav/server.js';

export interface TestResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export interface RequestSpec {
  method?: string;
  path: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
}

export interface RecordingLogger extends Logger {
  errors: string[];
}

export function recordingLogger(): RecordingLogger {
  const errors: string[] = [];
  return {
    errors,
    info: () => {},
    warn: () => {},
    error: (message, fields) => {
      errors.push(`${message} ${JSON.stringify(fields ?? {})}`);
    },
  };
}

export interface TestServer extends RunningWebDavServer {
  drive: Drive;
  logger: RecordingLogger;
  request(spec: RequestSpec): Promise<TestResponse>;
}

export async function startTestServer(
  options: Partial<WebDavOptions> & { driveOptions?: MemoryDriveOptions } = {},
): Promise<TestServer> {
  const drive = options.drive ?? new MemoryDrive(options.driveOptions);
  const logger = recordingLogger();
  const server = await startWebDavServer({ locks: new LockManager(), logger, ...options, drive });
  return { ...server, drive, logger, request: (spec) => request(server.port, spec) };
}

export function request(port: number, spec: RequestSpec): Promise<TestResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...(spec.headers ?? {}) };
    if (spec.body !== undefined && headers['Content-Length'] === undefined && headers['Transfer-Encoding'] === undefined) {
      headers['Content-Length'] = Buffer.byteLength(spec.body);
    }
    const req = http.request(
      { host: '127.0.0.1', port, method: spec.method ?? 'GET', path: spec.path, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (spec.body !== undefined) req.end(spec.body);
    else req.end();
  });
}

/** Puts a file through the drive directly (no HTTP). */
export async function seedFile(drive: Drive, path: string, content: string | Buffer, contentType?: string): Promise<void> {
  const data = typeof content === 'string' ? Buffer.from(content) : content;
  await drive.write(path, Readable.from([data]), { size: data.length, contentType });
}

/** Deterministic bytes: byte i = (i * 7 + 3) mod 251, so any misplaced range shows. */
export function patternBytes(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 7 + 3) % 251;
  return b;
}

/** Wraps a drive so every call is counted by method name. */
export function countingDrive(inner: Drive): { drive: Drive; counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  const drive = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        counts[String(prop)] = (counts[String(prop)] ?? 0) + 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { drive, counts };
}
