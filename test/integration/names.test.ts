/**
 * Every name a client can see, it can open: the bridge over the simulator's `names` fixture
 * (names typed in 1fichier's web UI, written by rclone's fichier backend, in NFD as macOS writes
 * them). Every href the server emits is walked, never rebuilt from a name, and must reach its
 * resource with GET, PROPFIND, LOCK, COPY, MOVE and DELETE.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NAMES_FIXTURE_FILES, namesFixtureContent } from '../../src/simulator/fixture-names.js';
import { textContent, type XmlElement } from '../../src/webdav/xml/tree.js';
import { request, type TestResponse } from '../webdav/helpers.js';
import { parseMultistatus, prop } from '../webdav/xml-helpers.js';
import { startStack, type Stack } from './helpers.js';

let stack: Stack;
let port: number;

function dav(method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<TestResponse> {
  return request(port, { method, path, headers, body });
}

interface Listed {
  href: string;
  collection: boolean;
  displayname: string;
}

async function listHrefs(folderHref: string): Promise<Listed[]> {
  const answer = await dav('PROPFIND', folderHref, { Depth: '1' });
  expect(answer.status, folderHref).toBe(207);
  return parseMultistatus(answer.text)
    .filter((response) => response.href !== folderHref)
    .map((response) => ({
      href: response.href,
      collection: prop(response, 200, '{DAV:}resourcetype')?.children.length !== 0,
      displayname: textOf(prop(response, 200, '{DAV:}displayname')),
    }));
}

function textOf(element: XmlElement | undefined): string {
  return element ? textContent(element) : '';
}

/** Every file href under `root`, walking the hrefs the server itself emitted. */
async function walk(root: string): Promise<Listed[]> {
  const files: Listed[] = [];
  const folders = [root];
  while (folders.length > 0) {
    const folder = folders.shift()!;
    for (const entry of await listHrefs(folder)) {
      expect(entry.href.startsWith(folder), `${entry.href} belongs in ${folder}`).toBe(true);
      expect(decodeURIComponent(entry.href.slice(folder.length).replace(/\/$/, '')), entry.href).not.toContain('/');
      if (entry.collection) folders.push(entry.href);
      else files.push(entry);
    }
  }
  return files;
}

/** Whether another file of the same folder is listed as this one's `stem [id].ext` alias. */
function holdsDuplicatedName(file: Listed, all: Listed[]): boolean {
  return all.some((other) => {
    const alias = /^(.*) \[[a-z0-9]{5,20}\](\.[^.]*)?$/.exec(other.displayname);
    return alias !== null && other.href !== file.href && alias[1] + (alias[2] ?? '') === file.displayname;
  });
}

/** The fixture index a downloaded body claims, after checking the body is exactly that file. */
function fixtureIndexOf(body: Buffer): number {
  const index = Number(/^names fixture file (\d+)\n/.exec(body.toString('utf8'))?.[1]);
  expect(body.equals(namesFixtureContent(index)), `content of file ${index}`).toBe(true);
  return index;
}

beforeAll(async () => {
  stack = await startStack({ fixture: 'names' });
  port = Number(new URL(stack.url).port);
});

afterAll(async () => {
  await stack?.close();
});

