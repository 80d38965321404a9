/**
 * PROPFIND answers reused from the response-fragment cache (src/webdav/props/response-cache.ts):
 * byte-identical to answers built from scratch, and every change shows in the next answer.
 */
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryDrive } from '../../src/drive/memory-drive.js';
import { responseCacheFor } from '../../src/webdav/props/response-cache.js';
import { startTestServer, type TestServer } from './helpers.js';

const FILES = 5000;
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(options: Parameters<typeof startTestServer>[0] = {}): Promise<TestServer> {
  const s = await startTestServer(options);
  servers.push(s);
  return s;
}

async function bigFolder(drive: MemoryDrive, n: number): Promise<void> {
  await drive.mkdir('/big');
  await drive.mkdir('/big/sub & more');
  for (let i = 0; i < n; i++) {
    const name = `episode-${String(i).padStart(5, '0')}${i % 97 === 0 ? ' <é&>' : ''}.mkv`;
    await drive.write(`/big/${name}`, Readable.from([Buffer.from(`data ${i}`)]), i % 3 === 0 ? { contentType: 'video/x-matroska' } : {});
  }
  await drive.patchProperties('/big/episode-00001.mkv', [{ op: 'set', property: { namespace: 'urn:x', name: 'note', xml: 'hello <b xmlns="urn:x">there</b>' } }]);
}

const BODIES: Record<string, string | undefined> = {
  'allprop (no body)': undefined,
  'allprop with include': `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:allprop/><D:include><D:quota-used-bytes/></D:include></D:propfind>`,
  prop: `<?xml version="1.0"?><D:propfind xmlns:D="DAV:" xmlns:X="urn:x"><D:prop><D:getetag/><D:displayname/><D:getcontentlength/><X:note/><X:absent/><D:lockdiscovery/></D:prop></D:propfind>`,
  propname: `<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>`,
};

function propfind(s: TestServer, path: string, body?: string, headers: Record<string, string> = {}) {
  return s.request({ method: 'PROPFIND', path, headers: { Depth: '1', ...headers, ...(body ? { 'Content-Type': 'application/xml' } : {}) }, body });
}

