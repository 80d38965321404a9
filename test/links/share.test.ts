/**
 * Share links end to end over real HTTP: a bridge over the simulator with a users file, links
 * made by `POST /.share` and by the `fichier-dav share` command (same --state-dir), downloaded
 * without credentials with ranges; expired, revoked, used-up and tampered links refused at no API
 * cost; links that outlive a rename on the account and a restart of the bridge; passwords.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../../src/cli/bridge.js';
import { ShareStore } from '../../src/links/shares.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { openAccountDb } from '../../src/state/account-db.js';
import { CLI_MAIN } from '../support/built-cli.js';
import { rawRequest, recordLog, type RecordedLog } from '../hardening/helpers.js';
import { renameOnAccount } from './helpers.js';

const KEY = 'share-links-key-0123456789';
const ALICE = { user: 'alice', password: 'alice-password-1' };
const READER = { user: 'reader', password: 'reader-password-1' };
const content = randomBytes(200_000);

let sim: Simulator;
let bridge: RunningBridge;
let dir: string;
let stateDir: string;
let usersFile: string;
let log: RecordedLog;
let clipUrl: string;

const auth = (u: { user: string; password: string }) => `Basic ${Buffer.from(`${u.user}:${u.password}`).toString('base64')}`;
/** The CLI, run asynchronously: the simulator lives in this process and must keep answering. */
function spawnSync(command: string, args: string[], options: { env: Record<string, string>; encoding: 'utf8'; timeout: number }): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, options, (error, stdout, stderr) => resolve({ status: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
}
const apiCalls = () => sim.log().filter((e) => e.host === 'api' && e.path.startsWith('/v1/')).length;

async function start(): Promise<RunningBridge> {
  log = recordLog();
  return startBridge({ apiKey: KEY, apiUrl: sim.apiUrl, port: 0, stateDir, logger: log, auth: { usersFile }, client: { timeScale: 0.01 } });
}

async function share(body: Record<string, unknown>, who = ALICE): Promise<{ status: number; json: Record<string, string> }> {
  const response = await fetch(`${bridge.url}.share`, { method: 'POST', headers: { Authorization: auth(who), 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, json: (response.headers.get('content-type')?.startsWith('application/json') ? JSON.parse(text) : { error: text }) as Record<string, string> };
}

async function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; body: Buffer; text: string; headers: Headers }> {
  const response = await fetch(url, { method, headers, redirect: 'manual' });
  const body = Buffer.from(await response.arrayBuffer());
  return { status: response.status, body, text: body.toString('utf8'), headers: response.headers };
}

beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY, timeScale: 0.01 });
  dir = await mkdtemp(join(tmpdir(), 'fichier-dav-share-'));
  stateDir = join(dir, 'state');
  usersFile = join(dir, 'users.yaml');
  await writeFile(
    usersFile,
    `users:\n  alice:\n    password: "${bcrypt.hashSync(ALICE.password, 4)}"\n    home: /Alice\n    permissions: all\n  reader:\n    password: "${bcrypt.hashSync(READER.password, 4)}"\n    home: /Alice\n    permissions: [read]\n`,
  );
  const alice = await sim.addFolder({ name: 'Alice' });
  clipUrl = await sim.addFile({ folderId: alice, name: 'clip.bin', content });
  const album = await sim.addFolder({ parentId: alice, name: 'Album' });
  await sim.addFile({ folderId: album, name: 'one.txt', content: 'first file' });
  await sim.addFile({ folderId: album, name: 'two & <b>.txt', content: 'second file' });
  bridge = await start();
}, 120_000);

