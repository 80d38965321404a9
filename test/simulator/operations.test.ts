import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { api, NO_LIMITS } from './helpers.js';

let sim: Simulator;
const DATE = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: 'ops-key', ...NO_LIMITS });
});
afterAll(async () => {
  await sim.close();
});

type Item = Record<string, unknown>;
const items = (r: { json: Record<string, unknown> }): Item[] => (r.json.items as Item[] | undefined) ?? [];
const fresh = (name: string): Promise<number> => sim.addFolder({ name: `${name}-${Math.random().toString(36).slice(2, 8)}` });

describe('listings (§4.2, §4.3, §10 items 5, 6, 9, 10)', () => {
  it('folder/ls shape: Root with integer ids, sub_folders, files count, items with files:1', async () => {
    const parent = await fresh('shape');
    const child = await sim.addFolder({ parentId: parent, name: 'Enfant' });
    const url = await sim.addFile({ folderId: parent, name: 'doc.txt', content: 'hello' });
    const root = await api(sim, 'folder/ls.cgi', { folder_id: 0 });
    expect(root.json).toMatchObject({ status: 'OK', folder_id: 0, name: 'Root' });
    const r = await api(sim, 'folder/ls.cgi', { folder_id: parent, files: 1 });
    expect(r.json).toMatchObject({ status: 'OK', folder_id: parent, files: 1, size: 5 });
    expect(r.json.create_date).toMatch(DATE);
    expect(r.json.sub_folders).toEqual([{ id: child, name: 'Enfant', create_date: expect.stringMatching(DATE), pass: 0 }]);
    expect(items(r)).toEqual([
      { url, filename: 'doc.txt', size: 5, date: expect.stringMatching(DATE), checksum: expect.stringMatching(/^[0-9a-f]{128}$/), 'content-type': 'text/plain', pass: 0, acl: 0, cdn: 0 },
    ]);
    expect(url).toMatch(/^https:\/\/1fichier\.com\/\?[a-z0-9]{20}$/);
    // Without files:1 there are no items.
    expect((await api(sim, 'folder/ls.cgi', { folder_id: parent })).json).not.toHaveProperty('items');
  });

  it('empty folder: [] by default, keys omitted when omitEmptyArrays is on; size null', async () => {
    const empty = await fresh('empty');
    const r = await api(sim, 'folder/ls.cgi', { folder_id: empty, files: 1 });
    expect(r.json.sub_folders).toEqual([]);
    expect(r.json.items).toEqual([]);
    expect(r.json.size).toBeNull();
    expect(r.json.files).toBe(0);
    sim.setOptions({ omitEmptyArrays: true });
    try {
      const o = await api(sim, 'folder/ls.cgi', { folder_id: empty, files: 1 });
      expect(o.json).not.toHaveProperty('sub_folders');
      expect(o.json).not.toHaveProperty('items');
      expect((await api(sim, 'file/ls.cgi', { folder_id: empty })).json).toEqual({ status: 'OK', count: 0 });
    } finally {
      sim.setOptions({ omitEmptyArrays: false });
    }
  });

  it('file/ls: items shape, count, -1 lists every file, unknown folder is a 404 KO', async () => {
    const a = await fresh('fa');
    const b = await fresh('fb');
    const u1 = await sim.addFile({ folderId: a, name: 'one.txt', content: '1' });
    const u2 = await sim.addFile({ folderId: b, name: 'two.txt', content: '22' });
    const r = await api(sim, 'file/ls.cgi', { folder_id: a });
    expect(r.json.count).toBe(1);
    expect(items(r)[0]).toMatchObject({ url: u1, filename: 'one.txt', size: 1 });
    const all = await api(sim, 'file/ls.cgi', { folder_id: -1 });
    const urls = items(all).map((i) => i.url);
    expect(urls).toContain(u1);
    expect(urls).toContain(u2);
    const missing = await api(sim, 'file/ls.cgi', { folder_id: 999 });
    expect(missing.status).toBe(404);
    expect(missing.json.status).toBe('KO');
  });

  it('dates are Europe/Paris local time, and sent_before / sent_after filter on them', async () => {
    const f = await fresh('dates');
    // 2021-06-22 12:57:25 UTC is 14:57:25 in Paris (summer, UTC+2); January is UTC+1.
    await sim.addFile({ folderId: f, name: 'summer.txt', content: 's', date: Date.UTC(2021, 5, 22, 12, 57, 25) });
    await sim.addFile({ folderId: f, name: 'winter.txt', content: 'w', date: Date.UTC(2022, 0, 10, 8, 0, 0) });
    const r = await api(sim, 'file/ls.cgi', { folder_id: f });
    const byName = Object.fromEntries(items(r).map((i) => [i.filename, i.date]));
    expect(byName['summer.txt']).toBe('2021-06-22 14:57:25');
    expect(byName['winter.txt']).toBe('2022-01-10 09:00:00');
    const before = await api(sim, 'file/ls.cgi', { folder_id: f, sent_before: '2021-12-31 00:00:00' });
    expect(items(before).map((i) => i.filename)).toEqual(['summer.txt']);
    const after = await api(sim, 'file/ls.cgi', { folder_id: f, sent_after: '2022-01-10 09:00:00' });
    expect(items(after).map((i) => i.filename)).toEqual(['winter.txt']);
    // Across the spring DST change (2024-03-31 01:00 UTC): 01:59:59 CET is followed by 03:00:00 CEST.
    const g = await fresh('dst');
    await sim.addFile({ folderId: g, name: 'before-dst', content: 'b', date: Date.UTC(2024, 2, 31, 0, 59, 59) });
    await sim.addFile({ folderId: g, name: 'after-dst', content: 'a', date: Date.UTC(2024, 2, 31, 1, 0, 0) });
    const dst = Object.fromEntries(items(await api(sim, 'file/ls.cgi', { folder_id: g })).map((i) => [i.filename, i.date]));
    expect(dst).toEqual({ 'before-dst': '2024-03-31 01:59:59', 'after-dst': '2024-03-31 03:00:00' });
    const afterDst = await api(sim, 'file/ls.cgi', { folder_id: g, sent_after: '2024-03-31 03:00:00' });
    expect(items(afterDst).map((i) => i.filename)).toEqual(['after-dst']);
    const bad = await api(sim, 'file/ls.cgi', { folder_id: f, sent_after: 'yesterday' });
    expect(bad.json.status).toBe('KO');
  });

  it('allows duplicate names and does not sort listings by name', async () => {
    const f = await fresh('order');
    const names = ['a.txt', 'b.txt', 'c.txt', 'd.txt', 'e.txt', 'f.txt', 'g.txt', 'h.txt', 'a.txt'];
    for (const n of names) await sim.addFile({ folderId: f, name: n, content: n });
    const r = await api(sim, 'file/ls.cgi', { folder_id: f });
    const got = items(r).map((i) => i.filename as string);
    expect([...got].sort()).toEqual([...names].sort());
    expect(got).not.toEqual([...got].sort());
    // Stable between calls.
    expect(items(await api(sim, 'file/ls.cgi', { folder_id: f })).map((i) => i.filename)).toEqual(got);
    sim.setOptions({ listingOrder: 'name' });
    try {
      const sorted = items(await api(sim, 'file/ls.cgi', { folder_id: f })).map((i) => i.filename as string);
      expect(sorted).toEqual([...names].sort());
    } finally {
      sim.setOptions({ listingOrder: 'hashed' });
    }
  });

  it('caps a listing at 5000 items (configurable cap, no pagination)', async () => {
    const f = await fresh('cap');
    for (let i = 0; i < 12; i++) await sim.addFile({ folderId: f, name: `n${i}.txt`, content: 'x' });
    sim.setOptions({ listingCap: 10 });
    try {
      const r = await api(sim, 'file/ls.cgi', { folder_id: f });
      expect(items(r)).toHaveLength(10);
      expect((await api(sim, 'folder/ls.cgi', { folder_id: f, files: 1 })).json.files).toBe(12);
    } finally {
      sim.setOptions({ listingCap: 5000 });
    }
    expect(sim.options().listingCap).toBe(5000);
  });
});

