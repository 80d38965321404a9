import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDrive } from '../../src/drive/memory-drive.js';
import { elementChildren, textContent } from '../../src/webdav/xml/tree.js';
import { seedFile, startTestServer, type TestServer } from './helpers.js';
import { parseMultistatus, prop } from './xml-helpers.js';

const D = '{DAV:}';
let s: TestServer;
const fixed = new Date('2024-03-05T06:07:08.000Z');

beforeAll(async () => {
  const drive = new MemoryDrive({ now: () => fixed, capacityBytes: 10_000 });
  s = await startTestServer({ drive });
  await drive.mkdir('/docs');
  await seedFile(drive, '/docs/a.txt', 'hello', 'text/plain');
  await seedFile(drive, '/docs/with space #?%.bin', 'xyz');
  await seedFile(drive, '/docs/été 日本.txt', '12');
  await drive.mkdir('/docs/sub');
  await drive.patchProperties('/docs/a.txt', [
    { op: 'set', property: { namespace: 'urn:x', name: 'color', xml: 'blue' } },
  ]);
});
afterAll(() => s.close());

const propfind = (path: string, depth: string | undefined, body?: string) =>
  s.request({
    method: 'PROPFIND',
    path,
    headers: { ...(depth === undefined ? {} : { Depth: depth }), 'Content-Type': 'application/xml' },
    body,
  });

describe('PROPFIND depth', () => {
  it('Depth 0 answers only the resource', async () => {
    const r = await propfind('/docs', '0');
    expect(r.status).toBe(207);
    const responses = parseMultistatus(r.text);
    expect(responses.map((x) => x.href)).toEqual(['/docs/']);
  });

  it('Depth 1 answers the folder and its children, collections with a trailing slash', async () => {
    const r = await propfind('/docs/', '1');
    expect(r.status).toBe(207);
    const hrefs = parseMultistatus(r.text).map((x) => x.href).sort();
    expect(hrefs).toEqual(
      ['/docs/', '/docs/a.txt', '/docs/sub/', '/docs/with%20space%20%23%3F%25.bin', '/docs/%C3%A9t%C3%A9%20%E6%97%A5%E6%9C%AC.txt'].sort(),
    );
  });

  it('Depth 1 on a file answers the file alone', async () => {
    const r = await propfind('/docs/a.txt', '1');
    expect(parseMultistatus(r.text).map((x) => x.href)).toEqual(['/docs/a.txt']);
  });

  it.each([
    ['infinity', 'infinity'],
    ['missing', undefined],
  ])('Depth %s is refused with 403 propfind-finite-depth', async (_label, depth) => {
    const r = await propfind('/', depth);
    expect(r.status).toBe(403);
    expect(r.text).toMatch(/<D:error xmlns:D="DAV:"><D:propfind-finite-depth\/><\/D:error>/);
  });

  it('an invalid Depth is 400', async () => {
    expect((await propfind('/', '2')).status).toBe(400);
  });

  it('a missing resource is 404', async () => {
    expect((await propfind('/nope', '0')).status).toBe(404);
  });
});