describe('the names fixture through the bridge', () => {
  it('lists every upstream file once, and each listed href downloads it byte-exact', async () => {
    const files = await walk('/Noms/');
    const seen: number[] = [];
    for (const file of files) {
      const answer = await dav('GET', file.href);
      expect(answer.status, file.href).toBe(200);
      seen.push(fixtureIndexOf(answer.body));
    }
    expect(seen.sort((a, b) => a - b)).toEqual(NAMES_FIXTURE_FILES.map((_, index) => index));
  }, 120_000);

  it('never decodes a name into a path separator: a／b.txt stays one segment', async () => {
    const names = (await listHrefs('/Noms/')).map((entry) => entry.displayname);
    expect(names).toContain('a／b.txt');
    expect(names).toContain('Devis "final" $100 \\ `x` \'ok\' a／b.txt');
    expect(names.filter((name) => name.includes('/'))).toEqual([]);
    // The stored `a／b.txt` (web UI) and `a‛／b.txt` (rclone) both read `a／b.txt`: one keeps the
    // plain name and the other its `[id]` alias, so both stay reachable.
    expect(names.filter((name) => /^a／b( \[[a-z0-9]+\])?\.txt$/.test(name))).toHaveLength(2);
    const slashed = await dav('GET', '/Noms/a%EF%BC%8Fb.txt');
    expect(slashed.status).toBe(200);
    expect(await dav('GET', '/Noms/a%2Fb.txt').then((r) => r.status)).toBe(400);
    const percent = await dav('GET', `/Noms/${encodeURIComponent('percent %2F not a slash.txt')}`);
    expect(fixtureIndexOf(percent.body)).toBe(3);
  });

  it('every href answers PROPFIND, LOCK/UNLOCK, COPY, MOVE there and back, and DELETE of the copy', async () => {
    const files = await walk('/Noms/');
    for (const [position, file] of files.entries()) {
      const found = await dav('PROPFIND', file.href, { Depth: '0' });
      expect(found.status, file.href).toBe(207);
      expect(parseMultistatus(found.text)[0].href).toBe(file.href);

      const lock = await dav(
        'LOCK',
        file.href,
        { 'Content-Type': 'application/xml', Timeout: 'Second-60' },
        '<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>',
      );
      expect(lock.status, file.href).toBe(200);
      const lockroot = /<D:lockroot><D:href>([^<]*)<\/D:href>/.exec(lock.text)?.[1];
      expect(lockroot?.replace(/&amp;/g, '&').replace(/&apos;/g, "'")).toBe(file.href);
      const token = String(lock.headers['lock-token']);
      expect((await dav('UNLOCK', file.href, { 'Lock-Token': token })).status, file.href).toBe(204);

      const body = (await dav('GET', file.href)).body;
      const copyHref = `/Noms/copy%20${position}`;
      expect((await dav('COPY', file.href, { Destination: copyHref })).status, file.href).toBe(201);
      expect((await dav('GET', copyHref)).body.equals(body)).toBe(true);
      expect((await dav('DELETE', copyHref)).status).toBe(204);

      // The plain holder of a duplicated name leaves its name to the next duplicate when it moves
      // away (duplicate-names.ts), so its way back would overwrite that one: not a round trip.
      if (holdsDuplicatedName(file, files)) continue;
      const away = `/Noms/moved%20${position}`;
      expect((await dav('MOVE', file.href, { Destination: away, Overwrite: 'F' })).status, file.href).toBe(201);
      expect((await dav('MOVE', away, { Destination: file.href, Overwrite: 'F' })).status, file.href).toBe(201);
      const back = await dav('GET', file.href);
      expect(back.status, file.href).toBe(200);
      expect(back.body.equals(body), file.href).toBe(true);
    }
    // Nothing was lost or duplicated on the way. A name moved back through the bridge is stored
    // in NFC (docs/names.md), so an NFD name comes back composed.
    const canonical = (list: Listed[]) => list.map((file) => decodeURIComponent(file.href).normalize('NFC')).sort();
    expect(canonical(await walk('/Noms/'))).toEqual(canonical(files));
  }, 300_000);
});

