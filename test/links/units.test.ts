/** The pieces of the links foundation alone: signatures, the stored secret, stream URLs, ids in the memory drive, --public-url. */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { publicUrl } from '../../src/cli/config.js';
import { MemoryDrive } from '../../src/drive/memory-drive.js';
import { linkSecret } from '../../src/links/secret.js';
import { signLink, verifyLink } from '../../src/links/signature.js';
import { parseStreamPath, streamUrl, verifyStream } from '../../src/links/stream-url.js';
import { matchPublicRoute, type PublicRoute } from '../../src/public/routes.js';
import { openAccountDb } from '../../src/state/account-db.js';

const dirs: string[] = [];
afterAll(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

describe('signatures', () => {
  const secret = randomBytes(32);
  it('verifies its own signature and nothing else', () => {
    const signature = signLink(secret, 'stream:abc12');
    expect(signature).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(verifyLink(secret, 'stream:abc12', signature)).toBe(true);
    expect(verifyLink(secret, 'stream:abc13', signature)).toBe(false);
    expect(verifyLink(randomBytes(32), 'stream:abc12', signature)).toBe(false);
    expect(verifyLink(secret, 'stream:abc12', signature.slice(0, 42))).toBe(false);
    expect(verifyLink(secret, 'stream:abc12', `${signature.slice(0, 42)}${signature[42] === 'A' ? 'B' : 'A'}`)).toBe(false);
    expect(verifyLink(secret, 'stream:abc12', '')).toBe(false);
  });

  it('stream URLs: id-only signature, names percent-encoded, ids not interchangeable', () => {
    const url = streamUrl('https://media.example.org/dav/', secret, 'ABCDE12345', 'Film (2024) é#?.mkv');
    expect(url.startsWith('https://media.example.org/dav/stream/abcde12345/Film%20(2024)%20%C3%A9%23%3F.mkv?sig=')).toBe(true);
    const rest = new URL(url).pathname.slice('/dav/stream/'.length);
    expect(parseStreamPath(rest)).toEqual({ id: 'abcde12345', name: 'Film (2024) é#?.mkv' });
    const sig = new URL(url).searchParams.get('sig');
    expect(verifyStream(secret, 'abcde12345', sig)).toBe(true);
    expect(verifyStream(secret, 'abcde12346', sig)).toBe(false);
    // A signature made for another kind of link over the same id does not open a stream.
    expect(verifyStream(secret, 'abcde12345', signLink(secret, 'abcde12345'))).toBe(false);
    expect(parseStreamPath('../x')).toBeUndefined();
    expect(parseStreamPath('abcde12345/a/b')).toBeUndefined();
    expect(parseStreamPath('abcde12345/%E0%A4%A')).toBeUndefined();
  });
});

describe('the link secret in state.db', () => {
  it('is created once and read back by every process given the same state directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fichier-dav-secret-'));
    const other = await mkdtemp(join(tmpdir(), 'fichier-dav-secret-'));
    dirs.push(dir, other);
    const first = openAccountDb(dir);
    const second = openAccountDb(dir);
    const a = linkSecret(first);
    expect(a.length).toBe(32);
    expect(linkSecret(second).equals(a)).toBe(true);
    first.close();
    second.close();
    const reopened = openAccountDb(dir);
    expect(linkSecret(reopened).equals(a)).toBe(true);
    reopened.close();
    const elsewhere = openAccountDb(other);
    expect(linkSecret(elsewhere).equals(a)).toBe(false);
    elsewhere.close();
  });
});

describe('MemoryDrive ids', () => {
  it('survive renames and moves; a copy gets its own; a removed id is not found', async () => {
    const drive = new MemoryDrive();
    await drive.mkdir('/A');
    await drive.mkdir('/B');
    await drive.write('/A/x.mkv', Readable.from([Buffer.from('0123456789')]));
    const id = await drive.fileId('/A/x.mkv');
    await drive.move('/A/x.mkv', '/B/y.mkv', { overwrite: false });
    expect((await drive.statById(id)).path).toBe('/B/y.mkv');
    const chunks: Buffer[] = [];
    for await (const chunk of await drive.readById(id, { range: { start: 2, end: 4 } })) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('234');
    await drive.copy('/B/y.mkv', '/A/copy.mkv', { overwrite: false, depth: 'infinity' });
    expect(await drive.fileId('/A/copy.mkv')).not.toBe(id);
    await expect(drive.fileId('/A')).rejects.toMatchObject({ code: 'is-a-folder' });
    await drive.remove('/B/y.mkv');
    await expect(drive.statById(id)).rejects.toMatchObject({ code: 'not-found' });
  });
});

describe('--public-url', () => {
  it('takes an http(s) origin with an optional prefix, and explains what is wrong otherwise', () => {
    expect(publicUrl('http://192.168.1.10:8080/')).toBe('http://192.168.1.10:8080');
    expect(publicUrl('https://media.example.org/dav/')).toBe('https://media.example.org/dav');
    expect(() => publicUrl('media.example.org')).toThrow(/absolute http\(s\) URL/);
    expect(() => publicUrl('ftp://host/')).toThrow(/http:\/\/ or https:\/\//);
    expect(() => publicUrl('https://u:p@host/')).toThrow(/user or password/);
    expect(() => publicUrl('https://host/?x=1')).toThrow(/query/);
  });
});

describe('public routes', () => {
  it('match their prefix only', () => {
    const route = (prefix: string): PublicRoute => ({ prefix, handle: async () => {} });
    const routes = [route('/stream/'), route('/.share')];
    expect(matchPublicRoute(routes, '/stream/abc/x.mkv')?.rest).toBe('abc/x.mkv');
    expect(matchPublicRoute(routes, '/streamx')).toBeUndefined();
    expect(matchPublicRoute(routes, '/.share')?.rest).toBe('');
    expect(matchPublicRoute(routes, '/.share/abc')?.rest).toBe('abc');
    expect(matchPublicRoute(routes, '/.shared')).toBeUndefined();
  });
});
