/**
 * Whole PROPFIND Depth 1 answers kept by the bridge (src/webdav/props/answer-cache.ts) are served
 * again only while nothing they show has changed. For every way a listing can change (our own
 * PUT, DELETE, MOVE, COPY, MKCOL, PROPPATCH, LOCK/UNLOCK, a change made directly on the account
 * and picked up by a refresh, another bridge's patch arriving over the cache bus, a dead property
 * written by another process of the account) the cache is first shown to serve the folder, then
 * the change is made, and the next answer must show it and equal, byte for byte, an answer built
 * with every cache emptied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalState } from '../../src/drive/local-state.js';
import { answerCacheFor } from '../../src/webdav/props/answer-cache.js';
import { responseCacheFor } from '../../src/webdav/props/response-cache.js';
import { request, startTestServer } from '../webdav/helpers.js';
import { startStack, type Stack } from './helpers.js';

const FILES = 300;
let stack: Stack;
let port: number;
let bigId: number;

beforeAll(async () => {
  stack = await startStack();
  port = Number(new URL(stack.url).port);
  bigId = await stack.sim.addFolder({ name: 'big' });
  await stack.sim.addFolder({ name: 'other' });
  for (let i = 0; i < FILES; i++) {
    await stack.sim.addFile({ folderId: bigId, name: `episode-${String(i).padStart(4, '0')}${i % 50 === 0 ? ' <é&>' : ''}.mkv`, content: `data ${i}` });
  }
}, 120_000);
afterAll(async () => {
  await stack?.close();
});

const xml = { 'Content-Type': 'application/xml' };
const dav = (method: string, path: string, headers: Record<string, string> = {}, body?: string) => request(port, { method, path, headers, body });

const BODIES = {
  allprop: undefined,
  prop: `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:X="urn:x"><D:prop><D:getetag/><D:getcontentlength/><X:note/><D:lockdiscovery/></D:prop></D:propfind>`,
  live: `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:displayname/></D:prop></D:propfind>`,
} as const;
type Body = keyof typeof BODIES;

async function answer(path = '/big/', body: Body = 'allprop'): Promise<string> {
  const r = await dav('PROPFIND', path, { Depth: '1', ...(BODIES[body] ? xml : {}) }, BODIES[body]);
  expect(r.status).toBe(207);
  return r.text;
}

/** The answer built with every PROPFIND cache emptied. */
async function fresh(path = '/big/', body: Body = 'allprop'): Promise<string> {
  answerCacheFor(stack.bridge.drive).clear();
  responseCacheFor(stack.bridge.drive).clear();
  return answer(path, body);
}

/** Makes sure the folder's answer is stored and served from the cache (so a change can go stale). */
async function warm(path = '/big/', body: Body = 'allprop'): Promise<string> {
  const first = await answer(path, body);
  const hits = answerCacheFor(stack.bridge.drive).hits;
  const second = await answer(path, body);
  expect(answerCacheFor(stack.bridge.drive).hits, 'the second answer came from the cache').toBe(hits + 1);
  expect(second === first).toBe(true);
  return second;
}

/** After a change: the next answer equals one built from scratch. */
async function expectCurrent(path = '/big/', body: Body = 'allprop'): Promise<string> {
  const served = await answer(path, body);
  expect(served === (await fresh(path, body)), 'served answer equals a freshly built one').toBe(true);
  return served;
}

const noteOf = (text: string, href: string): string | undefined => {
  const response = text.split('<D:response>').find((r) => r.includes(`<D:href>${href}</D:href>`));
  return response === undefined ? undefined : (/<note xmlns="urn:x">([^<]*)<\/note>/.exec(response)?.[1] ?? '');
};
const patch = (value: string) =>
  `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:x"><D:set><D:prop><X:note>${value}</X:note></D:prop></D:set></D:propertyupdate>`;
const lockBody = `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>tester</D:owner></D:lockinfo>`;

