/**
 * Users of a `--users` file, over real HTTP through the bridge and the simulator:
 * - a user confined to /Alice reaches nothing outside it, with any method, any hostile path
 *   (the fuzz test's list of bad segments, encoded dot segments, absolute-form targets) or
 *   Destination;
 * - a read-only user gets 403 with a reason for every write method, LOCK on a new path included,
 *   and a refused request costs no API call;
 * - locks conflict between users whose homes overlap (they are keyed by the account's path);
 * - every write leaves an audit line; the users file is checked when loaded and reloaded.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseUsersFile, UsersFileError } from '../../src/webdav/auth/index.js';
import { BAD_NAMES } from '../support/hostile.js';
import { startHardStack, type HardStack, type RawRequest } from './helpers.js';

const ADMIN = { user: 'admin', password: 'admin-password-1' };
const ALICE = { user: 'alice', password: 'alice-password-1' };
const READER = { user: 'reader', password: 'reader-password-1' };
const NODELETE = { user: 'nodelete', password: 'nodelete-password-1' };
const COPIER = { user: 'copier', password: 'copier-password-1' };
const SHARER = { user: 'sharer', password: 'sharer-password-1' };

const hash = (password: string) => bcrypt.hashSync(password, 4);
const LOCKINFO =
  '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>';
const PROPPATCH =
  '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="urn:x">1</x></D:prop></D:set></D:propertyupdate>';

let dir: string;
let usersFile: string;
let s: HardStack;

function usersYaml(alicePassword = ALICE.password): string {
  return [
    'users:',
    '  alice:',
    `    password: "${hash(alicePassword)}"`,
    '    home: /Alice',
    '    permissions: all',
    '  reader:',
    `    password: "${hash(READER.password)}"`,
    '    home: /Alice/',
    '    permissions: [read]',
    '  nodelete:',
    `    password: "${hash(NODELETE.password)}"`,
    '    home: /Alice',
    '    permissions: [read, write, lock]',
    '  copier:',
    `    password: "${hash(COPIER.password)}"`,
    '    home: /Alice',
    '    permissions: [read, write, move]',
    '  sharer:',
    `    password: "${hash(SHARER.password)}"`,
    '    home: /Alice',
    '    permissions: [share]',
    '',
  ].join('\n');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fichier-dav-users-'));
  usersFile = join(dir, 'users.yaml');
  await writeFile(usersFile, usersYaml());
  s = await startHardStack({}, { auth: { users: [ADMIN], usersFile } });
  const alice = await s.sim.addFolder({ name: 'Alice' });
  await s.sim.addFile({ folderId: alice, name: 'a.txt', content: 'alice data' });
  await s.sim.addFolder({ parentId: alice, name: 'Docs' });
  const bob = await s.sim.addFolder({ name: 'Bob' });
  await s.sim.addFile({ folderId: bob, name: 'bob-secret.txt', content: 'bob data' });
  await s.sim.addFile({ name: 'top.txt', content: 'top data' });
}, 120_000);

afterAll(async () => {
  await s?.close();
  await rm(dir, { recursive: true, force: true });
});

/** The account outside /Alice as the full-access user sees it (names and the two contents). */
async function outside(): Promise<string> {
  const root = await s.req({ method: 'PROPFIND', path: '/', headers: { Depth: '1' }, auth: ADMIN });
  const bob = await s.req({ method: 'PROPFIND', path: '/Bob/', headers: { Depth: '1' }, auth: ADMIN });
  const names = (text: string) => [...text.matchAll(/<D:href>([^<]*)<\/D:href>/g)].map((m) => m[1]).sort().join(' ');
  const secret = await s.req({ path: '/Bob/bob-secret.txt', auth: ADMIN });
  const top = await s.req({ path: '/top.txt', auth: ADMIN });
  return `${names(root.text)} | ${names(bob.text)} | ${secret.text} | ${top.text}`;
}

