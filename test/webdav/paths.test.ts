import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDestination } from '../../src/webdav/destination.js';
import { HttpError } from '../../src/webdav/errors.js';
import { decodePath, decodeRequestTarget, encodeHref } from '../../src/webdav/paths.js';

const status = (fn: () => unknown) => {
  try {
    fn();
    return 0;
  } catch (e) {
    return e instanceof HttpError ? e.status : -1;
  }
};

describe('request paths', () => {
  it('decodes, collapses slashes, resolves dot segments, notes a trailing slash', () => {
    expect(decodeRequestTarget('/a%20b//c/./d/../e/?q=1')).toEqual({ path: '/a b/c/e', trailingSlash: true });
    expect(decodeRequestTarget('/')).toEqual({ path: '/', trailingSlash: false });
    expect(decodeRequestTarget('http://host:8080/x/y')).toEqual({ path: '/x/y', trailingSlash: false });
    expect(decodeRequestTarget('/%C3%A9t%C3%A9')).toEqual({ path: '/été', trailingSlash: false });
  });

  it.each(['/%NETHOOD%', '/%E0%A4%A', '/%', '/a/../..', '/a%2fb', '/%00', 'relative', '/x#frag'])('%s → 400', (target) => {
    expect(status(() => decodeRequestTarget(target))).toBe(400);
  });

  it('encodeHref round-trips any name through decodePath (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ minLength: 1, unit: 'grapheme' }).filter((s) => !s.includes('/') && !s.includes('\0') && s !== '.' && s !== '..'), { minLength: 1, maxLength: 4 }), (names) => {
        const path = '/' + names.join('/');
        const href = encodeHref(path, false);
        expect(href).not.toMatch(/[ #?%](?![0-9A-F]{2})/);
        expect(decodePath(href).path).toBe(path);
      }),
    );
  });

  it('collections get a trailing slash, the mount prefix is kept', () => {
    expect(encodeHref('/', true)).toBe('/');
    expect(encodeHref('/a b', true)).toBe('/a%20b/');
    expect(encodeHref('/a#?%', false, '/dav')).toBe('/dav/a%23%3F%25');
  });
});

describe('Destination', () => {
  it('accepts absolute URIs on our host and absolute paths', () => {
    expect(parseDestination('http://127.0.0.1:80/a%20b', '127.0.0.1').path).toBe('/a b');
    expect(parseDestination('http://LOCALHOST:8080/x/', 'localhost:8080')).toEqual({ path: '/x', trailingSlash: true });
    expect(parseDestination('/p/q', 'h').path).toBe('/p/q');
    expect(parseDestination('http://h/dav/x', 'h', '/dav').path).toBe('/x');
  });

  it.each([
    ['http://other/x', 502],
    ['http://h:81/x', 502],
    ['ftp://h/x', 502],
    ['http://h/%E0%A4%A', 400],
    ['/%NETHOOD%', 400],
    ['', 400],
    ['http://[bad', 400],
    ['http://h/elsewhere', 502],
  ])('%s → %i', (value, expected) => {
    expect(status(() => parseDestination(value, 'h', value === 'http://h/elsewhere' ? '/dav' : ''))).toBe(expected);
  });
});

describe('Destination with raw UTF-8 bytes (as Node hands them over: latin1)', () => {
  it('reads them back as UTF-8', () => {
    const wire = Buffer.from('/été ü.txt', 'utf8').toString('latin1');
    expect(parseDestination(wire, 'h').path).toBe('/été ü.txt');
    const wireUri = Buffer.from('http://h/日本', 'utf8').toString('latin1');
    expect(parseDestination(wireUri, 'h').path).toBe('/日本');
  });

  it('invalid UTF-8 → 400', () => {
    expect(status(() => parseDestination(Buffer.from([0x2f, 0xff, 0x41]).toString('latin1'), 'h'))).toBe(400);
  });
});
