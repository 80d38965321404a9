/**
 * The API key: where it comes from (FICHIER_API_KEY or --api-key-file, with a warning when the
 * file is readable by others), and that it never shows in a log line, a response body, an error
 * or a debug dump, whatever fails.
 */
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiKeyError, loadApiKey } from '../../src/cli/api-key.js';
import { PassThrough } from 'node:stream';
import { createLogger } from '../../src/cli/logging.js';
import { FichierClient } from '../../src/fichier/index.js';
import { startSimulator } from '../../src/simulator/index.js';
import { KEY, basic, startHardStack, type HardStack } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fichier-dav-key-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('loading the key', () => {
  it('from FICHIER_API_KEY, trimmed', async () => {
    expect(await loadApiKey(undefined, { FICHIER_API_KEY: '  abc123 \n' })).toBe('abc123');
  });

  it('without a key: a clear error naming both ways, and where to get one', async () => {
    const error = await loadApiKey(undefined, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiKeyError);
    expect(String(error)).toMatch(/FICHIER_API_KEY/);
    expect(String(error)).toMatch(/--api-key-file/);
    await expect(loadApiKey(undefined, { FICHIER_API_KEY: '   ' })).rejects.toThrow(ApiKeyError);
  });

  it('from a file (which wins over the environment), warning when others can read it', async () => {
    const file = join(dir, 'key');
    await writeFile(file, 'file-key-SECRET\n');
    await chmod(file, 0o644);
    const warnings: string[] = [];
    expect(await loadApiKey(file, { FICHIER_API_KEY: 'env-key' }, (m) => warnings.push(m))).toBe('file-key-SECRET');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/can be read by other users/);
    expect(warnings[0]).toMatch(/chmod 600/);
    expect(warnings[0]).not.toContain('file-key-SECRET');

    await chmod(file, 0o600);
    warnings.length = 0;
    expect(await loadApiKey(file, {}, (m) => warnings.push(m))).toBe('file-key-SECRET');
    expect(warnings).toEqual([]);
  });

  it('a missing or empty key file is a clear error that shows no content', async () => {
    await expect(loadApiKey(join(dir, 'nope'), {})).rejects.toThrow(/cannot read the API key file .*nope: ENOENT/);
    const empty = join(dir, 'empty');
    await writeFile(empty, '\n  \n', { mode: 0o600 });
    await expect(loadApiKey(empty, {})).rejects.toThrow(/is empty/);
  });
});

describe('the key never leaks', () => {
  let s: HardStack;
  const lines: string[] = [];
  const bodies: string[] = [];

  beforeAll(async () => {
    // The real structured logger at its most verbose, writing into `lines`.
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    const logger = createLogger({ level: 'debug', format: 'json', destination: sink });
    s = await startHardStack(
      {},
      { logger, upstreamDeadlineMs: 1_000, auth: { users: [{ user: 'u', password: 'pw' }] }, client: { floodCooldownMs: 1_000 } },
    );
    const folderId = await s.sim.addFolder({ name: 'd' });
    await s.sim.addFile({ folderId, name: 'f.bin', content: Buffer.alloc(50_000, 7) });
    await s.sim.addFile({ folderId, name: 'g.bin', content: Buffer.alloc(5_000, 8) });
  });
  afterAll(() => s?.close());

  const auth = { user: 'u', password: 'pw' };
  async function collect(spec: Parameters<HardStack['req']>[0]): Promise<number> {
    // A download that fails mid-body is cut (status gone): that is an answer too.
    const r = await s.req({ auth, ...spec }).catch(() => undefined);
    if (!r) return 0;
    bodies.push(`${r.status} ${JSON.stringify(r.headers)} ${r.text}`);
    return r.status;
  }

  it('through floods, 5xx, dropped connections, refused uploads, cut downloads and failed logins', async () => {
    await collect({ method: 'PROPFIND', path: '/d/', headers: { Depth: '1' } });
    s.sim.setFaults({ failures: [{ host: 'api', flood: true, count: 2 }] });
    await collect({ method: 'MKCOL', path: '/d/x' });
    s.sim.setFaults({ failures: [{ host: 'api', status: 500, count: 3 }, { host: 'api', drop: true, count: 3 }] });
    await collect({ method: 'MKCOL', path: '/d/y' });
    s.sim.setFaults({ uploadRefusals: 2 });
    await collect({ method: 'PUT', path: '/d/up.bin', body: Buffer.alloc(10_000, 1) });
    s.sim.setFaults({ failures: [{ host: 'upload', drop: true, count: 2 }] });
    await collect({ method: 'PUT', path: '/d/up2.bin', body: Buffer.alloc(10_000, 2) });
    s.sim.setFaults({ cutDownload: { bytes: 1000, count: 10 } });
    await collect({ path: '/d/f.bin' });
    s.sim.setFaults({ failures: [{ host: 'api', endpoint: 'download/get_token.cgi', status: 502, count: 1000 }] });
    const tokenless = await collect({ path: '/d/g.bin', headers: { Range: 'bytes=0-9' } });
    // The drive opens its upstream before the status line, so a missing link is a clean 503.
    expect(tokenless).toBe(503);
    s.sim.clearFaults();
    await collect({ method: 'PROPFIND', path: '/d/', headers: { Depth: '1' }, auth: { user: 'u', password: KEY } });
    await collect({ method: 'PROPFIND', path: '/d/', headers: { Depth: '1', Authorization: basic(KEY, KEY) }, auth: undefined });
    expect(lines.filter((line) => line.includes('auth: wrong credentials'))).toHaveLength(2);
    expect(lines.length).toBeGreaterThan(5);
    for (const text of [...lines, ...bodies]) expect(text).not.toContain(KEY);
  });

  it('when 1fichier refuses the key: errors, their JSON, stacks and debug dumps of the client', async () => {
    const sim = await startSimulator({ apiKey: 'the-right-key', timeScale: 0.01 });
    const wrong = 'WRONG-key-0123456789-SECRET';
    const client = new FichierClient({ apiKey: wrong, apiUrl: sim.apiUrl, timeScale: 0.01 });
    try {
      const error = (await client.listFolder(0, { files: true }).catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(Error);
      for (const dump of [String(error), error.stack ?? '', JSON.stringify(error), inspect(error, { depth: 5 }), inspect(client, { depth: 5 })]) {
        expect(dump).not.toContain(wrong);
      }
    } finally {
      await client.close();
      await sim.close();
    }
  });
});