/** Targets that try to climb out of the home, built from the hardening tests' bad segments. */
function escapingPaths(): string[] {
  const paths = new Set<string>(['/Bob/bob-secret.txt', '/top.txt', '//Bob/bob-secret.txt', '/%2e%2e/Bob/bob-secret.txt', '/%2E%2E/top.txt']);
  for (const bad of BAD_NAMES) {
    paths.add(`/${bad}/Bob/bob-secret.txt`);
    paths.add(`/${bad}/${bad}/top.txt`);
    paths.add(`/Docs/${bad}/../../Bob/bob-secret.txt`);
    paths.add(`/${bad}%2f..%2fBob/bob-secret.txt`);
  }
  paths.add('/a.txt/../../Bob/bob-secret.txt');
  paths.add('/..%2fBob/bob-secret.txt');
  paths.add('/%2e%2e%2fBob%2fbob-secret.txt');
  paths.add('/Docs/%2e%2e/%2e%2e/top.txt');
  return [...paths];
}

describe('a user confined to /Alice', () => {
  it('sees /Alice as /, and nothing of the rest', async () => {
    const r = await s.req({ method: 'PROPFIND', path: '/', headers: { Depth: '1' }, auth: ALICE });
    expect(r.status).toBe(207);
    expect(r.text).toContain('<D:href>/a.txt</D:href>');
    expect(r.text).toContain('<D:href>/Docs/</D:href>');
    expect(r.text).not.toMatch(/Bob|top\.txt|\/Alice/);
    expect((await s.req({ path: '/a.txt', auth: ALICE })).text).toBe('alice data');
    expect((await s.req({ path: '/Alice/a.txt', auth: ALICE })).status).toBe(404);
  });

  it('reaches nothing outside with any method and any hostile path', async () => {
    const before = await outside();
    const methods: Array<Omit<RawRequest, 'path'>> = [
      { method: 'GET' },
      { method: 'HEAD' },
      { method: 'PROPFIND', headers: { Depth: '1' } },
      { method: 'PUT', body: 'overwritten' },
      { method: 'DELETE' },
      { method: 'MKCOL' },
      { method: 'PROPPATCH', body: PROPPATCH },
      { method: 'LOCK', body: LOCKINFO },
      { method: 'UNLOCK', headers: { 'Lock-Token': '<urn:uuid:00000000-0000-0000-0000-000000000000>' } },
      { method: 'COPY', headers: { Destination: '/copied.txt' } },
      { method: 'MOVE', headers: { Destination: '/moved.txt' } },
    ];
    const paths = [...escapingPaths(), ...escapingPaths().map((p) => `http://127.0.0.1:${s.port}${p}`)];
    let tried = 0;
    const tokens: string[] = [];
    for (const path of paths) {
      for (const spec of methods) {
        const r = await s.req({ ...spec, path, auth: ALICE });
        tried++;
        if (spec.method === 'LOCK' && r.headers['lock-token']) tokens.push(`${path} ${String(r.headers['lock-token'])}`);
        // Whatever the answer (400, 404, 409, 201 inside /Alice...), nothing outside shows, and
        // reasons name paths as the user sees them.
        expect(r.text, `${spec.method} ${path}`).not.toMatch(/bob data|top data|Alice/);
      }
    }
    expect(tried).toBeGreaterThan(400);
    for (const entry of tokens) {
      const [path, token] = entry.split(' ');
      await s.req({ method: 'UNLOCK', path, headers: { 'Lock-Token': token }, auth: ALICE });
    }
    expect(await outside()).toBe(before);
  }, 300_000);

  it('cannot copy or move anything out through the Destination header', async () => {
    await s.req({ method: 'PUT', path: '/mine.txt', body: 'mine', auth: ALICE });
    const before = await outside();
    const destinations = escapingPaths().flatMap((p) => [
      p.replace(/bob-secret\.txt$|top\.txt$/, 'stolen.txt'),
      `http://127.0.0.1:${s.port}${p.replace(/bob-secret\.txt$|top\.txt$/, 'stolen.txt')}`,
    ]);
    destinations.push('/../Bob/stolen.txt', `http://127.0.0.1:${s.port}/../../top.txt`, 'http://127.0.0.1:1/Bob/stolen.txt');
    for (const destination of destinations) {
      for (const method of ['COPY', 'MOVE']) {
        const r = await s.req({ method, path: '/mine.txt', headers: { Destination: destination, Overwrite: 'T' }, auth: ALICE });
        expect(r.text, `${method} → ${destination}`).not.toMatch(/bob data|top data|Alice/);
        if (r.status === 201 || r.status === 204) {
          // Landed inside /Alice: put it back for the next round.
          if (method === 'MOVE') await s.req({ method: 'PUT', path: '/mine.txt', body: 'mine', auth: ALICE });
        }
      }
    }
    expect(await outside()).toBe(before);
    expect((await s.req({ path: '/Bob/stolen.txt', auth: ADMIN })).status).toBe(404);
    expect((await s.req({ path: '/stolen.txt', auth: ADMIN })).status).toBe(404);
  }, 300_000);

  it('cannot delete, move or replace its own root', async () => {
    expect((await s.req({ method: 'DELETE', path: '/', auth: ALICE })).status).toBe(403);
    expect((await s.req({ method: 'MOVE', path: '/', headers: { Destination: '/x' }, auth: ALICE })).status).toBe(403);
    expect((await s.req({ method: 'COPY', path: '/a.txt', headers: { Destination: '/', Overwrite: 'T' }, auth: ALICE })).status).toBe(403);
    expect((await s.req({ method: 'PUT', path: '/', body: 'x', auth: ALICE })).status).toBe(405);
    expect((await s.req({ path: '/a.txt', auth: ADMIN })).status).toBe(404); // the admin's / is the account's
    expect((await s.req({ path: '/Alice/a.txt', auth: ADMIN })).text).toBe('alice data');
  });
});

