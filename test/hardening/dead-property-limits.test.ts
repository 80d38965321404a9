/**
 * Dead properties are bounded per property, per resource and in total, through the bridge over
 * real HTTP: a PROPPATCH over a limit gets 207 with 507 for its properties (RFC 4918 §9.2.1),
 * stores nothing, and the local state does not grow; ordinary properties (Windows' Win32 times)
 * still work. The limits here are the defaults: 64 KiB, 256 KiB, 64 MiB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDeadPropertyPatch } from '../../src/drive/dead-property-limits.js';
import { DriveError } from '../../src/drive/types.js';
import { startHardStack, type HardStack } from './helpers.js';

const update = (props: string) =>
  `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop>${props}</D:prop></D:set></D:propertyupdate>`;

let s: HardStack;

beforeAll(async () => {
  s = await startHardStack();
  const folder = await s.sim.addFolder({ name: 'P' });
  for (let i = 0; i < 3; i++) await s.sim.addFile({ folderId: folder, name: `f${i}.txt`, content: `file ${i}` });
});

afterAll(async () => {
  await s?.close();
});

/** Bytes of the dead properties the local state holds for `path`. */
const storedBytes = (path: string) => s.bridge.state.properties(path).reduce((sum, p) => sum + p.xml.length, 0);

describe('dead-property limits', () => {
  it('a 1 MB property is refused with 507 and stores nothing; a small one is stored', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await s.req({ method: 'PROPPATCH', path: '/P/f0.txt', body: update(`<Z:big${i}>${'x'.repeat(1_000_000)}</Z:big${i}>`) });
      expect(r.status).toBe(207);
      expect(r.text).toMatch(/HTTP\/1\.1 507/);
    }
    expect(storedBytes('/P/f0.txt')).toBe(0);
    const ok = await s.req({
      method: 'PROPPATCH',
      path: '/P/f0.txt',
      body: `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:schemas-microsoft-com:"><D:set><D:prop><Z:Win32LastModifiedTime>Mon, 30 Nov 2026 10:00:00 GMT</Z:Win32LastModifiedTime></D:prop></D:set></D:propertyupdate>`,
    });
    expect(ok.text).toMatch(/HTTP\/1\.1 200/);
  });

  it('many properties just under the per-property limit stop at the per-resource limit, all or nothing', async () => {
    const value = 'y'.repeat(60 * 1024);
    const statuses: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await s.req({ method: 'PROPPATCH', path: '/P/f1.txt', body: update(`<Z:p${i}>${value}</Z:p${i}>`) });
      statuses.push(/HTTP\/1\.1 (\d+)/.exec(r.text)?.[1] ?? '?');
    }
    // 4 × 60 KiB fit in 256 KiB; the 5th does not, nor any after it.
    expect(statuses).toEqual(['200', '200', '200', '200', '507', '507', '507', '507']);
    expect(s.bridge.state.properties('/P/f1.txt').map((p) => p.name)).toEqual(['p0', 'p1', 'p2', 'p3']);
    expect(storedBytes('/P/f1.txt')).toBe(4 * value.length);
    // Replacing a stored property by a smaller one is always allowed.
    const smaller = await s.req({ method: 'PROPPATCH', path: '/P/f1.txt', body: update('<Z:p0>small</Z:p0>') });
    expect(smaller.text).toMatch(/HTTP\/1\.1 200/);
  });

  it('the account total is bounded too (checked on its own with a small total)', () => {
    const big = { namespace: 'urn:z', name: 'a', xml: 'z'.repeat(1000) };
    expect(checkDeadPropertyPatch([], [{ op: 'set', property: big }], 0, { maxTotalBytes: 5000 })).toBe(1006);
    expect(() => checkDeadPropertyPatch([], [{ op: 'set', property: big }], 4500, { maxTotalBytes: 5000 })).toThrow(DriveError);
    // Shrinking is allowed even over the total.
    expect(checkDeadPropertyPatch([big], [{ op: 'remove', namespace: 'urn:z', name: 'a' }], 9000, { maxTotalBytes: 5000 })).toBe(0);
  });
});