describe('PROPFIND allprop / propname / named', () => {
  it('allprop (empty body) gives live and dead properties with correct formats', async () => {
    const [file] = parseMultistatus((await propfind('/docs/a.txt', '0')).text);
    const ok = file.propstats.get(200)!;
    expect(textContent(ok.get(`${D}getcontentlength`)!)).toBe('5');
    expect(textContent(ok.get(`${D}getcontenttype`)!)).toBe('text/plain');
    expect(textContent(ok.get(`${D}getetag`)!)).toMatch(/^"[^"]+"$/);
    expect(textContent(ok.get(`${D}getlastmodified`)!)).toBe('Tue, 05 Mar 2024 06:07:08 GMT');
    expect(textContent(ok.get(`${D}creationdate`)!)).toBe('2024-03-05T06:07:08Z');
    expect(textContent(ok.get(`${D}displayname`)!)).toBe('a.txt');
    expect(elementChildren(ok.get(`${D}resourcetype`)!)).toHaveLength(0);
    expect(ok.has(`${D}supportedlock`)).toBe(true);
    expect(ok.has(`${D}lockdiscovery`)).toBe(true);
    expect(textContent(ok.get('{urn:x}color')!)).toBe('blue');
    expect(file.propstats.has(404)).toBe(false);
  });

  it('allprop body with include adds the named properties (quota on a collection)', async () => {
    const body = `<?xml version="1.0"?><propfind xmlns="DAV:"><allprop/><include><quota-used-bytes/></include></propfind>`;
    const [folder] = parseMultistatus((await propfind('/docs', '0', body)).text);
    expect(textContent(folder.propstats.get(200)!.get(`${D}quota-used-bytes`)!)).toBe('10');
    const coll = folder.propstats.get(200)!.get(`${D}resourcetype`)!;
    expect(elementChildren(coll).map((e) => `{${e.ns}}${e.local}`)).toEqual([`${D}collection`]);
  });

  it('propname lists names without values, dead ones included', async () => {
    const body = `<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>`;
    const [file] = parseMultistatus((await propfind('/docs/a.txt', '0', body)).text);
    const ok = file.propstats.get(200)!;
    expect(ok.has(`${D}getetag`)).toBe(true);
    expect(ok.has('{urn:x}color')).toBe(true);
    for (const el of ok.values()) expect(el.children).toHaveLength(0);
  });

  it('named properties: known in 200, unknown in a 404 propstat', async () => {
    const body = `<?xml version="1.0" encoding="utf-8"?>
      <D:propfind xmlns:D="DAV:" xmlns:z="urn:zzz"><D:prop><D:getcontentlength/><z:nothing/><D:quota-used-bytes/><D:getetag/></D:prop></D:propfind>`;
    const [file] = parseMultistatus((await propfind('/docs/a.txt', '0', body)).text);
    expect([...file.propstats.get(200)!.keys()].sort()).toEqual([`${D}getcontentlength`, `${D}getetag`]);
    expect([...file.propstats.get(404)!.keys()].sort()).toEqual([`${D}quota-used-bytes`, '{urn:zzz}nothing']);
  });

  it('quota properties (RFC 4331) on every collection, root included', async () => {
    const body = `<propfind xmlns="DAV:"><prop><quota-available-bytes/><quota-used-bytes/></prop></propfind>`;
    const responses = parseMultistatus((await propfind('/', '1', body)).text);
    const folders = responses.filter((r) => r.href.endsWith('/'));
    expect(folders.length).toBe(2);
    for (const f of folders) {
      expect(textContent(prop(f, 200, `${D}quota-used-bytes`)!)).toBe('10');
      expect(textContent(prop(f, 200, `${D}quota-available-bytes`)!)).toBe('9990');
    }
  });
});

describe('PROPFIND namespaces and prefixes', () => {
  it.each([
    ['default namespace', `<propfind xmlns="DAV:"><prop><getcontentlength/><displayname/></prop></propfind>`],
    ['odd prefix', `<lol:propfind xmlns:lol="DAV:"><lol:prop><lol:getcontentlength/><lol:displayname/></lol:prop></lol:propfind>`],
    [
      'prefix redefined in a child + xml:lang',
      `<a:propfind xmlns:a="DAV:" xml:lang="fr"><a:prop><b:getcontentlength xmlns:b="DAV:"/><displayname xmlns="DAV:"/></a:prop></a:propfind>`,
    ],
  ])('%s', async (_label, body) => {
    const [file] = parseMultistatus((await propfind('/docs/a.txt', '0', body)).text);
    expect([...file.propstats.get(200)!.keys()].sort()).toEqual([`${D}displayname`, `${D}getcontentlength`]);
  });

  it('a property in no namespace and one in a custom namespace are kept apart from DAV:', async () => {
    const body = `<D:propfind xmlns:D="DAV:"><D:prop><getcontentlength xmlns=""/><color xmlns="urn:x"/></D:prop></D:propfind>`;
    const [file] = parseMultistatus((await propfind('/docs/a.txt', '0', body)).text);
    expect([...file.propstats.get(200)!.keys()]).toEqual(['{urn:x}color']);
    expect([...file.propstats.get(404)!.keys()]).toEqual(['{}getcontentlength']);
  });

  it('a propfind body that is not DAV:propfind is 400', async () => {
    expect((await propfind('/', '0', `<propfind xmlns="urn:not-dav"><prop/></propfind>`)).status).toBe(400);
  });
});
