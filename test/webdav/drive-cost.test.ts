/**
 * PROPFIND must not fan out into per-child drive calls (webdav-server made ~16 calls per child):
 * Depth 1 of a folder is one Drive.list plus at most one Drive.stat, whatever N is.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryDrive } from '../../src/drive/memory-drive.js';
import { countingDrive, seedFile, startTestServer, type TestServer } from './helpers.js';
import { parseMultistatus } from './xml-helpers.js';

const N = 60;
let s: TestServer;
let counts: Record<string, number>;

beforeAll(async () => {
  const memory = new MemoryDrive();
  await memory.mkdir('/media');
  for (let i = 0; i < N; i++) {
    if (i % 10 === 0) await memory.mkdir(`/media/folder ${i}`);
    else await seedFile(memory, `/media/file ${i}.mkv`, `data ${i}`);
  }
  const counting = countingDrive(memory);
  counts = counting.counts;
  s = await startTestServer({ drive: counting.drive });
});
afterAll(() => s.close());
beforeEach(() => {
  for (const key of Object.keys(counts)) delete counts[key];
});

const propfind = (body?: string) => s.request({ method: 'PROPFIND', path: '/media/', headers: { Depth: '1' }, body });

describe('PROPFIND Depth 1 drive cost', () => {
  it('named live properties: one list, one stat, nothing else', async () => {
    const r = await propfind(
      `<propfind xmlns="DAV:"><prop><resourcetype/><getcontentlength/><getlastmodified/><getetag/><displayname/></prop></propfind>`,
    );
    expect(parseMultistatus(r.text)).toHaveLength(N + 1);
    expect(counts).toEqual({ list: 1, stat: 1 });
  });

  it('quota properties: one quota call for the whole answer, however many collections', async () => {
    const r = await propfind(`<propfind xmlns="DAV:"><prop><quota-available-bytes/><quota-used-bytes/></prop></propfind>`);
    expect(parseMultistatus(r.text)).toHaveLength(N + 1);
    expect(counts).toEqual({ list: 1, stat: 1, quota: 1 });
  });

  it('allprop: one list, one stat; dead properties read from the drive once per resource, never a stat', async () => {
    const r = await propfind();
    expect(parseMultistatus(r.text)).toHaveLength(N + 1);
    expect(counts.list).toBe(1);
    expect(counts.stat).toBe(1);
    expect(counts.getProperties).toBe(N + 1);
    expect(counts.read).toBeUndefined();
  });
});