describe('file/info.cgi (§4.4, §10 item 11)', () => {
  it('answers content-type with a hyphen, folder_id, path and an acl object', async () => {
    const p = await fresh('Parent');
    const c = await sim.addFolder({ parentId: p, name: 'Child' });
    const url = await sim.addFile({ folderId: c, name: 'img.png', content: Buffer.from([137, 80, 78, 71]) });
    const r = await api(sim, 'file/info.cgi', { url });
    expect(r.status).toBe(200);
    const parentName = (await api(sim, 'folder/ls.cgi', { folder_id: p })).json.name;
    expect(r.json).toMatchObject({ url, filename: 'img.png', size: 4, 'content-type': 'image/png', folder_id: c, path: `${parentName}/Child`, acl: { ip: [], country: [], email: [], premium: 0 } });
    expect(r.json).not.toHaveProperty('content_type');
    expect(r.json).not.toHaveProperty('status');
  });

  it('404 #469 for an unknown URL and 403 #631 for a password-protected file', async () => {
    const r = await api(sim, 'file/info.cgi', { url: 'https://1fichier.com/?abcdefghij0123456789' });
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ status: 'KO', message: 'Resource not found #469' });
    const url = await sim.addFile({ name: 'locked.txt', content: 'x', pass: 'hunter22' });
    const locked = await api(sim, 'file/info.cgi', { url });
    expect(locked.status).toBe(403);
    expect(locked.json).toEqual({ status: 'KO', message: 'Resource not allowed #631' });
    expect((await api(sim, 'file/info.cgi', { url, pass: 'hunter22' })).status).toBe(200);
  });
});

