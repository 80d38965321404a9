/**
 * The links foundation end to end: a file read by id through `/stream/<id>/<name>?sig=…` on a real
 * bridge over the simulator. The id outlives renames and moves made on the account directly,
 * ranges are byte-exact, a removed file is 404, and a bad signature is 403 at no API cost.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShareStore } from '../../src/links/shares.js';
import { streamUrl } from '../../src/links/stream-url.js';
import { openAccountDb } from '../../src/state/account-db.js';
import { startStack, type Stack } from '../integration/helpers.js';
import { moveOnAccount, removeOnAccount, renameOnAccount } from './helpers.js';

const content = randomBytes(300_000);
let stack: Stack;
let fileUrl: string;
let otherFolder: number;
let direct: string;
const logLines: string[] = [];
const record = (message: string, fields?: Record<string, unknown>) => void logLines.push(`${message} ${JSON.stringify(fields ?? {})}`);

beforeAll(async () => {
  stack = await startStack({}, { logger: { info: record, warn: record, error: record } });
  const folder = await stack.sim.addFolder({ name: 'Films' });
  otherFolder = await stack.sim.addFolder({ name: 'Archive' });
  fileUrl = await stack.sim.addFile({ folderId: folder, name: 'clip (1).mkv', content });
  const other = await stack.sim.addFolder({ name: 'Other' });
  await stack.sim.addFile({ folderId: other, name: 'other.mp4', content: randomBytes(1000) });
  const gone = await stack.sim.addFolder({ name: 'Gone' });
  await stack.sim.addFile({ folderId: gone, name: 'a.mp4', content: randomBytes(2000) });
  direct = await stack.sim.addFile({ folderId: gone, name: 'b.mp4', content: randomBytes(2000) });
}, 120_000);

afterAll(async () => stack?.close());

async function link(path: string): Promise<string> {
  const id = await stack.bridge.drive.fileId(path);
  return streamUrl(stack.bridge.publicUrl, stack.bridge.linkSecret, id, path.split('/').pop()!);
}

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: Headers }> {
  const response = await fetch(url, { headers, redirect: 'manual' });
  return { status: response.status, body: Buffer.from(await response.arrayBuffer()), headers: response.headers };
}

describe('reading a file by id', () => {
  it('serves the whole file and byte-exact ranges without WebDAV credentials', async () => {
    const url = await link('/Films/clip (1).mkv');
    expect(url).toMatch(/\/stream\/[a-z0-9]+\/clip%20\(1\)\.mkv\?sig=[A-Za-z0-9_-]{43}$/);
    const whole = await get(url);
    expect(whole.status).toBe(200);
    expect(whole.body.equals(content)).toBe(true);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.headers.get('content-disposition')).toContain('clip (1).mkv');

    const middle = await get(url, { Range: 'bytes=1000-70999' });
    expect(middle.status).toBe(206);
    expect(middle.headers.get('content-range')).toBe(`bytes 1000-70999/${content.length}`);
    expect(middle.body.equals(content.subarray(1000, 71000))).toBe(true);

    const tail = await get(url, { Range: 'bytes=-4096' });
    expect(tail.status).toBe(206);
    expect(tail.body.equals(content.subarray(content.length - 4096))).toBe(true);

    const open = await get(url, { Range: `bytes=${content.length - 10}-` });
    expect(open.body.equals(content.subarray(content.length - 10))).toBe(true);

    const beyond = await get(url, { Range: `bytes=${content.length}-` });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${content.length}`);

    const head = await fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe(String(content.length));
    const etag = head.headers.get('etag')!;
    expect((await get(url, { 'If-None-Match': etag })).status).toBe(304);
    // Requests are logged, their signatures never (a signature is a credential).
    const signature = new URL(url).searchParams.get('sig')!;
    expect(logLines.some((line) => line.includes('/stream/') && line.includes('sig=<hidden>'))).toBe(true);
    expect(logLines.filter((line) => line.includes(signature))).toEqual([]);
  }, 120_000);

  it('keeps working after a rename and a move made on the account directly', async () => {
    const url = await link('/Films/clip (1).mkv');
    await renameOnAccount(stack.sim, fileUrl, 'renamed.mkv');
    const afterRename = await get(url, { Range: 'bytes=5-104' });
    expect(afterRename.status).toBe(206);
    expect(afterRename.body.equals(content.subarray(5, 105))).toBe(true);

    await moveOnAccount(stack.sim, fileUrl, otherFolder);
    const afterMove = await get(url);
    expect(afterMove.status).toBe(200);
    expect(afterMove.body.equals(content)).toBe(true);

    // With no cached listing holding it, one file/info.cgi finds where it is now.
    for (const folder of [0, otherFolder]) stack.bridge.drive.folders.invalidate(folder);
    const infoBefore = stack.calls('file/info.cgi');
    const drive = stack.bridge.drive;
    const id = new URL(url).pathname.split('/')[2]!;
    drive.folders.forget(drive.folders.findFile((file) => file.url === fileUrl)?.folder.id ?? -1);
    const entry = await drive.statById(id);
    expect(entry.path).toBe('/Archive/renamed.mkv');
    expect(entry.size).toBe(content.length);
    expect(stack.calls('file/info.cgi')).toBe(infoBefore + 1);
  }, 120_000);

  it('refuses a tampered, foreign or missing signature with 403 and no API call', async () => {
    const url = await link('/Films/clip (1).mkv').catch(() => link('/Archive/renamed.mkv'));
    const other = await link('/Other/other.mp4');
    const before = stack.apiCalls();
    const signature = new URL(url).searchParams.get('sig')!;
    const flipped = signature.slice(0, 10) + (signature[10] === 'A' ? 'B' : 'A') + signature.slice(11);
    expect((await get(url.replace(signature, flipped))).status).toBe(403);
    // The other file's valid signature does not open this file, nor the reverse.
    const otherSignature = new URL(other).searchParams.get('sig')!;
    expect((await get(url.replace(signature, otherSignature))).status).toBe(403);
    expect((await get(url.split('?')[0]!)).status).toBe(403);
    const otherId = new URL(other).pathname.split('/')[2]!;
    const id = new URL(url).pathname.split('/')[2]!;
    expect((await get(url.replace(id, otherId))).status).toBe(403);
    expect(stack.apiCalls()).toBe(before);
  }, 120_000);

  it('answers 404 once the file is removed, through the bridge or on the account', async () => {
    const urlA = await link('/Gone/a.mp4');
    const urlB = await link('/Gone/b.mp4');
    expect((await get(urlA)).status).toBe(200);
    expect((await fetch(`${stack.url}/Gone/a.mp4`, { method: 'DELETE' })).status).toBe(204);
    expect((await get(urlA)).status).toBe(404);
    await removeOnAccount(stack.sim, direct);
    expect((await get(urlB)).status).toBe(404);
  }, 120_000);
});

describe('redirect mode', () => {
  it('answers 302 to a fresh direct link that serves the file', async () => {
    const redirecting = await startStack({}, { downloads: 'redirect' });
    try {
      await redirecting.sim.addFile({ name: 'r.mp4', content });
      const id = await redirecting.bridge.drive.fileId('/r.mp4');
      const url = streamUrl(redirecting.bridge.publicUrl, redirecting.bridge.linkSecret, id, 'r.mp4');
      const answer = await get(url);
      expect(answer.status).toBe(302);
      const location = answer.headers.get('location')!;
      expect(location.startsWith(redirecting.sim.downloadHost) || location.includes('127.0.0.1')).toBe(true);
      const followed = await get(location);
      expect(followed.body.equals(content)).toBe(true);

      // A share link's redirect hands out the whole file, whatever Range was asked: it counts.
      const store = new ShareStore(openAccountDb(redirecting.bridge.stateDir));
      const once = store.create({ kind: 'file', fileId: id, path: '/r.mp4', name: 'r.mp4', createdBy: 'test', maxDownloads: 1 });
      expect((await get(`${redirecting.bridge.publicUrl}/s/${once.id}/file`, { Range: 'bytes=5-' })).status).toBe(302);
      expect((await get(`${redirecting.bridge.publicUrl}/s/${once.id}/file`, { Range: 'bytes=5-' })).status).toBe(410);
    } finally {
      await redirecting.close();
    }
  }, 120_000);
});

describe('failures seen by an anonymous link holder', () => {
  it("never carry the drive's reason (account paths, the API key's state): that goes to the log", async () => {
    const lines: string[] = [];
    const keep = (message: string, fields?: Record<string, unknown>) => void lines.push(`${message} ${JSON.stringify(fields ?? {})}`);
    const refused = await startStack({}, { logger: { info: keep, warn: keep, error: keep } });
    try {
      const folder = await refused.sim.addFolder({ name: 'Private Folder' });
      await refused.sim.addFile({ folderId: folder, name: 'secret-name.mp4', content: randomBytes(5000) });
      const id = await refused.bridge.drive.fileId('/Private Folder/secret-name.mp4');
      const url = streamUrl(refused.bridge.publicUrl, refused.bridge.linkSecret, id, 'x.mp4');
      refused.sim.setOptions({ apiKey: 'a-key-the-bridge-does-not-have-0000' });
      const answer = await get(url);
      expect(answer.status).toBeGreaterThanOrEqual(500);
      const text = answer.body.toString('utf8');
      expect(text).not.toMatch(/API key|FICHIER_API_KEY|api-key-file|Private Folder|secret-name|#247/i);
      expect(lines.some((l) => l.includes('public link: cannot serve the file') && /API key/.test(l))).toBe(true);
    } finally {
      await refused.close();
    }
  }, 120_000);
});
