import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { resumableRead, resumableReadWhenOpen, type OpenUpstream } from '../../src/drive/resumable-read.js';

const FILE = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff));

/** An upstream that serves FILE[start..end] in 1000-byte chunks and, optionally, breaks after `cutAfter` bytes. */
function upstreamOf(start: number, end: number, cutAfter?: number, how: 'error' | 'end' = 'error'): Readable {
  let offset = start;
  let sent = 0;
  return new Readable({
    read() {
      if (offset > end) {
        this.push(null);
        return;
      }
      if (cutAfter !== undefined && sent >= cutAfter) {
        if (how === 'error') this.destroy(new Error('socket hang up'));
        else this.push(null);
        return;
      }
      const size = Math.min(1000, end - offset + 1, cutAfter === undefined ? Infinity : cutAfter - sent);
      const chunk = FILE.subarray(offset, offset + size);
      offset += size;
      sent += size;
      this.push(chunk);
    },
  });
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('resumableRead', () => {
  it('streams exactly the requested range', async () => {
    const calls: Array<[number, number]> = [];
    const open: OpenUpstream = async ({ start, end }) => {
      calls.push([start, end]);
      return upstreamOf(start, end);
    };
    const bytes = await collect(resumableRead({ start: 12_345, end: 67_890, open, maxResumes: 3 }));
    expect(bytes.equals(FILE.subarray(12_345, 67_891))).toBe(true);
    expect(calls).toEqual([[12_345, 67_890]]);
  });

  it('truncates an upstream that sends more than asked', async () => {
    const open: OpenUpstream = async ({ start }) => upstreamOf(start, FILE.length - 1);
    const bytes = await collect(resumableRead({ start: 10, end: 19, open, maxResumes: 0 }));
    expect(bytes.equals(FILE.subarray(10, 20))).toBe(true);
  });

  it.each(['error', 'end'] as const)('resumes from the byte reached when the upstream breaks (%s)', async (how) => {
    const calls: Array<{ start: number; attempt: number; previous?: string }> = [];
    const open: OpenUpstream = async ({ start, end }, { attempt, previousError }) => {
      calls.push({ start, attempt, previous: previousError?.message });
      return upstreamOf(start, end, attempt < 2 ? 25_000 : undefined, how);
    };
    const bytes = await collect(resumableRead({ start: 0, end: FILE.length - 1, open, maxResumes: 5 }));
    expect(bytes.equals(FILE)).toBe(true);
    expect(calls.map((call) => call.start)).toEqual([0, 25_000, 50_000]);
    expect(calls[1].previous).toBeDefined();
  });

  it('fails with a clear error after the resume limit', async () => {
    const open: OpenUpstream = async ({ start, end }) => upstreamOf(start, end, 10_000);
    await expect(collect(resumableRead({ start: 0, end: FILE.length - 1, open, maxResumes: 2 }))).rejects.toThrow(
      /upstream broke at byte 30000 of 100000 after 2 resumes/,
    );
  });

  it('destroys the upstream at once when the reader goes away', async () => {
    let upstream: Readable | undefined;
    let signalAborted = false;
    const open: OpenUpstream = async ({ start, end }, { signal }) => {
      signal.addEventListener('abort', () => (signalAborted = true));
      upstream = upstreamOf(start, end);
      return upstream;
    };
    const controller = new AbortController();
    const stream = resumableRead({ start: 0, end: FILE.length - 1, open, maxResumes: 3, signal: controller.signal });
    const first = await new Promise<Buffer>((resolve) => stream.once('data', resolve));
    expect(first.length).toBeGreaterThan(0);
    controller.abort();
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.destroyed).toBe(true);
    expect(upstream?.destroyed).toBe(true);
    expect(signalAborted).toBe(true);
  });

  it('serves an empty range without opening the upstream', async () => {
    let opened = 0;
    const open: OpenUpstream = async ({ start, end }) => {
      opened += 1;
      return upstreamOf(start, end);
    };
    const bytes = await collect(resumableRead({ start: 0, end: -1, open, maxResumes: 0 }));
    expect(bytes.length).toBe(0);
    expect(opened).toBe(0);
  });

  it('resumableReadWhenOpen rejects when the first upstream request fails, before any byte', async () => {
    const open: OpenUpstream = async () => {
      throw new Error('no download link');
    };
    await expect(resumableReadWhenOpen({ start: 0, end: 10, open, maxResumes: 3 })).rejects.toThrow('no download link');
    const ok = await resumableReadWhenOpen({ start: 5, end: 9, open: async ({ start, end }) => upstreamOf(start, end), maxResumes: 0 });
    expect((await collect(ok)).equals(FILE.subarray(5, 10))).toBe(true);
  });
});