describe('Unicode normalisation (NFC ↔ NFD)', () => {
  const nfc = (s: string) => encodeURIComponent(s.normalize('NFC'));
  const nfd = (s: string) => encodeURIComponent(s.normalize('NFD'));

  it('finds a folder and a file in either form, exact match first', async () => {
    for (const folder of [nfd('Vidéos NFD'), nfc('Vidéos NFD')]) {
      expect((await dav('PROPFIND', `/Noms/${folder}/`, { Depth: '1' })).status, folder).toBe(207);
      const file = await dav('GET', `/Noms/${folder}/${nfc('Résumé.txt')}`);
      expect(file.status, folder).toBe(200);
      expect(fixtureIndexOf(file.body)).toBe(29);
    }
    // `Café NFC.txt` is stored NFC, `Café NFD.txt` NFD: each is found by its own and the other form.
    for (const form of [nfc, nfd]) {
      expect(fixtureIndexOf((await dav('GET', `/Noms/${form('Café NFC.txt')}`)).body)).toBe(17);
      expect(fixtureIndexOf((await dav('GET', `/Noms/${form('Café NFD.txt')}`)).body)).toBe(18);
    }
  });

  it('stores what a macOS client writes in NFD as NFC, found by Windows in NFC, and the other way round', async () => {
    await dav('MKCOL', `/${nfd('Été')}/`);
    const put = await dav('PUT', `/${nfd('Été')}/${nfd('Noël.txt')}`, {}, 'joyeux');
    expect(put.status).toBe(201);
    const listed = await listHrefs('/');
    expect(listed.map((entry) => entry.href)).toContain(`/${nfc('Été')}/`);
    expect((await listHrefs(`/${nfc('Été')}/`)).map((entry) => entry.href)).toEqual([`/${nfc('Été')}/${nfc('Noël.txt')}`]);
    expect((await dav('GET', `/${nfc('Été')}/${nfc('Noël.txt')}`)).text).toBe('joyeux');

    // Windows writes NFC (an empty file first, kept locally); Finder finds it in NFD, and back.
    expect((await dav('PUT', `/${nfc('Été')}/${nfc('vidé.txt')}`, { 'Content-Length': '0' })).status).toBe(201);
    expect((await dav('PROPFIND', `/${nfd('Été')}/${nfd('vidé.txt')}`, { Depth: '0' })).status).toBe(207);
    expect((await dav('PUT', `/${nfd('Été')}/${nfd('vidé.txt')}`, {}, 'rempli')).status).toBe(204);
    expect((await dav('GET', `/${nfc('Été')}/${nfc('vidé.txt')}`)).text).toBe('rempli');
    const names = (await listHrefs(`/${nfc('Été')}/`)).map((entry) => entry.href).sort();
    expect(names).toEqual([`/${nfc('Été')}/${nfc('Noël.txt')}`, `/${nfc('Été')}/${nfc('vidé.txt')}`]);
  });

  it('a MOVE between the two forms of one name renames it and loses nothing', async () => {
    const href = `/Noms/${nfd('Vidéos NFD')}/${nfd('Résumé.txt')}`;
    const before = (await dav('GET', href)).body;
    const move = await dav('MOVE', href, { Destination: `/Noms/${nfd('Vidéos NFD')}/${nfc('Résumé.txt')}`, Overwrite: 'T' });
    expect(move.status).toBeLessThan(300);
    const listed = await listHrefs(`/Noms/${nfd('Vidéos NFD')}/`);
    expect(listed.map((entry) => entry.href)).toEqual([`/Noms/${nfd('Vidéos NFD')}/${nfc('Résumé.txt')}`]);
    expect((await dav('GET', href)).body.equals(before)).toBe(true);
  });
});

describe('folder dates', () => {
  it('gives the root a real date, never 1 January 1970', async () => {
    await listHrefs('/');
    const answer = await dav('PROPFIND', '/', { Depth: '0' });
    const [root] = parseMultistatus(answer.text);
    const modified = new Date(textOf(prop(root, 200, '{DAV:}getlastmodified')));
    expect(modified.getUTCFullYear()).toBeGreaterThan(2000);
    expect(new Date(textOf(prop(root, 200, '{DAV:}creationdate'))).getUTCFullYear()).toBeGreaterThan(2000);
  });
});

describe('the demo account (the reported cases)', () => {
  let demo: Stack;
  let demoPort: number;
  const demoDav = (method: string, path: string, headers: Record<string, string> = {}) =>
    request(demoPort, { method, path, headers });

  beforeAll(async () => {
    demo = await startStack({ fixture: 'demo' });
    demoPort = Number(new URL(demo.url).port);
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('opens the listed Devis … a／b.txt, finds /Vide%CC%81os/ and dates the root', async () => {
    const listing = await demoDav('PROPFIND', '/Documents/', { Depth: '1' });
    const devis = parseMultistatus(listing.text).find((response) => decodeURIComponent(response.href).includes('Devis'));
    expect(devis?.href).toMatch(/a%EF%BC%8Fb\.txt$/);
    const file = await demoDav('GET', devis!.href);
    expect(file.status).toBe(200);
    expect(file.text).toBe('Full-width look-alikes stored as rclone encodes them.\n');
    expect((await demoDav('PROPFIND', '/Vide%CC%81os/', { Depth: '1' })).status).toBe(207);
    expect((await demoDav('PROPFIND', '/Vid%C3%A9os/', { Depth: '1' })).status).toBe(207);
    const [root] = parseMultistatus((await demoDav('PROPFIND', '/', { Depth: '0' })).text);
    expect(new Date(textOf(prop(root, 200, '{DAV:}getlastmodified'))).getUTCFullYear()).toBeGreaterThan(1970);
  });
});