describe('permissions', () => {
  it('a read-only user gets 403 with a reason on every write method, LOCK on a new path included, at no API cost', async () => {
    const writes: RawRequest[] = [
      { method: 'PUT', path: '/new.txt', body: 'x' },
      { method: 'PUT', path: '/a.txt', body: 'overwrite' },
      { method: 'DELETE', path: '/a.txt' },
      { method: 'MKCOL', path: '/sub' },
      { method: 'MOVE', path: '/a.txt', headers: { Destination: '/moved.txt' } },
      { method: 'COPY', path: '/a.txt', headers: { Destination: '/copy.txt' } },
      { method: 'PROPPATCH', path: '/a.txt', body: PROPPATCH },
      { method: 'LOCK', path: '/a.txt', body: LOCKINFO },
      { method: 'LOCK', path: '/brand-new.txt', body: LOCKINFO },
      { method: 'UNLOCK', path: '/a.txt', headers: { 'Lock-Token': '<urn:uuid:x>' } },
      { method: 'POST', path: '/.share', body: '{"path":"/a.txt"}', headers: { 'Content-Type': 'application/json' } },
    ];
    const before = s.apiCalls();
    for (const w of writes) {
      const r = await s.req({ ...w, auth: READER });
      expect(r.status, `${w.method} ${w.path}`).toBe(403);
      expect(r.text).toMatch(/reader.*missing permission "(write|delete|move|lock|share)"/);
    }
    expect(s.apiCalls()).toBe(before);
    expect((await s.req({ method: 'PROPFIND', path: '/', headers: { Depth: '1' }, auth: READER })).text).not.toContain('brand-new');
    expect((await s.req({ path: '/a.txt', auth: READER })).text).toBe('alice data');
    const refused = s.log.lines.filter((l) => l.includes('"event":"refused"') && l.includes('"user":"reader"'));
    expect(refused.length).toBe(writes.length);
  });

  it('move needs delete; copy needs move; each refusal names what is missing, before any API call', async () => {
    const before = s.apiCalls();
    const del = await s.req({ method: 'DELETE', path: '/a.txt', auth: NODELETE });
    expect(del.status).toBe(403);
    expect(del.text).toContain('"delete"');
    const mv = await s.req({ method: 'MOVE', path: '/a.txt', headers: { Destination: '/b.txt' }, auth: NODELETE });
    expect(mv.status).toBe(403);
    expect(mv.text).toMatch(/"move", "delete"/);
    const cp = await s.req({ method: 'COPY', path: '/a.txt', headers: { Destination: '/b.txt' }, auth: NODELETE });
    expect(cp.status).toBe(403);
    expect(cp.text).toContain('"move"');
    expect(s.apiCalls()).toBe(before);
    // What it may do, it can.
    expect((await s.req({ method: 'PUT', path: '/Docs/nd.txt', body: 'nd', auth: NODELETE })).status).toBe(201);
  });

  it('a COPY that would delete a folder (Overwrite: T onto it, or a folder onto a file) needs delete', async () => {
    expect((await s.req({ method: 'MKCOL', path: '/Keep/', auth: ALICE })).status).toBe(201);
    expect((await s.req({ method: 'PUT', path: '/Keep/inside.txt', body: 'kept', auth: ALICE })).status).toBe(201);
    expect((await s.req({ method: 'PUT', path: '/plain.txt', body: 'plain', auth: ALICE })).status).toBe(201);
    const before = s.apiCalls();
    const ontoFolder = await s.req({ method: 'COPY', path: '/a.txt', headers: { Destination: '/Keep', Overwrite: 'T' }, auth: COPIER });
    expect(ontoFolder.status).toBe(403);
    expect(ontoFolder.text).toContain('missing permission "delete"');
    expect(ontoFolder.text).not.toContain('/Alice');
    const folderOntoFile = await s.req({ method: 'COPY', path: '/Keep/', headers: { Destination: '/plain.txt', Overwrite: 'T' }, auth: COPIER });
    expect(folderOntoFile.status).toBe(403);
    expect(s.apiCalls() - before).toBeLessThanOrEqual(2); // at most the look-ups, never a write
    expect((await s.req({ path: '/Keep/inside.txt', auth: ALICE })).text).toBe('kept');
    expect((await s.req({ path: '/plain.txt', auth: ALICE })).text).toBe('plain');
    // What PUT could do anyway stays allowed: a new name, or a file replacing a file.
    const fresh = await s.req({ method: 'COPY', path: '/a.txt', headers: { Destination: '/copier-new.txt' }, auth: COPIER });
    expect(fresh.status, fresh.text).toBe(201);
    expect((await s.req({ method: 'COPY', path: '/a.txt', headers: { Destination: '/plain.txt', Overwrite: 'T' }, auth: COPIER })).status).toBe(204);
    expect((await s.req({ path: '/plain.txt', auth: ALICE })).text).toBe('alice data');
    // With delete, the folder can be replaced.
    expect((await s.req({ method: 'COPY', path: '/copier-new.txt', headers: { Destination: '/Keep', Overwrite: 'T' }, auth: ALICE })).status).toBe(204);
  });

  it('sharing needs read: a share link would hand out what the user may not download', async () => {
    const before = s.apiCalls();
    const r = await s.req({ method: 'POST', path: '/.share', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ path: '/a.txt' }), auth: SHARER });
    expect(r.status).toBe(403);
    expect(r.text).toContain('missing permission "read"');
    expect(s.apiCalls()).toBe(before);
  });
});