describe('PROPFIND response-fragment cache', () => {
  it(
    'answers a 5000-entry folder byte-identically cold and warm, for allprop, prop and propname',
    async () => {
      const drive = new MemoryDrive();
      await bigFolder(drive, FILES);
      const s = await serve({ drive });
      // A lock on one entry: its lockdiscovery must be part of what the cached fragment depends on.
      const lock = await s.request({
        method: 'LOCK',
        path: '/big/episode-00002.mkv',
        headers: { 'Content-Type': 'application/xml', Timeout: 'Infinite' },
        body: `<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>`,
      });
      expect(lock.status).toBe(200);
      for (const [label, body] of Object.entries(BODIES)) {
        const cold = await propfind(s, '/big/', body);
        expect(cold.status, label).toBe(207);
        expect(cold.text.split('<D:response>').length - 1, label).toBe(FILES + 2);
        const warm = await propfind(s, '/big/', body);
        // The lock's remaining seconds may tick between the two answers; everything else is equal.
        const ticks = (t: string) => t.replace(/<D:timeout>Second-\d+<\/D:timeout>/g, '<D:timeout/>');
        expect(ticks(warm.text) === ticks(cold.text), label).toBe(true);
      }
      expect(responseCacheFor(drive).size).toBeGreaterThan(0);
      // The lock shows in allprop, and after UNLOCK it is gone from the next (cached) answer.
      const token = String(lock.headers['lock-token']);
      expect((await propfind(s, '/big/')).text).toContain(token.slice(1, -1));
      expect((await s.request({ method: 'UNLOCK', path: '/big/episode-00002.mkv', headers: { 'Lock-Token': token } })).status).toBe(204);
      expect((await propfind(s, '/big/')).text).not.toContain(token.slice(1, -1));
    },
    120_000,
  );

  it('shows a PROPPATCH, a PUT, a MOVE and a rename on the account in the next PROPFIND', async () => {
    const drive = new MemoryDrive();
    await bigFolder(drive, 50);
    const s = await serve({ drive });
    const named = BODIES.prop;
    for (const body of [undefined, named]) await propfind(s, '/big/', body); // warm both contexts

    const patch = await s.request({
      method: 'PROPPATCH',
      path: '/big/episode-00010.mkv',
      headers: { 'Content-Type': 'application/xml' },
      body: `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:x"><D:set><D:prop><X:note>patched value</X:note></D:prop></D:set></D:propertyupdate>`,
    });
    expect(patch.status).toBe(207);
    expect((await propfind(s, '/big/')).text).toContain('patched value');
    expect((await propfind(s, '/big/', named)).text).toContain('patched value');

    const before = (await propfind(s, '/big/', named)).text;
    const put = await s.request({ method: 'PUT', path: '/big/episode-00011.mkv', body: 'a much longer body than before' });
    expect(put.status).toBe(204);
    const afterPut = (await propfind(s, '/big/', named)).text;
    expect(afterPut).not.toBe(before);
    expect(afterPut).toContain(`<D:getetag>${String(put.headers.etag).replace(/"/g, '&quot;')}</D:getetag>`);
    expect(afterPut).toContain('<D:getcontentlength>30</D:getcontentlength>');

    const move = await s.request({ method: 'MOVE', path: '/big/episode-00012.mkv', headers: { Destination: '/big/moved.mkv' } });
    expect(move.status).toBe(201);
    const afterMove = (await propfind(s, '/big/')).text;
    expect(afterMove).toContain('<D:href>/big/moved.mkv</D:href>');
    expect(afterMove).not.toContain('episode-00012.mkv');

    // A rename done on the account (not through this server): the listing shows it at once.
    await drive.move('/big/episode-00013.mkv', '/big/renamed.mkv', { overwrite: false });
    await drive.move('/big/episode-00014.mkv', '/big/episode-00013.mkv', { overwrite: false });
    const afterRename = (await propfind(s, '/big/')).text;
    expect(afterRename).toContain('<D:displayname>renamed.mkv</D:displayname>');
    expect(afterRename).not.toContain('episode-00014.mkv');
    expect(afterRename).toMatch(/<D:href>\/big\/episode-00013\.mkv<\/D:href>.*?<D:displayname>episode-00013\.mkv<\/D:displayname>/);
    // And the whole answer equals one built with an empty cache.
    responseCacheFor(drive).clear();
    expect((await propfind(s, '/big/')).text === afterRename).toBe(true);
  }, 120_000);

  it('keeps hrefs apart for different mount prefixes and homes over one drive', async () => {
    const drive = new MemoryDrive();
    await bigFolder(drive, 20);
    const plain = await serve({ drive });
    const prefixed = await serve({ drive, mountPrefix: '/dav' });
    const homed = await serve({
      drive,
      authorize: (req) => (req.headers['x-user'] === 'b' ? { user: 'b', home: '/big' } : { user: 'a' }),
    });

    expect((await propfind(plain, '/big/')).text).toContain('<D:href>/big/episode-00003.mkv</D:href>');
    const viaPrefix = (await propfind(prefixed, '/dav/big/')).text;
    expect(viaPrefix).toContain('<D:href>/dav/big/episode-00003.mkv</D:href>');
    expect(viaPrefix).not.toContain('<D:href>/big/');

    expect((await propfind(homed, '/big/', undefined, { 'X-User': 'a' })).text).toContain('<D:href>/big/episode-00003.mkv</D:href>');
    const asB = (await propfind(homed, '/', undefined, { 'X-User': 'b' })).text;
    expect(asB).toContain('<D:href>/episode-00003.mkv</D:href>');
    expect(asB).not.toContain('<D:href>/big/');
  }, 120_000);
});