afterAll(async () => {
  await bridge?.close();
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('POST /.share and /s/<id>', () => {
  let url: string;
  let id: string;

  it('makes a link under the public URL; only users with the share permission may', async () => {
    const made = await share({ path: '/clip.bin', expires: '7d' });
    expect(made.status).toBe(201);
    id = made.json.id;
    url = made.json.url;
    expect(id).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(url).toBe(`${bridge.publicUrl}/s/${id}`);
    expect(Date.parse(made.json.expires) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    expect(log.lines.some((l) => l.includes('"event":"share-created"') && l.includes('"user":"alice"') && l.includes('"path":"/Alice/clip.bin"'))).toBe(true);

    const before = apiCalls();
    const refused = await share({ path: '/clip.bin' }, READER);
    expect(refused.status).toBe(403);
    expect(refused.json.error).toContain('missing permission "share"');
    expect((await fetch(`${bridge.url}.share`, { method: 'POST', body: '{}' })).status).toBe(401);
    expect(apiCalls()).toBe(before);
    expect((await share({ path: '/../Bob/x' })).status).toBe(400);
    expect((await share({ path: '/missing.bin' })).status).toBe(404);
    expect((await share({ path: '/clip.bin', expires: 'soon' })).json.error).toMatch(/7d/);
  });

  it('serves the page and the file, with ranges, without credentials', async () => {
    const page = await get(url);
    expect(page.status).toBe(200);
    expect(page.text).toContain('clip.bin');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const whole = await get(`${url}/file`);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(content)).toBe(true);
    const part = await get(`${url}/file`, { Range: 'bytes=1000-1999' });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 1000-1999/${content.length}`);
    expect(part.body.equals(content.subarray(1000, 2000))).toBe(true);
    const head = await get(`${url}/file`, {}, 'HEAD');
    expect(head.headers.get('content-length')).toBe(String(content.length));
    expect(log.lines.filter((l) => l.includes('"event":"share-download"')).length).toBeGreaterThanOrEqual(2);
    // The request log and the audit log never hold the whole id (it is the grant).
    expect(log.lines.some((l) => l.includes(id))).toBe(false);
  });

  it('expired, revoked, used-up and tampered links: 410 / 403, at no API cost', async () => {
    const store = new ShareStore(openAccountDb(bridge.stateDir));
    const fileId = await bridge.drive.fileId!('/Alice/clip.bin');
    const expired = store.create({ kind: 'file', fileId, path: '/Alice/clip.bin', name: 'clip.bin', createdBy: 'test', expiresAt: Date.now() - 1000 });
    const revoked = (await share({ path: '/clip.bin' })).json.id;
    const once = (await share({ path: '/clip.bin', maxDownloads: 1 })).json.id;
    expect((await get(`${bridge.publicUrl}/s/${once}/file`)).status).toBe(200);
    expect(store.revoke(revoked)).toBe(true);
    const tampered = `${id.slice(0, -1)}${id.endsWith('A') ? 'B' : 'A'}`;

    const before = apiCalls();
    for (const [linkId, status] of [
      [expired.id, 410],
      [revoked, 410],
      [once, 410],
      [tampered, 403],
      ['not-a-link', 403],
      [`${id}x`, 403],
    ] as const) {
      for (const sub of ['', '/file', '/f/one.txt']) {
        const r = await get(`${bridge.publicUrl}/s/${linkId}${sub}`, { Range: 'bytes=0-9' });
        expect(r.status, `${linkId}${sub}`).toBe(status);
        expect(r.text).not.toContain('clip.bin');
      }
    }
    expect(apiCalls()).toBe(before);
  });

  it('maxDownloads counts every answer that hands out the first byte, whatever the Range header looks like', async () => {
    const tricks: Array<Record<string, string>> = [
      { Range: `bytes=-${content.length * 2}` }, // a suffix range covering the whole file
      { Range: 'bytes=1-2, 0-' }, // several ranges: answered with the whole file
      { Range: 'bytes=5-', 'If-Range': '"not-the-etag"' }, // a stale If-Range: the whole file
      { Range: ' bytes = 0-' }, // not a range we read: the whole file
      {},
    ];
    for (const headers of tricks) {
      const once = (await share({ path: '/clip.bin', maxDownloads: 1 })).json.id;
      const first = await get(`${bridge.publicUrl}/s/${once}/file`, headers);
      expect([200, 206], JSON.stringify(headers)).toContain(first.status);
      expect(first.body.equals(content), JSON.stringify(headers)).toBe(true);
      const second = await get(`${bridge.publicUrl}/s/${once}/file`);
      expect(second.status, JSON.stringify(headers)).toBe(410);
    }
    // A later range of a viewing does not count; one from byte 0 does.
    const player = (await share({ path: '/clip.bin', maxDownloads: 1 })).json.id;
    expect((await get(`${bridge.publicUrl}/s/${player}/file`, { Range: 'bytes=1000-1999' })).status).toBe(206);
    expect((await get(`${bridge.publicUrl}/s/${player}/file`, { Range: 'bytes=0-9' })).status).toBe(206);
    expect((await get(`${bridge.publicUrl}/s/${player}/file`, { Range: 'bytes=0-9' })).status).toBe(410);
    // Parallel downloads never exceed the limit.
    const three = (await share({ path: '/clip.bin', maxDownloads: 3 })).json.id;
    const answers = await Promise.all(Array.from({ length: 12 }, () => get(`${bridge.publicUrl}/s/${three}/file`)));
    expect(answers.filter((a) => a.status === 200).length).toBe(3);
    expect(answers.filter((a) => a.status === 410).length).toBe(9);
  });

  it("a stored HTML or SVG file never runs as a page of the bridge's origin (WebDAV GET and share link)", async () => {
    const page = '<!DOCTYPE html><script>fetch("/", { method: "PROPFIND" })</script>';
    for (const [name, body] of [['evil.html', page], ['evil.svg', '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>']] as const) {
      const put = await fetch(`${bridge.url}${name}`, { method: 'PUT', headers: { Authorization: auth(ALICE) }, body });
      expect(put.status).toBe(201);
      const made = await share({ path: `/${name}` });
      for (const [url, headers] of [[`${made.json.url}/file`, {}], [`${bridge.url}${name}`, { Authorization: auth(ALICE) }]] as const) {
        const answer = await get(url, headers);
        expect(answer.status, url).toBe(200);
        expect(answer.text).toBe(body);
        expect(answer.headers.get('content-security-policy'), url).toMatch(/^sandbox;/);
        expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
      }
    }
    // Media keeps working in the browser's own player: no sandbox there.
    const clip = await get(`${(await share({ path: '/clip.bin' })).json.url}/file`, { Range: 'bytes=0-0' });
    expect(clip.headers.get('content-security-policy')).toBeNull();
    expect(clip.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('a folder link lists its files, each with its own link', async () => {
    const made = await share({ path: '/Album' });
    expect(made.status).toBe(201);
    const index = await get(made.json.url);
    expect(index.status).toBe(200);
    expect(index.text).toContain('one.txt');
    expect(index.text).toContain('two &amp; &lt;b&gt;.txt');
    const href = /href="([^"]*two[^"]*)"/.exec(index.text)![1];
    const file = await get(new URL(href.replace(/&amp;/g, '&'), made.json.url).toString());
    expect(file.text).toBe('second file');
    // Sent raw: fetch() would resolve the dot segments itself.
    const path = new URL(made.json.url).pathname;
    for (const bad of ['/f/%2e%2e', '/f/..', '/f/%2e%2e%2fclip.bin', '/f/a%2fb', '/f/%00']) {
      expect((await rawRequest(bridge.port, { path: `${path}${bad}` })).status, bad).toBe(404);
    }
  });

  it('a folder link whose folder became a file answers 404 "no longer on the account", not a 500', async () => {
    expect((await fetch(`${bridge.url}Shifting/`, { method: 'MKCOL', headers: { Authorization: auth(ALICE) } })).status).toBe(201);
    const made = await share({ path: '/Shifting' });
    expect(made.status).toBe(201);
    expect((await fetch(`${bridge.url}Shifting/`, { method: 'DELETE', headers: { Authorization: auth(ALICE) } })).status).toBe(204);
    expect((await fetch(`${bridge.url}Shifting`, { method: 'PUT', headers: { Authorization: auth(ALICE) }, body: 'now a file' })).status).toBe(201);
    const answer = await get(made.json.url);
    expect(answer.status).toBe(404);
    expect(answer.text).toContain('no longer on the account');
    expect((await get(`${made.json.url}/f/x.txt`)).status).toBe(404);
  });

  it('a password link asks for it, and serves the file only after it', async () => {
    const made = await share({ path: '/clip.bin', password: 'open sesame' });
    const link = made.json.url;
    expect((await get(link)).text).toContain('type="password"');
    expect((await get(`${link}/file`)).status).toBe(403);
    const wrong = await fetch(link, { method: 'POST', body: 'password=nope', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
    expect(wrong.status).toBe(403);
    const right = await fetch(link, { method: 'POST', body: 'password=open+sesame', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
    expect(right.status).toBe(303);
    const cookie = right.headers.get('set-cookie')!.split(';')[0];
    const file = await get(`${link}/file`, { Cookie: cookie, Range: 'bytes=0-99' });
    expect(file.status).toBe(206);
    expect(file.body.equals(content.subarray(0, 100))).toBe(true);
    // The cookie opens that link only.
    const other = (await share({ path: '/clip.bin', password: 'other' })).json.id;
    expect((await get(`${bridge.publicUrl}/s/${other}/file`, { Cookie: cookie.replace(/fdshare_[^=]+/, `fdshare_${other}`) })).status).toBe(403);
  });

  it('password guesses are throttled (429 + Retry-After, not even hashed), logged without the id, and the cookie expires', async () => {
    const made = await share({ path: '/clip.bin', password: 'right horse battery' });
    const link = made.json.url;
    const guess = (password: string) =>
      fetch(link, { method: 'POST', body: `password=${encodeURIComponent(password)}`, headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) statuses.push((await guess(`guess-${i}`)).status);
    expect(statuses.slice(0, 4)).toEqual([403, 403, 403, 403]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    const blocked = await guess('right horse battery');
    expect(blocked.status).toBe(429); // the pair is blocked: no oracle, even for the right password
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await blocked.text()).toContain('Too many wrong passwords');
    expect(log.lines.some((l) => l.includes('share: wrong password'))).toBe(true);
    expect(log.lines.some((l) => l.includes(made.json.id))).toBe(false);

    // The cookie carries its expiry under the signature: one without (or with a past one) opens nothing.
    const { signLink } = await import('../../src/links/signature.js');
    const id = made.json.id;
    const past = Math.floor(Date.now() / 1000) - 10;
    for (const value of [signLink(bridge.linkSecret, `share-password:${id}`), `${past}.${signLink(bridge.linkSecret, `share-password:${id}:${past}`)}`, `${past + 10_000_000}.${signLink(bridge.linkSecret, `share-password:${id}:${past}`)}`]) {
      expect((await get(`${link}/file`, { Cookie: `fdshare_${id}=${value}` })).status, value).toBe(403);
    }
    const future = Math.floor(Date.now() / 1000) + 60;
    expect((await get(`${link}/file`, { Cookie: `fdshare_${id}=${future}.${signLink(bridge.linkSecret, `share-password:${id}:${future}`)}`, Range: 'bytes=0-9' })).status).toBe(206);
  });

  it('survives a rename on the account and a restart of serve; `fichier-dav share` adds links serve answers', async () => {
    const made = await share({ path: '/clip.bin' });
    await renameOnAccount(sim, clipUrl, 'renamed.bin');
    await bridge.close();
    const env = { PATH: process.env.PATH ?? '', HOME: dir, FICHIER_API_KEY: KEY };
    const common = ['--api-url', sim.apiUrl, '--state-dir', stateDir, '--time-scale', '0.01'];
    const cli = await spawnSync(
      process.execPath,
      [CLI_MAIN, 'share', '/Alice/renamed.bin', '--expires', '2h', '--max-downloads', '3', '--json', ...common, '--public-url', 'https://files.example.com/base'],
      { env, encoding: 'utf8', timeout: 120_000 },
    );
    expect(cli.status, cli.stderr).toBe(0);
    bridge = await start();
    const page = await get(`${bridge.publicUrl}/s/${made.json.id}`);
    expect(page.status).toBe(200);
    expect(page.text).toContain('renamed.bin');
    const part = await get(`${bridge.publicUrl}/s/${made.json.id}/file`, { Range: 'bytes=5-14' });
    expect(part.body.equals(content.subarray(5, 15))).toBe(true);

    const printed = JSON.parse(cli.stdout) as { url: string; id: string; expires: string };
    expect(printed.url).toBe(`https://files.example.com/base/s/${printed.id}`);
    expect(Date.parse(printed.expires)).toBeGreaterThan(Date.now());
    const served = await get(`${bridge.publicUrl}/s/${printed.id}/file`, { Range: 'bytes=0-9' });
    expect(served.status).toBe(206);
    expect(served.body.equals(content.subarray(0, 10))).toBe(true);

    const list = await spawnSync(process.execPath, [CLI_MAIN, 'share', '--list', '--json', ...common], { env, encoding: 'utf8', timeout: 120_000 });
    expect(list.status, list.stderr).toBe(0);
    const links = JSON.parse(list.stdout) as Array<{ id: string; state: string; downloads: number }>;
    expect(links.find((l) => l.id === printed.id)).toMatchObject({ state: 'active', downloads: 1 });
    const revoke = await spawnSync(process.execPath, [CLI_MAIN, 'share', '--revoke', printed.id, ...common], { env, encoding: 'utf8', timeout: 120_000 });
    expect(revoke.status, revoke.stderr).toBe(0);
    expect((await get(`${bridge.publicUrl}/s/${printed.id}/file`)).status).toBe(410);
  }, 240_000);
});
