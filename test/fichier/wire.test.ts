import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import {
  parseAccountInfo,
  parseEndLinks,
  parseFileInfo,
  parseFileList,
  parseFolderListing,
  parseUploadServer,
} from '../../src/fichier/wire.js';
import { FichierClient, ProtocolError, RejectedError } from '../../src/fichier/index.js';
import { harness, type Harness } from './helpers.js';

describe('defensive parsing', () => {
  it('folder/ls: omitted arrays, null size, string ids and flags', () => {
    const l = parseFolderListing({ status: 'OK', folder_id: '12', name: 'X', size: null, files: '0' }, 12);
    expect(l).toMatchObject({ folderId: 12, name: 'X', size: undefined, fileCount: 0, subFolders: [], files: [] });
    const l2 = parseFolderListing(
      { folder_id: 0, name: 'Root', sub_folders: [{ id: '5', name: 'a', create_date: '2021-03-20 16:42:15', pass: '1' }], items: [] },
      0,
    );
    expect(l2.subFolders[0]).toMatchObject({ id: 5, name: 'a', pass: true });
    expect(l2.subFolders[0].createDate?.toISOString()).toBe('2021-03-20T15:42:15.000Z');
  });

  it('file/ls: content-type with a hyphen or an underscore, sizes as strings, checksum case', () => {
    const items = parseFileList({
      status: 'OK',
      count: 2,
      items: [
        { url: 'https://1fichier.com/?a', filename: 'a', size: '12', date: '2021-06-22 14:57:25', checksum: 'AB', 'content-type': 'text/plain', pass: 0, acl: '0', cdn: 1 },
        { url: 'https://1fichier.com/?b', filename: 'b', size: 3, date: 'garbage', content_type: 'image/png' },
      ],
    });
    expect(items[0]).toMatchObject({ size: 12, checksum: 'ab', contentType: 'text/plain', pass: false, acl: false, cdn: true });
    expect(items[0].date?.toISOString()).toBe('2021-06-22T12:57:25.000Z');
    expect(items[1]).toMatchObject({ size: 3, contentType: 'image/png', date: undefined, rawDate: 'garbage' });
    expect(parseFileList({ status: 'OK', count: 0 })).toEqual([]);
  });

  it('a file entry without url or filename is a ProtocolError', () => {
    expect(() => parseFileList({ items: [{ filename: 'x' }] })).toThrow(ProtocolError);
    expect(() => parseFileList({ items: ['x'] })).toThrow(ProtocolError);
  });

  it('file/info: acl object, folder_id as string', () => {
    const i = parseFileInfo({ url: 'https://1fichier.com/?a', filename: 'a', size: 1, folder_id: '7', acl: { ip: ['1.2.3.0/24'], country: [], email: [], premium: 0 }, inline: '1' });
    expect(i).toMatchObject({ folderId: 7, acl: true, inline: true, aclRules: { ip: ['1.2.3.0/24'], premium: false } });
    expect(parseFileInfo({ url: 'https://1fichier.com/?a', filename: 'a', acl: { ip: [], country: [], email: [], premium: 0 } }).acl).toBe(false);
  });

  it('user/info: every scalar as string or number', () => {
    const a = parseAccountInfo({ offer: '1', cdn: '2.5', use_cdn: '0', cold_storage: 10, available_cold_storage: '100', subscription_end: '2030-01-01 00:00:00' });
    expect(a).toMatchObject({ offer: 1, cdn: 2.5, useCdn: false, coldStorage: 10, availableColdStorage: 100 });
    expect(a.subscriptionEnd?.toISOString()).toBe('2029-12-31T23:00:00.000Z');
  });

  it('end.pl: size as a string; get_upload_server: only a bare host and an alphanumeric id', () => {
    expect(parseEndLinks({ incoming: 0, links: [{ download: 'https://1fichier.com/?x', filename: 'n', size: '12345', whirlpool: 'AA', remove: '' }] })[0]).toEqual({
      download: 'https://1fichier.com/?x',
      filename: 'n',
      size: 12345,
      whirlpool: 'aa',
      remove: undefined,
    });
    expect(parseEndLinks({ incoming: 0 })).toEqual([]);
    expect(parseUploadServer({ url: 'up2.1fichier.com', id: 'Fhl1aZERQv' })).toEqual({ host: 'up2.1fichier.com', id: 'Fhl1aZERQv' });
    expect(parseUploadServer({ url: '127.0.0.1:4000', id: 'abc' }).host).toBe('127.0.0.1:4000');
    expect(() => parseUploadServer({ url: 'http://evil/x', id: 'abc' })).toThrow(ProtocolError);
    expect(() => parseUploadServer({ url: 'up2', id: '../x' })).toThrow(ProtocolError);
  });
});

describe('transport against odd servers', () => {
  let server: Server | undefined;
  let h: Harness | undefined;
  afterEach(async () => {
    server?.close();
    server = undefined;
    await h?.close();
    h = undefined;
  });

  async function fake(answers: Array<[number, string]>): Promise<{ client: FichierClient; hits: () => number }> {
    let n = 0;
    server = createServer((req, res) => {
      req.resume();
      const [status, body] = answers[Math.min(n++, answers.length - 1)];
      res.writeHead(status, { 'content-type': body.startsWith('<') ? 'text/html' : 'application/json' }).end(body);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as { port: number }).port;
    return { client: new FichierClient({ apiKey: 'k-123456', apiUrl: `http://127.0.0.1:${port}/v1`, timeScale: 0.001 }), hits: () => n };
  }

  it('get_token: a KO inside HTTP 200 is retried until a link comes', async () => {
    const { client, hits } = await fake([
      [200, '{"status":"KO","message":"Temporary error #500"}'],
      [200, '{"status":"OK","url":"https://a-4.1fichier.com/abc"}'],
    ]);
    expect(await client.getDownloadToken('https://1fichier.com/?x')).toBe('https://a-4.1fichier.com/abc');
    expect(hits()).toBe(2);
    await client.close();
  });

  it('other endpoints do not retry a KO inside HTTP 200', async () => {
    const { client, hits } = await fake([[200, '{"message":"No file has been renamed #312","status":"KO"}']]);
    await expect(client.renameFile('https://1fichier.com/?x', 'y')).rejects.toBeInstanceOf(RejectedError);
    expect(hits()).toBe(1);
    await client.close();
  });

  it('429 then success is retried; malformed JSON and missing fields are ProtocolErrors', async () => {
    const a = await fake([
      [429, '<html>slow down</html>'],
      [200, '{"status":"OK","folder_id":9,"name":"n"}'],
    ]);
    expect(await a.client.mkdir('n')).toEqual({ folderId: 9, name: 'n' });
    expect(a.hits()).toBe(2);
    await a.client.close();
    server?.close();
    const b = await fake([[200, '{"status":"OK",']]);
    await expect(b.client.userInfo()).rejects.toBeInstanceOf(ProtocolError);
    await b.client.close();
    server?.close();
    const c = await fake([[200, '{"status":"OK"}']]);
    await expect(c.client.mkdir('n')).rejects.toThrow(/lacks "folder_id"/);
    await c.client.close();
  });

  it('the simulator with omitted empty arrays', async () => {
    h = await harness({ omitEmptyArrays: true });
    const l = await h.client.listFolder(0);
    expect(l.subFolders).toEqual([]);
    expect(l.files).toEqual([]);
    expect(await h.client.listFiles(0)).toEqual([]);
  });
});