describe('PROPFIND whole-answer cache through the bridge', () => {
  it('serves a warm listing byte-identical to a fresh one, per requested property set', async () => {
    for (const body of Object.keys(BODIES) as Body[]) {
      const cached = await warm('/big/', body);
      expect(cached.split('<D:response>').length - 1).toBe(FILES + 1);
      expect(cached === (await fresh('/big/', body))).toBe(true);
    }
    // Different property sets are different answers, each kept.
    expect(await answer('/big/', 'live')).not.toContain('<D:getlastmodified>');
    expect(await answer('/big/', 'allprop')).toContain('<D:getlastmodified>');
  }, 120_000);

  it('keeps answers apart for mount prefixes and user homes over one drive', async () => {
    const drive = stack.bridge.drive;
    const prefixed = await startTestServer({ drive, mountPrefix: '/dav' });
    const homed = await startTestServer({
      drive,
      authorize: (req) => (req.headers['x-user'] === 'b' ? { user: 'b', home: '/big' } : { user: 'a' }),
    });
    try {
      const ask = async (server: typeof prefixed, path: string, user?: string) => {
        const r = await server.request({ method: 'PROPFIND', path, headers: { Depth: '1', ...(user ? { 'X-User': user } : {}) } });
        expect(r.status).toBe(207);
        return r.text;
      };
      for (let round = 0; round < 2; round++) {
        expect(await answer()).toContain('<D:href>/big/episode-0003.mkv</D:href>');
        const viaPrefix = await ask(prefixed, '/dav/big/');
        expect(viaPrefix).toContain('<D:href>/dav/big/episode-0003.mkv</D:href>');
        expect(viaPrefix).not.toContain('<D:href>/big/');
        expect(await ask(homed, '/big/', 'a')).toContain('<D:href>/big/episode-0003.mkv</D:href>');
        const asB = await ask(homed, '/', 'b');
        expect(asB).toContain('<D:href>/episode-0003.mkv</D:href>');
        expect(asB).not.toContain('<D:href>/big/');
      }
      // The second round came from the cache, each answer under its own key.
      const hits = answerCacheFor(drive).hits;
      await ask(prefixed, '/dav/big/');
      await ask(homed, '/', 'b');
      expect(answerCacheFor(drive).hits).toBe(hits + 2);
    } finally {
      await Promise.all([prefixed.close(), homed.close()]);
    }
  }, 120_000);

  it('shows PUT (new and replaced), DELETE, MKCOL and empty or housekeeping files', async () => {
    await warm();
    expect((await dav('PUT', '/big/new-file.mkv', {}, 'new content')).status).toBe(201);
    expect(await expectCurrent()).toContain('<D:href>/big/new-file.mkv</D:href>');

    await warm('/big/', 'prop');
    expect((await dav('PUT', '/big/new-file.mkv', {}, 'a longer replacement body')).status).toBe(204);
    expect(await expectCurrent('/big/', 'prop')).toMatch(/new-file\.mkv<\/D:href>.*?<D:getcontentlength>25<\/D:getcontentlength>/);

    await warm();
    expect((await dav('DELETE', '/big/new-file.mkv')).status).toBe(204);
    expect(await expectCurrent()).not.toContain('new-file.mkv');

    await warm();
    expect((await dav('MKCOL', '/big/season-2/')).status).toBe(201);
    expect(await expectCurrent()).toContain('<D:href>/big/season-2/</D:href>');

    // A 0-byte file (kept locally until content comes) and an OS housekeeping file (never uploaded).
    await warm();
    expect((await dav('PUT', '/big/empty.txt', {}, '')).status).toBe(201);
    expect(await expectCurrent()).toContain('<D:href>/big/empty.txt</D:href>');
    await warm();
    expect((await dav('PUT', '/big/.DS_Store', {}, 'finder data')).status).toBe(201);
    expect(await expectCurrent()).toContain('<D:href>/big/.DS_Store</D:href>');
  }, 120_000);

  it('shows MOVE (rename, in, out) and COPY', async () => {
    await warm();
    expect((await dav('MOVE', '/big/episode-0001.mkv', { Destination: '/big/renamed.mkv' })).status).toBe(201);
    let text = await expectCurrent();
    expect(text).toContain('<D:href>/big/renamed.mkv</D:href>');
    expect(text).not.toContain('episode-0001.mkv');

    await warm();
    expect((await dav('MOVE', '/big/episode-0002.mkv', { Destination: '/other/episode-0002.mkv' })).status).toBe(201);
    expect(await expectCurrent()).not.toContain('episode-0002.mkv');

    await warm();
    expect((await dav('PUT', '/other/incoming.mkv', {}, 'incoming')).status).toBe(201);
    expect((await dav('MOVE', '/other/incoming.mkv', { Destination: '/big/incoming.mkv' })).status).toBe(201);
    expect(await expectCurrent()).toContain('<D:href>/big/incoming.mkv</D:href>');

    await warm();
    expect((await dav('COPY', '/big/episode-0003.mkv', { Destination: '/big/copy-of-3.mkv' })).status).toBe(201);
    text = await expectCurrent();
    expect(text).toContain('<D:href>/big/copy-of-3.mkv</D:href>');
    expect(text).toContain('<D:href>/big/episode-0003.mkv</D:href>');
  }, 120_000);

  it('shows dead properties set by PROPPATCH (on a child and on the folder) and by another process', async () => {
    for (const body of ['allprop', 'prop'] as Body[]) await warm('/big/', body);
    expect((await dav('PROPPATCH', '/big/episode-0010.mkv', xml, patch('child note'))).status).toBe(207);
    expect(noteOf(await expectCurrent(), '/big/episode-0010.mkv')).toBe('child note');
    expect(noteOf(await expectCurrent('/big/', 'prop'), '/big/episode-0010.mkv')).toBe('child note');

    await warm();
    expect((await dav('PROPPATCH', '/big/', xml, patch('folder note'))).status).toBe(207);
    expect(noteOf(await expectCurrent(), '/big/')).toBe('folder note');

    // Another process of the account (the CLI, a second serve) writes the state database directly.
    await warm();
    const other = await LocalState.open(stack.bridge.state.dir);
    try {
      await other.patchProperties('/big/episode-0011.mkv', [{ op: 'set', property: { namespace: 'urn:x', name: 'note', xml: 'from elsewhere' } }]);
    } finally {
      other.close();
    }
    expect(noteOf(await expectCurrent(), '/big/episode-0011.mkv')).toBe('from elsewhere');

    // A property-only request is not affected by dead properties, and is still reused.
    await warm('/big/', 'live');
  }, 120_000);

  it('never serves a stored answer while a lock is in or above the folder, nor a lock after UNLOCK', async () => {
    await warm();
    const lock = await dav('LOCK', '/big/episode-0020.mkv', { ...xml, Timeout: 'Second-600' }, lockBody);
    expect(lock.status).toBe(200);
    const token = String(lock.headers['lock-token']).slice(1, -1);
    const hits = answerCacheFor(stack.bridge.drive).hits;
    expect(await answer()).toContain(token);
    expect(await answer()).toContain(token);
    expect(answerCacheFor(stack.bridge.drive).hits, 'no answer is served from the cache while locked').toBe(hits);
    expect((await dav('UNLOCK', '/big/episode-0020.mkv', { 'Lock-Token': `<${token}>` })).status).toBe(204);
    let text = await expectCurrent();
    expect(text).not.toContain(token);
    expect(text).not.toContain('<D:activelock>');

    // A depth-infinity lock on the folder's parent covers every member.
    await warm();
    const rootLock = await dav('LOCK', '/', { ...xml, Timeout: 'Second-600', Depth: 'infinity' }, lockBody);
    expect(rootLock.status).toBe(200);
    const rootToken = String(rootLock.headers['lock-token']).slice(1, -1);
    text = await answer();
    expect(text.split(rootToken).length - 1).toBe(text.split('<D:response>').length - 1);
    expect((await dav('UNLOCK', '/', { 'Lock-Token': `<${rootToken}>` })).status).toBe(204);
    expect(await expectCurrent()).not.toContain(rootToken);
    await warm();
  }, 120_000);

  it('shows a change made directly on the account once a refresh lists the folder again', async () => {
    const before = await warm();
    await stack.sim.addFile({ folderId: bigId, name: 'added-upstream.mkv', content: 'made elsewhere' });
    // Until the folder is listed again the bridge cannot know (and keeps answering from cache).
    expect(await answer()).toBe(before);
    await stack.bridge.drive.refreshTree('/big', 1);
    expect(await expectCurrent()).toContain('<D:href>/big/added-upstream.mkv</D:href>');
  }, 120_000);

  it("shows another bridge's write arriving over the cache bus, and a dropped folder cache", async () => {
    await warm();
    stack.bridge.drive.applyRemoteChange({
      op: 'addFile',
      folderId: bigId,
      file: { url: 'https://1fichier.com/?remote12345', name: 'from-another-bridge.mkv', size: 1234, modified: new Date('2026-01-02T03:04:05Z') },
    });
    expect(await expectCurrent()).toContain('<D:href>/big/from-another-bridge.mkv</D:href>');

    await warm();
    stack.bridge.drive.applyRemoteChange({ op: 'removeFile', folderId: bigId, url: 'https://1fichier.com/?remote12345' });
    expect(await expectCurrent()).not.toContain('from-another-bridge.mkv');

    await warm();
    stack.bridge.drive.folders.invalidateAll();
    await expectCurrent();
  }, 120_000);
});