describe('file operations (§4.7-4.11, §10 items 17-22)', () => {
  it('file/mv moves, keeps the URL, renames with one URL, and refuses a rename equal to the current name', async () => {
    const a = await fresh('mva');
    const b = await fresh('mvb');
    const url = await sim.addFile({ folderId: a, name: 'move-me.txt', content: 'm' });
    const mv = await api(sim, 'file/mv.cgi', { urls: [url], destination_folder_id: b, rename: 'moved.txt' });
    expect(mv.status).toBe(200);
    expect(mv.json).toMatchObject({ status: 'OK', moved: 1, urls: [url] });
    expect((await api(sim, 'file/info.cgi', { url })).json).toMatchObject({ folder_id: b, filename: 'moved.txt' });
    const same = await api(sim, 'file/mv.cgi', { urls: [url], destination_folder_id: a, rename: 'moved.txt' });
    expect(same.status).toBe(200);
    expect(same.json.status).toBe('KO');
    // Missing destination_folder_id means the root.
    expect((await api(sim, 'file/mv.cgi', { urls: [url] })).json.status).toBe('OK');
    expect((await api(sim, 'file/info.cgi', { url })).json.folder_id).toBe(0);
  });

  it('file/mv into the same folder with a rename does not rename (RI-5421), or KOs when configured', async () => {
    const a = await fresh('same');
    const url = await sim.addFile({ folderId: a, name: 'keep.txt', content: 'k' });
    const r = await api(sim, 'file/mv.cgi', { urls: [url], destination_folder_id: a, rename: 'other.txt' });
    expect(r.json.status).toBe('OK');
    expect((await api(sim, 'file/info.cgi', { url })).json.filename).toBe('keep.txt');
    sim.setOptions({ mvSameFolderRename: 'ko' });
    try {
      const ko = await api(sim, 'file/mv.cgi', { urls: [url], destination_folder_id: a, rename: 'other.txt' });
      expect(ko.status).toBe(200);
      expect(ko.json.status).toBe('KO');
    } finally {
      sim.setOptions({ mvSameFolderRename: 'noop' });
    }
  });

  it('file/mv to a folder holding the same name creates a duplicate; unknown URL is 404', async () => {
    const a = await fresh('dupa');
    const b = await fresh('dupb');
    const u1 = await sim.addFile({ folderId: a, name: 'x.txt', content: '1' });
    await sim.addFile({ folderId: b, name: 'x.txt', content: '2' });
    expect((await api(sim, 'file/mv.cgi', { urls: [u1], destination_folder_id: b })).json.status).toBe('OK');
    expect(items(await api(sim, 'file/ls.cgi', { folder_id: b })).map((i) => i.filename)).toEqual(['x.txt', 'x.txt']);
    const unknown = await api(sim, 'file/mv.cgi', { urls: ['https://1fichier.com/?00000000000000000000'], destination_folder_id: b });
    expect(unknown.status).toBe(404);
    const two = await api(sim, 'file/mv.cgi', { urls: [u1, u1], destination_folder_id: a, rename: 'z.txt' });
    expect(two.json.status).toBe('KO');
  });

  it('file/cp uses folder_id and gives a new URL in urls[].to_url, duplicating names', async () => {
    const a = await fresh('cpa');
    const b = await fresh('cpb');
    const url = await sim.addFile({ folderId: a, name: 'orig.txt', content: 'copy me' });
    const r = await api(sim, 'file/cp.cgi', { urls: [url], folder_id: b, rename: 'orig.txt' });
    expect(r.json).toMatchObject({ status: 'OK', copied: 1 });
    const [pair] = r.json.urls as Array<{ from_url: string; to_url: string }>;
    expect(pair!.from_url).toBe(url);
    expect(pair!.to_url).toMatch(/^https:\/\/1fichier\.com\/\?[a-z0-9]{20}$/);
    expect(pair!.to_url).not.toBe(url);
    const info = await api(sim, 'file/info.cgi', { url: pair!.to_url });
    expect(info.json).toMatchObject({ folder_id: b, filename: 'orig.txt', size: 7 });
    const orig = await api(sim, 'file/info.cgi', { url });
    expect(info.json.checksum).toBe(orig.json.checksum);
    // destination_folder_id is not cp's parameter: the copy lands in the root.
    const wrongParam = await api(sim, 'file/cp.cgi', { urls: [url], destination_folder_id: b });
    const [p2] = wrongParam.json.urls as Array<{ to_url: string }>;
    expect((await api(sim, 'file/info.cgi', { url: p2!.to_url })).json.folder_id).toBe(0);
  });

  it('file/rename renames in place and answers KO #312 inside HTTP 200 for the same name', async () => {
    const url = await sim.addFile({ name: 'before.txt', content: 'r' });
    const r = await api(sim, 'file/rename.cgi', { urls: [{ url, filename: 'after.txt' }], pretty: 0 });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ status: 'OK', renamed: 1, urls: [{ url, old_filename: 'before.txt', new_filename: 'after.txt' }] });
    const same = await api(sim, 'file/rename.cgi', { urls: [{ url, filename: 'after.txt' }] });
    expect(same.status).toBe(200);
    expect(same.json).toEqual({ status: 'KO', message: 'No file has been renamed #312' });
  });

  it('refuses forbidden characters and > 250 characters in names (KO), accepts full-width look-alikes', async () => {
    const url = await sim.addFile({ name: 'plain.txt', content: 'p' });
    for (const bad of ['a/b.txt', 'a\\b', 'q"x', "it's", '<x>', '$x', '`x`', ' lead', 'trail ', 'c\u0001d', 'x'.repeat(251)]) {
      const r = await api(sim, 'file/rename.cgi', { urls: [{ url, filename: bad }] });
      expect(r.status, bad).toBe(200);
      expect(r.json.status, bad).toBe('KO');
      const m = await api(sim, 'folder/mkdir.cgi', { name: bad, folder_id: 0 });
      expect(m.json.status, bad).toBe('KO');
      expect(m.json).not.toHaveProperty('folder_id');
    }
    const fw = '␠＂＇＄＜＞＼｀／␠ ok';
    const ok = await api(sim, 'file/rename.cgi', { urls: [{ url, filename: fw }] });
    expect(ok.json.status).toBe('OK');
    expect((await api(sim, 'file/info.cgi', { url })).json.filename).toBe(fw);
    expect((await api(sim, 'file/rename.cgi', { urls: [{ url, filename: 'y'.repeat(250) }] })).json.status).toBe('OK');
    sim.setOptions({ nameMode: 'accept' });
    try {
      expect((await api(sim, 'file/rename.cgi', { urls: [{ url, filename: 'raw $ name' }] })).json.status).toBe('OK');
    } finally {
      sim.setOptions({ nameMode: 'reject' });
    }
  });

  it('file/rm removes (unknown URL → 404), file/chattr changes attributes seen by file/info', async () => {
    const url = await sim.addFile({ name: 'attrs.txt', content: 'a' });
    const ch = await api(sim, 'file/chattr.cgi', { urls: [url], inline: 1, cdn: 1, description: 'desc', acl: { country: ['FR'], premium: 1 } });
    expect(ch.json).toEqual({ status: 'OK', updated: 1, urls: [url] });
    const info = await api(sim, 'file/info.cgi', { url });
    expect(info.json).toMatchObject({ inline: 1, cdn: 1, description: 'desc', acl: { ip: [], country: ['FR'], email: [], premium: 1 } });
    const listed = items(await api(sim, 'file/ls.cgi', { folder_id: 0 })).find((i) => i.url === url);
    expect(listed!.acl).toBe(1);
    expect((await api(sim, 'file/chattr.cgi', { urls: [url], pass: 'abc' })).json.status).toBe('KO');
    const rm = await api(sim, 'file/rm.cgi', { files: [{ url }] });
    expect(rm.json).toMatchObject({ status: 'OK', removed: 1 });
    expect((await api(sim, 'file/info.cgi', { url })).status).toBe(404);
    expect((await api(sim, 'file/rm.cgi', { files: [{ url }] })).status).toBe(404);
  });
});