describe('locks across users whose homes overlap', () => {
  it('a lock taken through one home blocks the same file reached through another', async () => {
    const lock = await s.req({ method: 'LOCK', path: '/Alice/a.txt', body: LOCKINFO, auth: ADMIN });
    expect(lock.status).toBe(200);
    const token = String(lock.headers['lock-token']);
    const put = await s.req({ method: 'PUT', path: '/a.txt', body: 'by alice', auth: ALICE });
    expect(put.status).toBe(423);
    expect(put.text).toContain('<D:href>/a.txt</D:href>');
    expect((await s.req({ method: 'LOCK', path: '/a.txt', body: LOCKINFO, auth: ALICE })).status).toBe(423);
    // Alice sees the admin's lock on her file, under her own name for it.
    const seen = await s.req({ method: 'PROPFIND', path: '/a.txt', headers: { Depth: '0' }, body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>', auth: ALICE });
    expect(seen.text).toContain('<D:href>/a.txt</D:href>');
    expect((await s.req({ method: 'UNLOCK', path: '/Alice/a.txt', headers: { 'Lock-Token': token }, auth: ADMIN })).status).toBe(204);
    expect((await s.req({ method: 'PUT', path: '/a.txt', body: 'alice data', auth: ALICE })).status).toBe(204);
  });

  it("a depth-infinity lock on the user's root blocks the admin inside it, and one above it shows as the user's root", async () => {
    const lock = await s.req({ method: 'LOCK', path: '/', body: LOCKINFO, headers: { Depth: 'infinity' }, auth: ALICE });
    expect(lock.status).toBe(200);
    const put = await s.req({ method: 'PUT', path: '/Alice/by-admin.txt', body: 'x', auth: ADMIN });
    expect(put.status).toBe(423);
    expect(put.text).toContain('<D:href>/Alice</D:href>');
    await s.req({ method: 'UNLOCK', path: '/', headers: { 'Lock-Token': String(lock.headers['lock-token']) }, auth: ALICE });

    const above = await s.req({ method: 'LOCK', path: '/', body: LOCKINFO, headers: { Depth: 'infinity' }, auth: ADMIN });
    expect(above.status).toBe(200);
    const blocked = await s.req({ method: 'PUT', path: '/a.txt', body: 'x', auth: ALICE });
    expect(blocked.status).toBe(423);
    expect(blocked.text).toContain('<D:href>/</D:href>');
    await s.req({ method: 'UNLOCK', path: '/', headers: { 'Lock-Token': String(above.headers['lock-token']) }, auth: ADMIN });
  });
});

describe('audit log', () => {
  it('one line per write with user, account path, destination and address', async () => {
    await s.req({ method: 'PUT', path: '/Docs/audited.txt', body: 'a', auth: ALICE });
    await s.req({ method: 'MOVE', path: '/Docs/audited.txt', headers: { Destination: '/Docs/audited2.txt' }, auth: ALICE });
    const lines = s.log.lines.filter((l) => l.startsWith('info audit ') && l.includes('audited'));
    expect(lines).toHaveLength(2);
    const put = JSON.parse(lines[0].slice('info audit '.length)) as Record<string, unknown>;
    expect(put).toMatchObject({ event: 'write', user: 'alice', method: 'PUT', path: '/Alice/Docs/audited.txt', client: '127.0.0.1', status: 201 });
    const move = JSON.parse(lines[1].slice('info audit '.length)) as Record<string, unknown>;
    expect(move).toMatchObject({ method: 'MOVE', path: '/Alice/Docs/audited.txt', to: '/Alice/Docs/audited2.txt', status: 201 });
    for (const line of s.log.lines) expect(line).not.toContain(ALICE.password);
  });
});

describe('the users file', () => {
  it('reloads: new users are taken, a bad file keeps the old ones and says why', async () => {
    await writeFile(usersFile, usersYaml('alice-password-2'));
    expect(await s.bridge.reloadUsers()).toBe(true);
    expect((await s.req({ path: '/a.txt', auth: ALICE })).status).toBe(401);
    expect((await s.req({ path: '/a.txt', auth: { user: 'alice', password: 'alice-password-2' } })).status).toBe(200);
    await writeFile(usersFile, 'users:\n  alice:\n    password: plain-text\n');
    expect(await s.bridge.reloadUsers()).toBe(false);
    expect(s.log.lines.some((l) => l.includes('users not reloaded') && l.includes('password hash'))).toBe(true);
    expect((await s.req({ path: '/a.txt', auth: { user: 'alice', password: 'alice-password-2' } })).status).toBe(200);
    await writeFile(usersFile, usersYaml());
    expect(await s.bridge.reloadUsers()).toBe(true);
  });

  it('refuses what it does not understand, naming the user and the fix', () => {
    const h = hash('x');
    const cases: Array<[string, RegExp]> = [
      ['users: [alice]', /"users:" map/],
      [`users:\n  a:\n    password: "${h}"\n    permissions: [read, admin]`, /unknown permission "admin"/],
      [`users:\n  a:\n    password: "${h}"\n    home: Alice`, /absolute path/],
      [`users:\n  a:\n    password: "${h}"\n    home: /x/../y`, /"\.\."/],
      [`users:\n  a:\n    password: "${h}"\n    homes: /x`, /unknown key "homes"/],
      [`users:\n  a:\n    password: secret`, /user "a".*password hash/],
      [`users:\n  a:\n    password: "${h}"\n  a:\n    password: "${h}"`, /not valid YAML/],
      [`users:\n  "a:b":\n    password: "${h}"`, /cannot .* contain ":"/],
      ['users: {}', /no users/],
    ];
    for (const [text, message] of cases) {
      expect(() => parseUsersFile(text, 'u.yaml'), text).toThrow(UsersFileError);
      expect(() => parseUsersFile(text, 'u.yaml'), text).toThrow(message);
    }
    const ok = parseUsersFile(`users:\n  a:\n    password: "${h}"\n    home: /A/B/\n`);
    expect(ok.profiles.get('a')).toEqual({ home: '/A/B', permissions: new Set(['read']) });
  });
});
