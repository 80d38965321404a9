import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { Busboy } from '@fastify/busboy';
import fc from 'fast-check';
import { buildMultipart, quoteParam } from '../../src/fichier/multipart.js';
import { whirlpoolHex, WhirlpoolPassThrough } from '../../src/fichier/whirlpool.js';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';

async function collect(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

function parse(body: Buffer, contentType: string): Promise<{ fields: Record<string, string>; files: Array<{ field: string; filename: string; data: Buffer }> }> {
  return new Promise((resolve, reject) => {
    const bb = new Busboy({ headers: { 'content-type': contentType }, preservePath: true });
    const fields: Record<string, string> = {};
    const files: Array<{ field: string; filename: string; data: Buffer }> = [];
    bb.on('field', (n, v) => (fields[n] = v));
    bb.on('file', (field, stream, filename) => {
      const parts: Buffer[] = [];
      stream.on('data', (d: Buffer) => parts.push(d));
      stream.on('end', () => files.push({ field, filename: filename ?? '', data: Buffer.concat(parts) }));
    });
    bb.on('finish', () => resolve({ fields, files }));
    bb.on('error', reject);
    bb.end(body);
  });
}

describe('multipart body', () => {
  it('announces exactly the number of bytes it produces, and parses back (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }),
        fc.array(fc.uint8Array({ maxLength: 5000 }), { maxLength: 6 }),
        fc.option(fc.integer({ min: 1, max: 1e9 }), { nil: undefined }),
        async (name, chunks, did) => {
          const size = chunks.reduce((a, c) => a + c.length, 0);
          const mp = buildMultipart(did === undefined ? [] : [['did', String(did)]], {
            field: 'file[]',
            filename: name,
            size,
            source: Readable.from(chunks.map((c) => Buffer.from(c))),
          });
          const body = await collect(mp.stream);
          expect(body.length).toBe(mp.contentLength);
          expect(mp.contentType).toBe(`multipart/form-data; boundary=${mp.boundary}`);
          const parsed = await parse(body, mp.contentType);
          expect(parsed.files).toHaveLength(1);
          expect(parsed.files[0].field).toBe('file[]');
          expect(parsed.files[0].data.equals(Buffer.concat(chunks.map((c) => Buffer.from(c))))).toBe(true);
          if (!/[\r\n"\\]/.test(name)) expect(parsed.files[0].filename).toBe(name);
          if (did !== undefined) expect(parsed.fields.did).toBe(String(did));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('quotes the filename: backslash and quote escaped, CR/LF percent-encoded, UTF-8 kept', async () => {
    expect(quoteParam('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(quoteParam('x\r\ny')).toBe('"x%0D%0Ay"');
    const mp = buildMultipart([], { field: 'file[]', filename: 'été "q".txt', size: 2, source: Readable.from([Buffer.from('hi')]) });
    const body = await collect(mp.stream);
    expect(body.toString('utf8')).toContain('name="file[]"; filename="été \\"q\\".txt"');
    const parsed = await parse(body, mp.contentType);
    expect(parsed.files[0].filename).toBe('été "q".txt');
  });

  it('fails the stream when the source is shorter or longer than announced', async () => {
    const short = buildMultipart([], { field: 'file[]', filename: 'a', size: 10, source: Readable.from([Buffer.alloc(5)]) });
    await expect(collect(short.stream)).rejects.toThrow(/ended after 5 of 10 bytes/);
    const long = buildMultipart([], { field: 'file[]', filename: 'a', size: 3, source: Readable.from([Buffer.alloc(5)]) });
    await expect(collect(long.stream)).rejects.toThrow(/longer than the announced size/);
  });

  it('refuses a negative or fractional size', () => {
    expect(() => buildMultipart([], { field: 'f', filename: 'a', size: -1, source: Readable.from([]) })).toThrow(RangeError);
    expect(() => buildMultipart([], { field: 'f', filename: 'a', size: 1.5, source: Readable.from([]) })).toThrow(RangeError);
  });
});

describe('whirlpool', () => {
  it('matches the ISO test vectors', async () => {
    expect(await whirlpoolHex('')).toBe(
      '19fa61d75522a4669b44e39c1d2e1726c530232130d407f89afee0964997f7a73e83be698b288febcf88e3e03c4f0757ea8964e59b63d93708b138cc42a66eb3',
    );
    expect(await whirlpoolHex('abc')).toBe(
      '4e2448a4c6f486bb16b6562c73b4020bf3043e3a731bce721ae1b303d97e6d4c7181eebdb6c57e277d0e34957114cbd6c797fc9d95d8b582d225292076d4eef5',
    );
  });

  it('hashes a stream while passing it through unchanged', async () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog'.repeat(1000));
    const t = await WhirlpoolPassThrough.create();
    const out: Buffer[] = [];
    await pipeline(
      Readable.from([data.subarray(0, 1000), data.subarray(1000, 30000), data.subarray(30000)]),
      t,
      new Writable({ write(c, _e, cb) { out.push(c); cb(); } }),
    );
    expect(Buffer.concat(out).equals(data)).toBe(true);
    expect(t.bytes).toBe(data.length);
    expect(t.digest()).toBe(await whirlpoolHex(data));
  });
});
