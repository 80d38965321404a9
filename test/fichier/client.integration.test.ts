import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { apiLog, bytesOf, harness, KEY, readAll, type Harness } from './helpers.js';
import {
  AuthError,
  decodeName,
  DownloadLinkError,
  encodeName,
  FichierClient,
  ForbiddenError,
  NotFoundError,
  NotPremiumError,
  PasswordError,
  RejectedError,
  whirlpoolHex,
} from '../../src/fichier/index.js';

let h: Harness;
beforeEach(async () => {
  h = await harness({ freeApiKey: 'free-key-123' });
});
afterEach(async () => {
  await h.close();
});

describe('FichierClient against the simulator: every method', () => {
  it('userInfo parses mixed string/number scalars and is asked at most once per 60 s', async () => {
    const a = await h.client.userInfo();
    expect(a.offer).toBe(1);
    expect(typeof a.coldStorage).toBe('number');
    expect(a.availableColdStorage).toBeGreaterThan(0);
    const b = await h.client.userInfo();
    expect(b).toBe(a); // served from the just-finished answer
    expect(apiLog(h.sim).filter((e) => e.endpoint === 'user/info.cgi')).toHaveLength(1);
    expect(h.sim.stats().floods).toBe(0);
  });

  it('uploads (3 steps), lists with one folder/ls + files:1, reads info, downloads whole and ranged', async () => {
    const folder = await h.client.mkdir('Films', 0);
    const content = Buffer.from('x'.repeat(100_000) + 'tail');
    const rawName = 'Le "film" d\'été: <1/2>.mkv';
    const up = await h.client.upload(bytesOf(content), { size: content.length, name: encodeName(rawName), folderId: folder.folderId });
    expect(up.verified).toBe(true);
    expect(up.size).toBe(content.length);
    expect(up.whirlpool).toBe(await whirlpoolHex(content));
    expect(decodeName(up.filename)).toBe(rawName);

    const listing = await h.client.listFolder(folder.folderId);
    expect(listing.folderId).toBe(folder.folderId);
    expect(listing.name).toBe('Films');
    expect(listing.files.map((f) => decodeName(f.filename))).toEqual([rawName]);
    expect(listing.files[0].checksum).toBe(up.whirlpool);
    expect(listing.files[0].date).toBeInstanceOf(Date);
    expect(Math.abs(listing.files[0].date!.getTime() - Date.now())).toBeLessThan(120_000);

    const info = await h.client.fileInfo(up.url);
    expect(info.size).toBe(content.length);
    expect(info.folderId).toBe(folder.folderId);
    expect(info.contentType).toBeTruthy();

    const link = await h.client.getDownloadToken(up.url);
    const whole = await h.client.openDownload(link);
    expect(whole.status).toBe(200);
    expect((await readAll(whole.body)).equals(content)).toBe(true);

    const link2 = await h.client.getDownloadToken(up.url);
    const part = await h.client.openDownload(link2, { range: { start: 100_000, end: 100_003 } });
    expect(part.status).toBe(206);
    expect((await readAll(part.body)).toString()).toBe('tail');

    // single-use: the spent link is refused with a typed error
    await expect(h.client.openDownload(link)).rejects.toBeInstanceOf(DownloadLinkError);

    const log = h.sim.log();
    const post = log.filter((e) => e.endpoint === 'upload.cgi');
    expect(post).toHaveLength(1);
    expect(Number(post[0].headers['content-length'])).toBeGreaterThan(content.length);
    expect(post[0].headers['transfer-encoding']).toBeUndefined();
    const end = log.filter((e) => e.endpoint === 'end.pl');
    expect(end.length).toBeGreaterThanOrEqual(1);
    expect(end.every((e) => e.headers.json === '1')).toBe(true);
    // one listing call for sub-folders and files
    const ls = log.filter((e) => e.endpoint === 'folder/ls.cgi');
    expect(ls).toHaveLength(1);
    expect(ls[0].body).toEqual({ folder_id: folder.folderId, files: 1 });
  });

  it('downloads a stored .html file (served as text/html), while a dead link answered 200 text/html stays an error', async () => {
    const content = Buffer.from('<!DOCTYPE html><html><body><div class="bloc2">not an error page, a file</div></body></html>');
    const up = await h.client.upload(bytesOf(content), { size: content.length, name: 'page.html', folderId: 0 });
    expect((await h.client.fileInfo(up.url)).contentType).toContain('text/html');
    const whole = await h.client.openDownload(await h.client.getDownloadToken(up.url));
    expect(whole.status).toBe(200);
    expect((await readAll(whole.body)).equals(content)).toBe(true);
    const part = await h.client.openDownload(await h.client.getDownloadToken(up.url), { range: { start: 10, end: 13 } });
    expect(part.status).toBe(206);
    expect((await readAll(part.body)).toString()).toBe('html');

    h.sim.setOptions({ deadTokenStatus: 200 });
    const spent = await h.client.getDownloadToken(up.url);
    await readAll((await h.client.openDownload(spent)).body);
    await expect(h.client.openDownload(spent)).rejects.toBeInstanceOf(DownloadLinkError);
  });

  it('returns the name 1fichier stored (read back from end.pl), which may differ from the one sent', async () => {
    const raw = 'he said "hi" $x.txt';
    const data = Buffer.from('abc');
    const unencoded = await h.client.upload(bytesOf(data), { size: 3, name: raw });
    expect(unencoded.filename).not.toBe(raw); // the node stripped the forbidden characters
    expect((await h.client.fileInfo(unencoded.url)).filename).toBe(unencoded.filename);
    const encoded = await h.client.upload(bytesOf(data), { size: 3, name: encodeName(raw) });
    expect(decodeName(encoded.filename)).toBe(raw);
  });

  it('sets Authorization and Content-Type: application/json on every API call, GET get_upload_server included', async () => {
    await h.client.getUploadServer();
    await h.client.listFolder(0);
    await h.client.userInfo();
    const log = apiLog(h.sim);
    expect(log.length).toBe(3);
    expect(log.find((e) => e.endpoint === 'upload/get_upload_server.cgi')?.method).toBe('GET');
    for (const e of log) {
      expect(e.auth).toBe(true);
      expect(e.headers['content-type']).toBe('application/json');
      expect(e.outcome).toBe('OK');
    }
    expect(h.sim.stats().statuses['upload/get_upload_server.cgi']?.['400']).toBeUndefined();
  });

  it('listFiles: one folder, -1 for everything, and sent_before/sent_after filters in Paris time', async () => {
    const f = await h.sim.addFolder({ parentId: 0, name: 'docs' });
    await h.sim.addFile({ folderId: f, name: 'old.txt', content: 'o', date: new Date('2024-07-01T10:00:00Z') });
    await h.sim.addFile({ folderId: f, name: 'new.txt', content: 'n', date: new Date('2025-01-15T10:00:00Z') });
    await h.sim.addFile({ folderId: 0, name: 'root.txt', content: 'r' });
    const all = await h.client.listFiles(f);
    expect(all.map((x) => x.filename).sort()).toEqual(['new.txt', 'old.txt']);
    const old = all.find((x) => x.filename === 'old.txt')!;
    expect(old.date?.toISOString()).toBe('2024-07-01T10:00:00.000Z');
    expect(old.rawDate).toBe('2024-07-01 12:00:00'); // CEST

    const before = await h.client.listFiles(f, { sentBefore: new Date('2024-12-01T00:00:00Z'), fresh: true });
    expect(before.map((x) => x.filename)).toEqual(['old.txt']);
    const after = await h.client.listFiles(f, { sentAfter: '2024-12-01 00:00:00' });
    expect(after.map((x) => x.filename)).toEqual(['new.txt']);
    const everything = await h.client.listFiles(-1);
    expect(everything.map((x) => x.filename).sort()).toEqual(['new.txt', 'old.txt', 'root.txt']);

    // the three listings of folder f were spaced by the 30 s (scaled) window
    const times = apiLog(h.sim).filter((e) => e.endpoint === 'file/ls.cgi' && (e.body as { folder_id: number }).folder_id === f).map((e) => e.ms);
    expect(times).toHaveLength(3);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(300);
    expect(h.sim.stats().floods).toBe(0);
  });

  it('moves, copies, renames, chattrs and removes files', async () => {
    const a = await h.client.mkdir('A');
    const b = await h.client.mkdir('B', a.folderId);
    const url = await h.sim.addFile({ folderId: a.folderId, name: 'f.bin', content: Buffer.from('data') });

    const mv = await h.client.moveFiles([url], b.folderId);
    expect(mv.moved).toBe(1);
    expect((await h.client.fileInfo(mv.urls[0] ?? url)).folderId).toBe(b.folderId);

    const cp = await h.client.copyFiles([url], a.folderId, { rename: 'copy.bin' });
    expect(cp.copied).toBe(1);
    expect(cp.urls[0].to).not.toBe(url);
    const copyInfo = await h.client.fileInfo(cp.urls[0].to);
    expect(copyInfo.filename).toBe('copy.bin');
    expect(copyInfo.folderId).toBe(a.folderId);

    const rn = await h.client.renameFile(url, 'renamed.bin');
    expect(rn.newName).toBe('renamed.bin');
    expect((await h.client.fileInfo(url)).filename).toBe('renamed.bin');

    const ch = await h.client.chattr([url], { inline: true, description: 'hello' });
    expect(ch.updated).toBe(1);
    const info = await h.client.fileInfo(url);
    expect(info.inline).toBe(true);
    expect(info.description).toBe('hello');

    const rm = await h.client.removeFiles([url, cp.urls[0].to]);
    expect(rm.removed).toBe(2);
    await expect(h.client.fileInfo(url)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('mkdir, moveFolder (rename in place; move with rclone rules), removeFolder', async () => {
    const a = await h.client.mkdir('A');
    const b = await h.client.mkdir('B');
    const renamed = await h.client.moveFolder(a.folderId, { rename: 'A2' });
    expect(renamed.newName).toBe('A2');
    await h.client.moveFolder(a.folderId, { destinationFolderId: b.folderId });
    let lb = await h.client.listFolder(b.folderId);
    expect(lb.subFolders.map((s) => s.name)).toEqual(['A2']);
    await h.client.moveFolder(a.folderId, { destinationFolderId: 0 });
    const root = await h.client.listFolder(0);
    expect(root.subFolders.map((s) => s.name).sort()).toEqual(['A2', 'B']);
    lb = await h.client.listFolder(b.folderId, { fresh: true });
    expect(lb.subFolders).toEqual([]);

    const mv = h.sim.log().filter((e) => e.endpoint === 'folder/mv.cgi').map((e) => e.body);
    expect(mv).toEqual([
      { folder_id: a.folderId, destination_user: '', rename: 'A2' },
      { folder_id: a.folderId, destination_folder_id: b.folderId, destination_user: '' },
      { folder_id: a.folderId, destination_user: '' }, // destination 0 omitted, as rclone does
    ]);

    await h.client.removeFolder(b.folderId);
    await h.client.removeFolder(a.folderId);
    const after = await h.client.listFolder(0, { fresh: true });
    expect(after.subFolders).toEqual([]);
  });

  it('remote upload: request, list, info', async () => {
    const server: Server = createServer((_req, res) => res.end('remote bytes'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const port = (server.address() as { port: number }).port;
      const req = await h.client.remoteRequest([`http://127.0.0.1:${port}/file.txt`], 0);
      expect(req.id).toBeGreaterThan(0);
      const list = await h.client.remoteList();
      expect(list.map((r) => r.id)).toContain(req.id);
      const info = await h.client.remoteInfo(req.id);
      expect(info.id).toBe(req.id);
      expect(info.requestDate).toBeInstanceOf(Date);
    } finally {
      server.close();
    }
  });
});

describe('FichierClient against the simulator: the error catalogue', () => {
  it('a bad key → AuthError (not retried), and the key never shows in the error', async () => {
    const bad = new FichierClient({ apiKey: 'wrong-key-0123456789', apiUrl: h.sim.apiUrl, timeScale: 0.01 });
    try {
      const err = await bad.listFolder(0).catch((e) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect(err.httpStatus).toBe(401);
      expect(err.code).toBe(247);
      expect(err.serverMessage).toMatch(/Not authenticated/);
      for (const text of [String(err), err.stack, JSON.stringify(err)]) expect(text).not.toContain('wrong-key-0123456789');
      expect(apiLog(h.sim)).toHaveLength(1);
    } finally {
      await bad.close();
    }
  });

  it('a free account key → NotPremiumError (#200)', async () => {
    const free = new FichierClient({ apiKey: 'free-key-123', apiUrl: h.sim.apiUrl, timeScale: 0.01 });
    try {
      const err = await free.userInfo().catch((e) => e);
      expect(err).toBeInstanceOf(NotPremiumError);
      expect(err.code).toBe(200);
    } finally {
      await free.close();
    }
  });

  it('an unknown file → NotFoundError (404 #469), not retried', async () => {
    const err = await h.client.fileInfo('https://1fichier.com/?aaaaaaaaaaaaaaaaaaaa').catch((e) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.httpStatus).toBe(404);
    expect(err.code).toBe(469);
    await expect(h.client.getDownloadToken('https://1fichier.com/?aaaaaaaaaaaaaaaaaaaa')).rejects.toBeInstanceOf(NotFoundError);
    expect(apiLog(h.sim)).toHaveLength(2);
  });

  it('a password-protected file: info → ForbiddenError #631; token without/with a wrong password → PasswordError; right one → link', async () => {
    const url = await h.sim.addFile({ folderId: 0, name: 'secret.txt', content: 'pw', pass: 'hunter22' });
    const info = await h.client.fileInfo(url).catch((e) => e);
    expect(info).toBeInstanceOf(ForbiddenError);
    expect(info.httpStatus).toBe(403);
    const none = await h.client.getDownloadToken(url).catch((e) => e);
    expect(none).toBeInstanceOf(PasswordError);
    expect(none.serverMessage).toMatch(/Password not provided/);
    const wrong = await h.client.getDownloadToken(url, { pass: 'nope' }).catch((e) => e);
    expect(wrong).toBeInstanceOf(PasswordError);
    expect(wrong.serverMessage).toMatch(/Invalid password/);
    const link = await h.client.getDownloadToken(url, { pass: 'hunter22' });
    expect((await readAll((await h.client.openDownload(link)).body)).toString()).toBe('pw');
    // none of the refusals was retried
    expect(apiLog(h.sim).filter((e) => e.endpoint === 'download/get_token.cgi')).toHaveLength(3);
  });

  it('renaming to the same name → RejectedError #312 inside HTTP 200', async () => {
    const url = await h.sim.addFile({ folderId: 0, name: 'same.txt', content: 's' });
    const err = await h.client.renameFile(url, 'same.txt').catch((e) => e);
    expect(err).toBeInstanceOf(RejectedError);
    expect(err.httpStatus).toBe(200);
    expect(err.code).toBe(312);
    expect(err.serverMessage).toBe('No file has been renamed #312');
  });

  it('removing a non-empty folder → RejectedError; a duplicate folder name → RejectedError', async () => {
    const f = await h.client.mkdir('full');
    await h.sim.addFile({ folderId: f.folderId, name: 'x', content: 'x' });
    const err = await h.client.removeFolder(f.folderId).catch((e) => e);
    expect(err).toBeInstanceOf(RejectedError);
    expect(err.serverMessage).toBe('Folder not empty #621');
    const dup = await h.client.mkdir('full').catch((e) => e);
    expect(dup).toBeInstanceOf(RejectedError);
  });

  it('"No such user #93" variant → AuthError; unknown folder → NotFoundError', async () => {
    h.sim.setOptions({ badKeyMessage: 'no-such-user' });
    const bad = new FichierClient({ apiKey: 'another-wrong-key', apiUrl: h.sim.apiUrl, timeScale: 0.01 });
    try {
      const err = await bad.userInfo().catch((e) => e);
      expect(err).toBeInstanceOf(AuthError);
      expect(err.code).toBe(93);
    } finally {
      await bad.close();
    }
    await expect(h.client.listFolder(987654)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('raw forbidden characters are refused by 1fichier; the same names encoded by the codec round-trip', async () => {
    const raw = 'a "quoted" <name> $HOME `x` \\ /slash\' ';
    const err = await h.client.mkdir(raw).catch((e) => e);
    expect(err).toBeInstanceOf(RejectedError);
    const made = await h.client.mkdir(encodeName(raw));
    expect(decodeName(made.name)).toBe(raw);
    const listing = await h.client.listFolder(0);
    expect(listing.subFolders.map((f) => decodeName(f.name))).toEqual([raw]);
    const url = await h.sim.addFile({ folderId: made.folderId, name: 'x.txt', content: 'x' });
    await h.client.renameFile(url, encodeName(' lead.txt'));
    expect(decodeName((await h.client.fileInfo(url)).filename)).toBe(' lead.txt');
  });

  it('bad arguments are refused before any call', async () => {
    await expect(h.client.listFolder(-2)).rejects.toThrow(TypeError);
    await expect(h.client.fileInfo('not a url')).rejects.toThrow(TypeError);
    await expect(h.client.upload(bytesOf(Buffer.alloc(0)), { size: 0, name: 'empty' })).rejects.toThrow(RangeError);
    await expect(h.client.upload(bytesOf(Buffer.alloc(1)), { size: 1, name: '' })).rejects.toThrow(TypeError);
    await expect(h.client.moveFiles(['https://1fichier.com/?a', 'https://1fichier.com/?b'], 0, { rename: 'x' })).rejects.toThrow(TypeError);
    expect(apiLog(h.sim)).toHaveLength(0);
    expect(() => new FichierClient({ apiKey: '' })).toThrow(TypeError);
    expect(() => new FichierClient({ apiKey: KEY, ratePerSecond: 5 })).toThrow(RangeError);
  });
});