describe('folder operations (§4.13-4.15, §10 items 7, 21)', () => {
  it('folder/mkdir answers folder_id and name; a duplicate name is a KO unless allowed', async () => {
    const name = `Films-${Date.now()}`;
    const r = await api(sim, 'folder/mkdir.cgi', { name, folder_id: 0 });
    expect(r.json).toEqual({ status: 'OK', folder_id: expect.any(Number), name });
    const dup = await api(sim, 'folder/mkdir.cgi', { name, folder_id: 0 });
    expect(dup.status).toBe(200);
    expect(dup.json.status).toBe('KO');
    sim.setOptions({ rejectDuplicateFolder: false });
    try {
      expect((await api(sim, 'folder/mkdir.cgi', { name, folder_id: 0 })).json.status).toBe('OK');
    } finally {
      sim.setOptions({ rejectDuplicateFolder: true });
    }
    expect((await api(sim, 'folder/mkdir.cgi', { name: 'x', folder_id: 424242 })).status).toBe(404);
  });

  it('folder/rm removes empty folders only; non-empty is a KO in HTTP 200 with the configured message', async () => {
    const f = await fresh('rmme');
    const url = await sim.addFile({ folderId: f, name: 'inside.txt', content: 'i' });
    const full = await api(sim, 'folder/rm.cgi', { folder_id: f });
    expect(full.status).toBe(200);
    expect(full.json).toEqual({ status: 'KO', message: 'Folder not empty #621' });
    const sub = await sim.addFolder({ parentId: f, name: 'sub' });
    await api(sim, 'file/rm.cgi', { files: [{ url }] });
    expect((await api(sim, 'folder/rm.cgi', { folder_id: f })).json.status).toBe('KO');
    expect((await api(sim, 'folder/rm.cgi', { folder_id: sub })).json).toEqual({ status: 'OK' });
    sim.setOptions({ folderNotEmptyMessage: 'Dossier non vide #999' });
    expect((await api(sim, 'folder/rm.cgi', { folder_id: 0 })).json.status).toBe('KO');
    sim.setOptions({ folderNotEmptyMessage: 'Folder not empty #621' });
    expect((await api(sim, 'folder/rm.cgi', { folder_id: f })).json).toEqual({ status: 'OK' });
    expect((await api(sim, 'folder/ls.cgi', { folder_id: f })).status).toBe(404);
  });

  it('folder/mv renames in place with rename, moves otherwise (missing destination = root), accepts destination_user ""', async () => {
    const a = await fresh('mvdir');
    const b = await fresh('target');
    const child = await sim.addFolder({ parentId: a, name: 'child' });
    const ren = await api(sim, 'folder/mv.cgi', { folder_id: child, destination_folder_id: b, destination_user: '', rename: 'renamed' });
    expect(ren.json).toMatchObject({ status: 'OK', old_name: 'child', new_name: 'renamed' });
    const aList = await api(sim, 'folder/ls.cgi', { folder_id: a });
    expect(aList.json.sub_folders).toEqual([expect.objectContaining({ id: child, name: 'renamed' })]);
    const mv = await api(sim, 'folder/mv.cgi', { folder_id: child, destination_folder_id: b, destination_user: '' });
    expect(mv.json.status).toBe('OK');
    expect((await api(sim, 'folder/ls.cgi', { folder_id: b })).json.sub_folders).toEqual([expect.objectContaining({ id: child })]);
    const toRoot = await api(sim, 'folder/mv.cgi', { folder_id: child, destination_user: '' });
    expect(toRoot.json.status).toBe('OK');
    const root = await api(sim, 'folder/ls.cgi', { folder_id: 0 });
    expect((root.json.sub_folders as Item[]).some((d) => d.id === child)).toBe(true);
    const into = await api(sim, 'folder/mv.cgi', { folder_id: a, destination_folder_id: a });
    expect(into.json.status).toBe('KO');
  });
});
