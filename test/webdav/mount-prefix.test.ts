import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDrive } from '../../src/drive/memory-drive.js';
import { seedFile, startTestServer, type TestServer } from './helpers.js';
import { parseMultistatus } from './xml-helpers.js';

let s: TestServer;
let drive: MemoryDrive;

beforeAll(async () => {
  drive = new MemoryDrive();
  await seedFile(drive, '/f.txt', 'abc');
  s = await startTestServer({ drive, mountPrefix: '/dav/' });
});
afterAll(() => s.close());

describe('serving under a mount prefix', () => {
  it('maps /dav/… to the drive root and writes hrefs with the prefix', async () => {
    const r = await s.request({ method: 'PROPFIND', path: '/dav', headers: { Depth: '1' } });
    expect(r.status).toBe(207);
    expect(parseMultistatus(r.text).map((x) => x.href).sort()).toEqual(['/dav/', '/dav/f.txt']);
    expect((await s.request({ path: '/dav/f.txt' })).text).toBe('abc');
  });

  it('answers 404 outside the prefix', async () => {
    expect((await s.request({ path: '/f.txt' })).status).toBe(404);
  });

  it('Destination must lie under the prefix (502 otherwise)', async () => {
    expect((await s.request({ method: 'COPY', path: '/dav/f.txt', headers: { Destination: '/dav/g.txt' } })).status).toBe(201);
    expect(await drive.list('/').then((l) => l.map((e) => e.name).sort())).toEqual(['f.txt', 'g.txt']);
    expect((await s.request({ method: 'COPY', path: '/dav/f.txt', headers: { Destination: '/g.txt' } })).status).toBe(502);
  });
});

describe('server settings', () => {
  it("turns off Node's 300 s whole-request timeout (long PUTs and GETs must not be cut)", () => {
    expect(s.server.requestTimeout).toBe(0);
  });
});
