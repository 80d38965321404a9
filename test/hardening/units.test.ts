/**
 * Small pieces on their own: the redacting logger, the in-flight tracker a graceful shutdown
 * drains, and the server options derived from the limits.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { redactingLogger } from '../../src/cli/redacting-logger.js';
import type { Logger } from '../../src/webdav/handler.js';
import { MemoryDrive } from '../../src/drive/memory-drive.js';
import { UserStore, createAccessGuard } from '../../src/webdav/auth/index.js';
import { trackInFlight } from '../../src/webdav/in-flight.js';
import { startWebDavServer } from '../../src/webdav/server.js';
import { rawRequest } from './helpers.js';
import { serverOptions } from '../../src/webdav/server-limits.js';

describe('redactingLogger', () => {
  it('scrubs secrets from messages, nested fields, arrays and errors', () => {
    const seen: unknown[] = [];
    const inner: Logger = { info: (m, f) => seen.push(m, f), warn: (m, f) => seen.push(m, f), error: (m, f) => seen.push(m, f) };
    const logger = redactingLogger(inner, ['KEY-123456', undefined, 'ab']);
    logger.warn('got KEY-123456 back', { user: 'KEY-123456', nested: { list: ['x KEY-123456 y'], n: 3 }, error: new Error('echo KEY-123456') });
    logger.info('short secrets are ignored: ab', undefined);
    const text = JSON.stringify(seen);
    expect(text).not.toContain('KEY-123456');
    expect(text).toContain('[redacted]');
    expect(text).toContain('short secrets are ignored: ab');
    expect((seen[1] as { nested: { n: number } }).nested.n).toBe(3);
  });
});

describe('trackInFlight', () => {
  it('cuts the requests it is not told to keep, and waits (boundedly) for the others', async () => {
    const server = http.createServer((req, res) => {
      // Answer only when told to: simulates a long write and a long read.
      if (req.url === '/write') setTimeout(() => res.end('written'), 300);
      else res.write('streaming...');
    });
    const inFlight = trackInFlight(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const get = (method: string, path: string) =>
      new Promise<string>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c));
          res.on('end', () => resolve(`done:${body}`));
          res.on('error', () => resolve('cut'));
          res.on('aborted', () => resolve('cut'));
        });
        req.on('error', () => resolve('cut'));
        req.end();
      });
    const write = get('PUT', '/write');
    const read = get('GET', '/read');
    while (inFlight.methods().length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(inFlight.methods().sort()).toEqual(['GET', 'PUT']);
    const left = await inFlight.drain(5_000, (method) => method === 'PUT');
    expect(left).toBe(0);
    expect(await write).toBe('done:written');
    expect(await read).toBe('cut');
    // A kept request that outlasts the grace period is reported.
    const slow = http.createServer(() => {});
    const slowInFlight = trackInFlight(slow);
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    const stuck = http.request({ host: '127.0.0.1', port: (slow.address() as AddressInfo).port, method: 'PUT', path: '/', agent: false });
    stuck.on('error', () => {});
    stuck.end();
    while (slowInFlight.methods().length < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await slowInFlight.drain(100, () => true)).toBe(1);
    slow.closeAllConnections();
    server.closeAllConnections();
    await Promise.all([new Promise((r) => slow.close(r)), new Promise((r) => server.close(r))]);
  });
});

describe('serverOptions', () => {
  it('never sets a whole-request timeout, and checks head timeouts often enough to honour short ones', () => {
    expect(serverOptions()).toMatchObject({ requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 5_000 });
    expect(serverOptions({ headersTimeoutMs: 400 }).connectionsCheckingInterval).toBeLessThanOrEqual(100);
    expect(serverOptions({ headersTimeoutMs: 600_000 }).connectionsCheckingInterval).toBe(30_000);
  });
});

describe('createAccessGuard on the plain WebDAV server', () => {
  it('keeps the realm header-safe and answers HEAD without a body', async () => {
    const server = await startWebDavServer({
      drive: new MemoryDrive(),
      authorize: createAccessGuard({ users: new UserStore({ users: [{ user: 'u', password: 'p' }] }), realm: 'Mon "coffre" é\r\n' }),
    });
    try {
      const r = await rawRequest(server.port, { method: 'PROPFIND', path: '/', headers: { Depth: '0' } });
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Basic realm="Mon coffre ", charset="UTF-8"');
      const head = await rawRequest(server.port, { method: 'HEAD', path: '/' });
      expect(head.status).toBe(401);
      expect(head.body.length).toBe(0);
      expect((await rawRequest(server.port, { method: 'PROPFIND', path: '/', headers: { Depth: '0' }, auth: { user: 'u', password: 'p' } })).status).toBe(207);
    } finally {
      await server.close();
    }
  });
});
