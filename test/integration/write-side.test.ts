/**
 * The write side end to end, replaying what Windows Explorer and macOS Finder send, then checking
 * the account's content through the simulator.
 */
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { accountView, eventually } from './account-view.js';
import { readBody, startStack, streamToBuffer, type Stack } from './helpers.js';

let stack: Stack;

beforeEach(async () => {
  stack = await startStack();
});

afterEach(async () => {
  await stack?.close();
});

const LOCK_BODY = `<?xml version="1.0" encoding="utf-8"?>
<D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>
<D:owner><D:href>user</D:href></D:owner></D:lockinfo>`;

async function lock(url: string): Promise<{ status: number; token: string }> {
  const response = await fetch(url, {
    method: 'LOCK',
    headers: { Depth: '0', Timeout: 'Second-3600', 'Content-Type': 'text/xml' },
    body: LOCK_BODY,
  });
  await response.text();
  return { status: response.status, token: (response.headers.get('lock-token') ?? '').replace(/^<|>$/g, '') };
}

/** Account files as the simulator holds them: real bytes by folder listing. */
async function accountFiles(stack: Stack): Promise<Map<string, Buffer>> {
  // The bridge may have listed the root a moment ago: lift the per-folder window for this look.
  stack.sim.setOptions({ limitsEnabled: false });
  const response = await fetch(`${stack.sim.apiUrl}/folder/ls.cgi`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${stack.sim.apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ folder_id: 0, files: 1 }),
  });
  stack.sim.setOptions({ limitsEnabled: true });
  const listing = (await response.json()) as { items?: Array<{ url: string; filename: string }> };
  const files = new Map<string, Buffer>();
  for (const item of listing.items ?? []) files.set(item.filename, await streamToBuffer(stack.sim.contentOf(item.url)));
  return files;
}

describe('Windows Explorer sequence', () => {
  it('PUT 0 bytes, LOCK, PUT content, PROPPATCH Win32*, UNLOCK', async () => {
    const { url } = stack;
    const target = `${url}/Report%202024.docx`;
    const empty = await fetch(target, { method: 'PUT', body: '' });
    expect(empty.status).toBe(201);

    const locked = await lock(target);
    expect(locked.status).toBe(200);
    expect(locked.token).toMatch(/^urn:uuid:/);

    const withoutToken = await fetch(target, { method: 'PUT', body: 'intruder' });
    expect(withoutToken.status).toBe(423);

    const content = Buffer.alloc(300_000);
    for (let index = 0; index < content.length; index += 1) content[index] = (index * 13) & 0xff;
    const put = await fetch(target, { method: 'PUT', body: content, headers: { If: `(<${locked.token}>)` } });
    expect(put.status).toBe(204);

    const proppatch = await fetch(target, {
      method: 'PROPPATCH',
      headers: { If: `(<${locked.token}>)`, 'Content-Type': 'text/xml' },
      body: `<?xml version="1.0" encoding="utf-8" ?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop>
<Z:Win32CreationTime>Mon, 23 Nov 2026 10:00:00 GMT</Z:Win32CreationTime>
<Z:Win32LastAccessTime>Mon, 23 Nov 2026 10:00:01 GMT</Z:Win32LastAccessTime>
<Z:Win32LastModifiedTime>Mon, 23 Nov 2026 10:00:02 GMT</Z:Win32LastModifiedTime>
<Z:Win32FileAttributes>00000020</Z:Win32FileAttributes>
</D:prop></D:set></D:propertyupdate>`,
    });
    expect(proppatch.status).toBe(207);
    const patchBody = await proppatch.text();
    expect(patchBody.match(/HTTP\/1.1 200 OK/g)?.length).toBeGreaterThanOrEqual(1);
    expect(patchBody).not.toMatch(/HTTP\/1.1 (4|5)\d\d/);

    const unlock = await fetch(target, { method: 'UNLOCK', headers: { 'Lock-Token': `<${locked.token}>` } });
    expect(unlock.status).toBe(204);

    const files = await accountFiles(stack);
    expect([...files.keys()]).toEqual(['Report 2024.docx']);
    expect(files.get('Report 2024.docx')!.equals(content)).toBe(true);

    const props = await fetch(target, {
      method: 'PROPFIND',
      headers: { Depth: '0' },
      body: `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`,
    });
    const text = await props.text();
    expect(text).toContain('00000020');
    expect(text).toContain('Win32LastModifiedTime');
    expect(text).toMatch(/getcontentlength>300000</);
  });
});

