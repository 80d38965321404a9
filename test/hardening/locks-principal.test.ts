/**
 * RFC 4918 §6.4 through the bridge over real HTTP: a lock token is usable only by the user who
 * created the lock. Another authenticated user sees the token in lockdiscovery (tokens are not
 * secrets) but can neither write through it, refresh it, nor UNLOCK it; the owner can.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHardStack, type HardStack } from './helpers.js';

const ALICE = { user: 'alice', password: 'alice password' };
const BOB = { user: 'bob', password: 'bob password' };
const LOCKINFO = `<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>alice</D:owner></D:lockinfo>`;

let s: HardStack;

beforeAll(async () => {
  s = await startHardStack({}, { auth: { users: [ALICE, BOB] } });
  await s.sim.addFolder({ name: 'Shared' });
});

afterAll(async () => {
  await s?.close();
});

describe('lock tokens belong to the principal that created them', () => {
  it("another user cannot write through, refresh, unlock or delete through alice's lock; alice can", async () => {
    expect((await s.req({ method: 'PUT', path: '/Shared/doc.txt', body: 'alice v1', auth: ALICE })).status).toBe(201);
    const locked = await s.req({ method: 'LOCK', path: '/Shared/doc.txt', headers: { Timeout: 'Second-600' }, body: LOCKINFO, auth: ALICE });
    expect(locked.status).toBe(200);
    const token = /<([^>]+)>/.exec(String(locked.headers['lock-token']))?.[1] ?? '';
    expect(token).toMatch(/^urn:uuid:/);

    // Bob reads the token from lockdiscovery, as anyone allowed to read may.
    const discovery = await s.req({
      method: 'PROPFIND',
      path: '/Shared/doc.txt',
      headers: { Depth: '0' },
      body: '<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>',
      auth: BOB,
    });
    expect(discovery.text).toContain(token);

    const ifHeader = { If: `(<${token}>)` };
    const put = await s.req({ method: 'PUT', path: '/Shared/doc.txt', headers: ifHeader, body: 'bob was here', auth: BOB });
    expect(put.status).toBe(423);
    expect(put.text).toContain('lock-token-submitted');
    const proppatch = await s.req({
      method: 'PROPPATCH',
      path: '/Shared/doc.txt',
      headers: ifHeader,
      body: '<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><Z:tag>bob</Z:tag></D:prop></D:set></D:propertyupdate>',
      auth: BOB,
    });
    expect(proppatch.status).toBe(423);
    expect((await s.req({ method: 'LOCK', path: '/Shared/doc.txt', headers: ifHeader, auth: BOB })).status).toBe(403);
    expect((await s.req({ method: 'UNLOCK', path: '/Shared/doc.txt', headers: { 'Lock-Token': `<${token}>` }, auth: BOB })).status).toBe(403);
    expect((await s.req({ method: 'DELETE', path: '/Shared/doc.txt', headers: ifHeader, auth: BOB })).status).toBe(423);
    expect((await s.req({ method: 'DELETE', path: '/Shared', headers: { If: `</Shared/doc.txt> (<${token}>)` }, auth: BOB })).status).toBe(423);
    expect((await s.req({ path: '/Shared/doc.txt', auth: BOB })).text).toBe('alice v1');

    // The owner goes on: write through the lock, refresh it, unlock it.
    expect((await s.req({ method: 'PUT', path: '/Shared/doc.txt', headers: ifHeader, body: 'alice v2', auth: ALICE })).status).toBe(204);
    expect((await s.req({ method: 'LOCK', path: '/Shared/doc.txt', headers: ifHeader, auth: ALICE })).status).toBe(200);
    expect((await s.req({ method: 'UNLOCK', path: '/Shared/doc.txt', headers: { 'Lock-Token': `<${token}>` }, auth: ALICE })).status).toBe(204);
    expect((await s.req({ path: '/Shared/doc.txt', auth: BOB })).text).toBe('alice v2');
    // Unlocked, bob may write like anyone.
    expect((await s.req({ method: 'PUT', path: '/Shared/doc.txt', body: 'bob v3', auth: BOB })).status).toBe(204);
  });
});
