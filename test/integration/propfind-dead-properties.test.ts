/**
 * PROPFIND Depth 1 through the bridge reads a listing's dead properties in one query
 * (FichierDrive.getPropertiesIn): every child still gets its own, whatever Unicode form the client
 * wrote its name in, and a PROPPATCH shows in the next listing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from '../webdav/helpers.js';
import { startStack, type Stack } from './helpers.js';

let stack: Stack;
let port: number;
beforeAll(async () => {
  stack = await startStack();
  port = Number(new URL(stack.url).port);
}, 60_000);
afterAll(async () => {
  await stack?.close();
});

const dav = (method: string, path: string, headers: Record<string, string> = {}, body?: string) =>
  request(port, { method, path, headers, body });

const patch = (value: string) =>
  `<?xml version="1.0"?><D:propertyupdate xmlns:D="DAV:" xmlns:X="urn:x"><D:set><D:prop><X:note>${value}</X:note></D:prop></D:set></D:propertyupdate>`;

describe('PROPFIND dead properties of a listing', () => {
  it('gives each child its own dead properties, NFD or NFC, and shows a PROPPATCH at once', async () => {
    expect((await dav('MKCOL', '/props/')).status).toBe(201);
    const nfd = encodeURIComponent('e\u0301te\u0301.txt'); // "été" as macOS writes it
    for (const name of ['a.txt', 'b.txt', nfd]) expect((await dav('PUT', `/props/${name}`, {}, `body of ${name}`)).status).toBe(201);
    expect((await dav('PROPPATCH', '/props/a.txt', { 'Content-Type': 'application/xml' }, patch('for a'))).status).toBe(207);
    expect((await dav('PROPPATCH', `/props/${nfd}`, { 'Content-Type': 'application/xml' }, patch('for ete'))).status).toBe(207);
    expect((await dav('PROPPATCH', '/props/', { 'Content-Type': 'application/xml' }, patch('for the folder'))).status).toBe(207);

    const listing = async () => {
      const r = await dav('PROPFIND', '/props/', { Depth: '1' });
      expect(r.status).toBe(207);
      const notes = new Map<string, string>();
      for (const response of r.text.split('<D:response>').slice(1)) {
        const href = decodeURIComponent(/<D:href>([^<]*)<\/D:href>/.exec(response)![1]!).normalize('NFC');
        notes.set(href, /<note xmlns="urn:x">([^<]*)<\/note>/.exec(response)?.[1] ?? '');
      }
      return notes;
    };
    expect(Object.fromEntries(await listing())).toEqual({
      '/props/': 'for the folder',
      '/props/a.txt': 'for a',
      '/props/b.txt': '',
      '/props/\u00e9t\u00e9.txt': 'for ete',
    });
    expect((await dav('PROPPATCH', '/props/b.txt', { 'Content-Type': 'application/xml' }, patch('for b'))).status).toBe(207);
    expect((await listing()).get('/props/b.txt')).toBe('for b');
  }, 120_000);
});
