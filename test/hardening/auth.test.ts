/**
 * Authentication and read-only mode through the bridge over the simulator, over real HTTP.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge } from '../../src/cli/bridge.js';
import { ExposureError, assertSafeExposure, isLoopbackHost } from '../../src/cli/exposure.js';
import { authFromFlags } from '../../src/cli/serve.js';
import { basic, startHardStack, type HardStack } from './helpers.js';

const ALICE = { user: 'alice', password: 'p:ss/wörd+€' };
// A password whose Basic header carries both '+' and '/' in its base64.
const SLASHY = { user: 'bob', password: '~~?>?>:é' };
const HASHED = { user: 'carol', password: 'ça va: très bien' };

let dir: string;
let s: HardStack;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fichier-dav-auth-'));
  const htpasswd = join(dir, 'users.htpasswd');
  await writeFile(htpasswd, `# test users\n${HASHED.user}:${bcrypt.hashSync(HASHED.password, 4).replace(/^\$2b\$/, '$2y$')}\n`);
  s = await startHardStack(
    {},
    {
      auth: { users: [ALICE, SLASHY], htpasswdFile: htpasswd, backoff: { pairThreshold: 5, windowMs: 60_000, blockMs: 3_000 } },
    },
  );
  const folder = await s.sim.addFolder({ name: 'Films' });
  await s.sim.addFile({ folderId: folder, name: 'a.txt', content: 'hello' });
});

afterAll(async () => {
  await s?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('HTTP Basic authentication', () => {
  it('no credentials → 401 with the Basic challenge (UTF-8), and nothing reaches 1fichier', async () => {
    const before = s.apiCalls();
    for (const method of ['GET', 'HEAD', 'PROPFIND', 'PUT', 'DELETE', 'MKCOL', 'LOCK']) {
      const r = await s.req({ method, path: '/Films/', headers: { Depth: '1' } });
      expect(r.status, method).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Basic realm="fichier-dav", charset="UTF-8"');
    }
    expect(s.apiCalls()).toBe(before);
    // A refused upload is not read to its end: the connection closes after the 401.
    const put = await s.req({ method: 'PUT', path: '/Films/x.bin', body: Buffer.alloc(100_000) });
    expect(put.status).toBe(401);
    expect(put.headers.connection).toBe('close');
  });

  it('OPTIONS needs no credentials (Windows asks before it has them), and reaches nothing behind them', async () => {
    const r = await s.req({ method: 'OPTIONS', path: '/' });
    expect(r.status).toBe(200);
    expect(r.headers.dav).toMatch(/1, 2/);
    // An If header would make the server look the resource up: not for an anonymous OPTIONS.
    const before = s.apiCalls();
    const probe = await s.req({ method: 'OPTIONS', path: '/Films/a.txt', headers: { If: '(["no-such-etag"])' } });
    expect(probe.status).toBe(200);
    const probeOther = await s.req({ method: 'OPTIONS', path: '/Secret/', headers: { If: '</Secret/x> (["e"])' } });
    expect(probeOther.status).toBe(200);
    expect(s.apiCalls()).toBe(before);
  });

  it('wrong password, unknown user, malformed header → 401', async () => {
    for (const headers of [
      { Authorization: basic('alice', 'wrong') },
      { Authorization: basic('mallory', ALICE.password) },
      { Authorization: 'Basic %%%' },
      { Authorization: 'Bearer x' },
    ]) {
      const r = await s.req({ method: 'PROPFIND', path: '/', headers: { Depth: '0', ...headers } });
      expect(r.status).toBe(401);
    }
    const warnings = s.log.lines.filter((line) => line.includes('auth: wrong credentials'));
    expect(warnings.length).toBeGreaterThanOrEqual(2);
    expect(warnings.join('\n')).not.toContain(ALICE.password);
  });

  it('right credentials with ":", "+", "/" and non-ASCII characters are accepted', async () => {
    expect(basic(SLASHY.user, SLASHY.password)).toMatch(/\+/);
    expect(basic(SLASHY.user, SLASHY.password).slice(6)).toMatch(/\//);
    for (const auth of [ALICE, SLASHY]) {
      const r = await s.req({ method: 'PROPFIND', path: '/Films/', headers: { Depth: '1' }, auth });
      expect(r.status, auth.user).toBe(207);
      expect(r.text).toContain('a.txt');
      const g = await s.req({ path: '/Films/a.txt', auth });
      expect(g.text).toBe('hello');
    }
  });

  it('an htpasswd bcrypt ($2y$) user logs in, and a write with the credentials works', async () => {
    const r = await s.req({ method: 'PUT', path: '/Films/b.txt', body: 'written', auth: HASHED });
    expect(r.status).toBe(201);
    expect((await s.req({ path: '/Films/b.txt', auth: HASHED })).text).toBe('written');
    expect((await s.req({ path: '/Films/b.txt', auth: { ...HASHED, password: 'ça va: très mal' } })).status).toBe(401);
  });

  it('after 5 failures in a minute that name gets 429 with Retry-After from that address, while the proven session goes on', async () => {
    // Failures of the earlier tests may count: the block comes within 5 more.
    let blocked: Awaited<ReturnType<HardStack['req']>> | undefined;
    for (let i = 0; i < 5 && !blocked; i++) {
      const r = await s.req({ method: 'PROPFIND', path: '/', headers: { Depth: '0' }, auth: { user: 'alice', password: `guess${i}` } });
      if (r.status === 429) blocked = r;
      else expect(r.status).toBe(401);
    }
    expect(blocked?.status).toBe(429);
    expect(Number(blocked?.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const guess = await s.req({ method: 'PROPFIND', path: '/', headers: { Depth: '0' }, auth: { user: 'alice', password: 'guess-more' } });
    expect(guess.status).toBe(429);
    // alice logged in from this address before: her client goes on working (a household behind one NAT).
    const right = await s.req({ method: 'PROPFIND', path: '/', headers: { Depth: '0' }, auth: ALICE });
    expect(right.status).toBe(207);
    // OPTIONS stays open.
    expect((await s.req({ method: 'OPTIONS', path: '/' })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 3_100));
    expect((await s.req({ method: 'PROPFIND', path: '/', headers: { Depth: '0' }, auth: { user: 'alice', password: 'guess-after' } })).status).toBe(401);
  });
});

describe('read-only mode', () => {
  let ro: HardStack;
  beforeAll(async () => {
    ro = await startHardStack({}, { readOnly: true, auth: { users: [ALICE] } });
    const folder = await ro.sim.addFolder({ name: 'Docs' });
    await ro.sim.addFile({ folderId: folder, name: 'keep.txt', content: 'keep me' });
  });
  afterAll(() => ro?.close());

  it('refuses every write method with 403 and a reason, changes nothing, and still serves reads', async () => {
    const writes: Array<{ method: string; path: string; headers?: Record<string, string>; body?: string }> = [
      { method: 'PUT', path: '/Docs/new.txt', body: 'x' },
      { method: 'PUT', path: '/Docs/keep.txt', body: 'overwrite' },
      { method: 'DELETE', path: '/Docs/keep.txt' },
      { method: 'MKCOL', path: '/Docs/sub' },
      { method: 'MOVE', path: '/Docs/keep.txt', headers: { Destination: '/Docs/moved.txt' } },
      { method: 'COPY', path: '/Docs/keep.txt', headers: { Destination: '/Docs/copy.txt' } },
      {
        method: 'PROPPATCH',
        path: '/Docs/keep.txt',
        body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>',
      },
      {
        method: 'LOCK',
        path: '/Docs/keep.txt',
        body: '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>',
      },
      { method: 'UNLOCK', path: '/Docs/keep.txt', headers: { 'Lock-Token': '<urn:uuid:x>' } },
    ];
    const before = ro.apiCalls();
    for (const w of writes) {
      const r = await ro.req({ ...w, auth: ALICE });
      expect(r.status, w.method).toBe(403);
      expect(r.text).toMatch(/read-only/);
    }
    expect(ro.apiCalls()).toBe(before);
    const list = await ro.req({ method: 'PROPFIND', path: '/Docs/', headers: { Depth: '1' }, auth: ALICE });
    expect(list.status).toBe(207);
    expect(list.text).toContain('keep.txt');
    expect(list.text).not.toContain('new.txt');
    expect((await ro.req({ path: '/Docs/keep.txt', auth: ALICE })).text).toBe('keep me');
    // Credentials come first: an anonymous write is 401, not 403.
    expect((await ro.req({ method: 'PUT', path: '/Docs/x', body: 'x' })).status).toBe(401);
  });
});

describe('exposure', () => {
  it('knows loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com']) expect(isLoopbackHost(h), h).toBe(false);
  });

  it('refuses a non-loopback host without auth, naming both fixes; auth or --allow-anonymous lift it', () => {
    expect(() => assertSafeExposure('0.0.0.0', false, false)).toThrow(ExposureError);
    expect(() => assertSafeExposure('0.0.0.0', false, false)).toThrow(/--htpasswd.*--allow-anonymous|--allow-anonymous/s);
    expect(() => assertSafeExposure('0.0.0.0', false, false)).toThrow(/--user/);
    expect(() => assertSafeExposure('0.0.0.0', true, false)).not.toThrow();
    expect(() => assertSafeExposure('0.0.0.0', false, true)).not.toThrow();
    expect(() => assertSafeExposure('127.0.0.1', false, false)).not.toThrow();
  });

  it('startBridge refuses before listening or touching anything', async () => {
    await expect(startBridge({ apiKey: 'k', apiUrl: 'http://127.0.0.1:9/v1', host: '0.0.0.0', port: 0, stateDir: join(dir, 'never') })).rejects.toThrow(
      ExposureError,
    );
  });

  it('serve flags: users from flags or environment, with clear errors', () => {
    expect(authFromFlags({ realm: 'r' }, {})).toEqual({ users: [], htpasswdFile: undefined, realm: 'r' });
    expect(authFromFlags({ realm: 'r' }, { FICHIER_DAV_USER: 'u', FICHIER_DAV_PASS: 'p:w' })).toMatchObject({ users: [{ user: 'u', password: 'p:w' }] });
    expect(authFromFlags({ realm: 'r', user: 'flag' }, { FICHIER_DAV_PASS: 'envpass' })).toMatchObject({ users: [{ user: 'flag', password: 'envpass' }] });
    expect(authFromFlags({ realm: 'r', user: 'u' }, {})).toMatch(/without a password/);
    expect(authFromFlags({ realm: 'r', pass: 'p' }, {})).toMatch(/without a user/);
    expect(authFromFlags({ realm: 'r', user: 'a:b', pass: 'p' }, {})).toMatch(/cannot contain ":"/);
  });
});
