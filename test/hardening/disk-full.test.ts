/**
 * A full disk under the bridge, for real: the state directory (local state and upload spool) is a
 * 2 MiB tmpfs mounted for this test (the tests run as root, locally and in CI). What must hold:
 * a PUT that cannot be spooled gets 507 (never 500, never an empty reply) and leaves no partial
 * file; a PROPPATCH that cannot be saved gets 507 (SQLITE_FULL counts as a full disk); and the
 * bridge still shuts down cleanly.
 *
 * The same error path without a full disk (the spool's own byte budget) is checked too: it crashed
 * the error handler once (`TypeError … reading 'destroyed'`), leaving the client with no answer.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertAlive, rawExchange, startHardStack, type HardStack } from './helpers.js';

/** A chunked PUT of `bytes` bytes (no Content-Length: the body must be spooled), as raw bytes. */
function chunkedPut(path: string, bytes: number): Buffer {
  const head = `PUT ${path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
  const parts: Buffer[] = [Buffer.from(head)];
  const chunk = 64 * 1024;
  for (let sent = 0; sent < bytes; sent += chunk) {
    const size = Math.min(chunk, bytes - sent);
    parts.push(Buffer.from(`${size.toString(16)}\r\n`), Buffer.alloc(size, 0x61), Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

const PROPPATCH = (value: string) =>
  `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:note>${value}</Z:note></D:prop></D:set></D:propertyupdate>`;

describe('a full disk (2 MiB tmpfs under the state directory)', () => {
  let dir: string;
  let s: HardStack;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'fichier-dav-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir]);
    s = await startHardStack({}, { stateDir: dir, drive: { readCache: false } });
    await s.sim.addFolder({ name: 'In' });
  });

  afterAll(async () => {
    await s?.close();
    execFileSync('umount', ['-l', dir]);
    await rm(dir, { recursive: true, force: true });
  });

  it('a chunked PUT that cannot be spooled gets 507 and leaves nothing behind', async () => {
    const answer = await rawExchange(s.port, chunkedPut('/In/big.bin', 3 * 1024 * 1024), 30_000);
    expect(answer).toMatch(/^HTTP\/1\.1 507 /);
    expect(answer).toMatch(/disk .* is full/);
    expect(await readdir(join(dir, 'spool')).catch(() => [])).toEqual([]);
    expect(s.sim.stats().calls['upload/get_upload_server.cgi'] ?? 0).toBe(0);
    expect(s.log.lines.some((line) => line.includes('webdav: insufficient storage') && line.includes('full'))).toBe(true);
    expect(s.log.errors.filter((line) => line.includes('unexpected error'))).toEqual([]);
    await assertAlive(s, '/In');
  });

  it('a PROPPATCH that cannot be saved gets 507, and the bridge still shuts down cleanly', async () => {
    expect((await s.req({ method: 'PUT', path: '/In/small.txt', body: 'small' })).status).toBe(201);
    // Fill what is left of the disk.
    const filler = openSync(join(dir, 'filler'), 'w');
    try {
      const block = Buffer.alloc(64 * 1024, 0x62);
      for (;;) writeSync(filler, block);
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe('ENOSPC');
    } finally {
      closeSync(filler);
    }
    const r = await s.req({ method: 'PROPPATCH', path: '/In/small.txt', body: PROPPATCH('x'.repeat(20_000)) });
    expect(r.status).toBe(207);
    expect(r.text).toMatch(/HTTP\/1\.1 507/);
    // Every state change is its own committed transaction: nothing is left to save at shutdown.
    await expect(s.bridge.close()).resolves.toBeUndefined();
  });
});

describe('the spool budget (no full disk)', () => {
  let s: HardStack;

  beforeAll(async () => {
    s = await startHardStack({}, { drive: { spoolMaxBytes: 256 * 1024 } });
  });

  afterAll(async () => {
    await s?.close();
  });

  it('a chunked PUT over the budget gets 507 with a reason, never an empty reply', async () => {
    const answer = await rawExchange(s.port, chunkedPut('/over.bin', 1024 * 1024), 30_000);
    expect(answer).toMatch(/^HTTP\/1\.1 507 /);
    expect(answer).toMatch(/spool .* is full/);
    expect(s.log.lines.some((line) => line.includes("reading 'destroyed'"))).toBe(false);
    await assertAlive(s);
  });
});