describe('macOS Finder sequence', () => {
  it('LOCK a new file, chunked PUT with X-Expected-Entity-Length, ._ file and .DS_Store stay local', async () => {
    const { url, sim } = stack;
    const target = `${url}/photo.jpg`;
    const locked = await lock(target);
    expect(locked.status).toBe(201);

    const content = Buffer.alloc(1_500_000, 9);
    const chunked = await fetch(target, {
      method: 'PUT',
      headers: { 'X-Expected-Entity-Length': String(content.length), If: `(<${locked.token}>)` },
      body: Readable.toWeb(Readable.from([content.subarray(0, 700_000), content.subarray(700_000)])) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect([201, 204]).toContain(chunked.status);

    const appleDouble = await fetch(`${url}/._photo.jpg`, { method: 'PUT', body: Buffer.alloc(4096, 1) });
    expect(appleDouble.status).toBe(201);
    const dsStore = await fetch(`${url}/.DS_Store`, { method: 'PUT', body: Buffer.alloc(6148, 2) });
    expect(dsStore.status).toBe(201);
    const unlock = await fetch(target, { method: 'UNLOCK', headers: { 'Lock-Token': `<${locked.token}>` } });
    expect(unlock.status).toBe(204);

    expect(sim.stats().calls['upload.cgi']).toBe(1);
    const files = await accountFiles(stack);
    expect([...files.keys()]).toEqual(['photo.jpg']);
    expect(files.get('photo.jpg')!.equals(content)).toBe(true);

    const back = await fetch(`${url}/._photo.jpg`);
    expect((await readBody(back)).equals(Buffer.alloc(4096, 1))).toBe(true);
    const listing = await (await fetch(`${url}/`, { method: 'PROPFIND', headers: { Depth: '1' } })).text();
    expect(listing).toContain('<D:href>/._photo.jpg</D:href>');
    expect(listing).toContain('<D:href>/.DS_Store</D:href>');
  });

  it('spools a chunked PUT without any length and uploads it whole', async () => {
    const { url } = stack;
    const content = Buffer.alloc(2_000_000, 5);
    const response = await fetch(`${url}/no-length.bin`, {
      method: 'PUT',
      body: Readable.toWeb(Readable.from([content.subarray(0, 1_000_000), content.subarray(1_000_000)])) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(201);
    const files = await accountFiles(stack);
    expect(files.get('no-length.bin')!.equals(content)).toBe(true);
  });
});

describe('nothing is lost when a replacement fails', () => {
  it.each([
    ['the upload node refuses it', { uploadRefusals: 3 }],
    ['the upload connection is cut', { failures: [{ host: 'upload', endpoint: 'upload.cgi', drop: true, count: 3 }] }],
    ['its checksum does not match', { endPlWrongWhirlpool: 1 }],
  ])('keeps the old content when %s', async (_label, faults) => {
    const { url, sim } = stack;
    const first = await fetch(`${url}/keep.txt`, { method: 'PUT', body: 'the original' });
    expect(first.status).toBe(201);
    sim.setFaults(faults);
    const replace = await fetch(`${url}/keep.txt`, { method: 'PUT', body: 'the replacement' });
    expect(replace.status).toBeGreaterThanOrEqual(500);
    sim.clearFaults();
    const files = await accountFiles(stack);
    expect([...files.entries()].map(([name, bytes]) => `${name}=${bytes.toString()}`)).toEqual(['keep.txt=the original']);
    expect(await (await fetch(`${url}/keep.txt`)).text()).toBe('the original');
  });
});

describe('an upload that end.pl never reports', () => {
  it('is found in its folder and completes the replacement', async () => {
    const { url, sim } = stack;
    expect((await fetch(`${url}/report.txt`, { method: 'PUT', body: 'version 1' })).status).toBe(201);
    sim.setFaults({ endPlNoLinks: 1000 });
    const replace = await fetch(`${url}/report.txt`, { method: 'PUT', body: 'version 2' });
    expect(replace.status).toBe(204);
    sim.clearFaults();
    const files = await accountFiles(stack);
    expect([...files.entries()].map(([name, bytes]) => `${name}=${bytes.toString()}`)).toEqual(['report.txt=version 2']);
  }, 60_000);

  it('fails without touching the old file when the listing does not show it either', async () => {
    const { url, sim } = stack;
    expect((await fetch(`${url}/report.txt`, { method: 'PUT', body: 'version 1' })).status).toBe(201);
    sim.setFaults({ endPlNoLinks: 1000, listingDelayMs: 3_600_000 });
    const replace = await fetch(`${url}/report.txt`, { method: 'PUT', body: 'version 2' });
    expect(replace.status).toBe(502);
    expect(await replace.text()).toMatch(/nothing was replaced|upload/i);
    expect(await (await fetch(`${url}/report.txt`)).text()).toBe('version 1');
    expect(sim.stats().calls['file/rm.cgi'] ?? 0).toBe(0);
  }, 60_000);
});

describe('a move whose API call floods', () => {
  it('waits out the cool-down, then does it exactly once', async () => {
    const { url, sim } = stack;
    expect((await fetch(`${url}/draft.txt`, { method: 'PUT', body: 'text' })).status).toBe(201);
    expect((await fetch(`${url}/Archive`, { method: 'MKCOL' })).status).toBe(201);
    sim.setFaults({ failures: [{ host: 'api', endpoint: 'file/mv.cgi', count: 1, flood: true }] });
    const move = await fetch(`${url}/draft.txt`, { method: 'MOVE', headers: { Destination: `${url}/Archive/final.txt` } });
    expect(move.status).toBe(201);
    const moves = sim.log().filter((entry) => entry.endpoint === 'file/mv.cgi');
    expect(moves.map((entry) => entry.outcome)).toEqual(['flood', 'OK']);
    expect(sim.stats().floods).toBe(1);
    expect((await fetch(`${url}/draft.txt`)).status).toBe(404);
    expect(await (await fetch(`${url}/Archive/final.txt`)).text()).toBe('text');
  }, 60_000);
});

describe('with housekeeping files uploaded (--upload-housekeeping-files)', () => {
  it('sends .DS_Store to the account like any file', async () => {
    await stack.close();
    stack = await startStack({}, { drive: { keepSystemFilesLocal: false } });
    const response = await fetch(`${stack.url}/.DS_Store`, { method: 'PUT', body: Buffer.alloc(6148, 2) });
    expect(response.status).toBe(201);
    expect(stack.sim.stats().calls['upload.cgi']).toBe(1);
    const files = await accountFiles(stack);
    expect([...files.keys()]).toEqual(['.DS_Store']);
  });
});

describe('an overwrite whose removal of the old file fails', () => {
  it('still succeeds: the new content holds the name, the old file is hidden, then removed once 1fichier allows it', async () => {
    await stack.close();
    stack = await startStack({}, { upstreamDeadlineMs: 1_500, drive: { reconcileRetryMs: 200 } });
    const { url, sim } = stack;
    expect((await fetch(`${url}/notes.txt`, { method: 'PUT', body: 'old notes' })).status).toBe(201);
    sim.setFaults({ failures: [{ host: 'api', endpoint: 'file/rm.cgi', flood: true, count: 1000 }] });
    const replace = await fetch(`${url}/notes.txt`, { method: 'PUT', body: 'new notes' });
    expect(replace.status).toBe(204);
    expect(await (await fetch(`${url}/notes.txt`)).text()).toBe('new notes');
    const listing = await (await fetch(`${url}/`, { method: 'PROPFIND', headers: { Depth: '1' } })).text();
    expect(listing).not.toMatch(/notes%20%5B/);
    sim.clearFaults();
    const { view, unsettled } = await eventually(
      async () => ({ view: await accountView(sim), unsettled: await stack.bridge.drive.unsettledWrites() }),
      (v) => v.view.duplicates.length === 0 && v.unsettled.length === 0,
    );
    expect(view.duplicates).toEqual([]);
    expect(view.files.get('/notes.txt')?.toString()).toBe('new notes');
    expect(unsettled).toEqual([]);
  }, 60_000);
});
