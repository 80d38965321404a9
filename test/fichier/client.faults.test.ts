import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { once } from 'node:events';
import { request } from 'undici';
import { apiLog, bytesOf, harness, KEY, SCALE, type Harness } from './helpers.js';
import {
  AbortedError,
  AuthError,
  FichierClient,
  FloodError,
  IntegrityError,
  NotFoundError,
  ProtocolError,
  TransientError,
  UploadRefusedError,
  type FichierLogEvent,
} from '../../src/fichier/index.js';

let h: Harness | undefined;
const servers: Server[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const s of servers.splice(0)) s.close();
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = createServer(handler);
  servers.push(s);
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  return `127.0.0.1:${(s.address() as { port: number }).port}`;
}

const body = Buffer.from('some file content '.repeat(500));
const upload = (c: FichierClient, name = 'f.bin', opts: { signal?: AbortSignal } = {}) =>
  c.upload(bytesOf(body, 1000), { size: body.length, name, ...opts });

describe('upload flow failure paths', () => {
  it('end.pl answers "please wait" HTML first: polled again until it reports', async () => {
    h = await harness({ faults: { endPlPleaseWait: 3 } });
    const up = await upload(h.client);
    expect(up.verified).toBe(true);
    const end = h.sim.log().filter((e) => e.endpoint === 'end.pl');
    expect(end.length).toBe(4);
    expect(end.slice(0, 3).every((e) => e.outcome === 'html')).toBe(true);
    expect(h.sim.stats().calls['upload.cgi']).toBe(1);
  });

  it('end.pl answers links: [] first: polled again until it reports', async () => {
    h = await harness({ faults: { endPlNoLinks: 2 } });
    const up = await upload(h.client);
    expect(up.url).toMatch(/^https:\/\/1fichier\.com\/\?[a-z0-9]{20}$/);
    expect(h.sim.log().filter((e) => e.endpoint === 'end.pl')).toHaveLength(3);
  });

  it('end.pl keeps answering HTML (.exe): bounded polls, then the file is found in its folder; the POST is not repeated', async () => {
    h = await harness({ faults: { endPlHtmlExtensions: ['.exe'] } }, { endPoll: { attempts: 4 } });
    const up = await upload(h.client, 'setup.exe');
    expect(up.filename).toBe('setup.exe');
    expect(up.size).toBe(body.length);
    expect(up.verified).toBe(true);
    expect(h.sim.log().filter((e) => e.endpoint === 'end.pl')).toHaveLength(4);
    expect(h.sim.stats().calls['upload.cgi']).toBe(1);
    expect(h.sim.stats().calls['folder/ls.cgi']).toBe(1);
    expect((await h.client.listFolder(0, { files: true })).files.map((f) => f.url)).toEqual([up.url]);
  });

  it('end.pl never reports and the listing lags: a ProtocolError after bounded polls; the POST is not repeated', async () => {
    h = await harness({ faults: { endPlHtmlExtensions: ['.exe'], listingDelayMs: 3_600_000 } }, { endPoll: { attempts: 3 } });
    const err = await upload(h.client, 'setup.exe').catch((e) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect(err.message).toMatch(/after 3 polls/);
    expect(h.sim.log().filter((e) => e.endpoint === 'end.pl')).toHaveLength(3);
    expect(h.sim.stats().calls['upload.cgi']).toBe(1);
  });

  it('an HTML refusal from upload.cgi → UploadRefusedError with the bloc2 text, not retried', async () => {
    h = await harness({ faults: { uploadRefusals: 1 } });
    const err = await upload(h.client).catch((e) => e);
    expect(err).toBeInstanceOf(UploadRefusedError);
    expect(err.serverMessage).toBe('Ne peut ouvrir le fichier destination');
    expect(h.sim.stats().calls['upload.cgi']).toBe(1);
    expect(h.sim.stats().calls['end.pl'] ?? 0).toBe(0);
  });

  it('a dropped upload connection is an error and the POST is never retried', async () => {
    h = await harness({ faults: { failures: [{ host: 'upload', endpoint: 'upload.cgi', drop: true, count: 5 }] } });
    const err = await upload(h.client).catch((e) => e);
    expect(err).toBeInstanceOf(TransientError);
    await new Promise((r) => setTimeout(r, 100)); // let the simulator log the dropped request
    expect(h.sim.stats().calls['upload.cgi']).toBe(1);
    expect(h.sim.stats().calls['end.pl'] ?? 0).toBe(0);
    const ev = h.events.find((e) => e.endpoint === 'upload.cgi')!;
    expect(ev.outcome).toBe('error');
    expect(ev.retries).toBe(0);
  });

  it('a 5xx from upload.cgi is not retried either', async () => {
    h = await harness({ faults: { failures: [{ host: 'upload', endpoint: 'upload.cgi', status: 502, count: 5 }] } });
    const err = await upload(h.client).catch((e) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(err.httpStatus).toBe(502);
    expect(h.sim.stats().calls['upload.cgi']).toBe(1);
  });

  it('a source shorter than announced fails clearly', async () => {
    h = await harness();
    const err = await h.client.upload(bytesOf(Buffer.alloc(10)), { size: 20, name: 'short.bin' }).catch((e) => e);
    expect(err.name).toBe('UploadSourceError');
    expect(err.message).toMatch(/ended after 10 of 20 bytes/);
    await new Promise((r) => setTimeout(r, 100)); // let the simulator log the cut request
    expect(h.sim.stats().calls['upload.cgi'] ?? 0).toBeLessThanOrEqual(1);
  });

  it('aborting an upload rejects with AbortedError', async () => {
    h = await harness();
    const ac = new AbortController();
    const slow = (async function* () {
      yield Buffer.alloc(1000);
      ac.abort();
      await new Promise((r) => setTimeout(r, 50));
      yield Buffer.alloc(1000);
    })();
    const err = await h.client.upload(slow, { size: 2000, name: 'a.bin', signal: ac.signal }).catch((e) => e);
    expect(err).toBeInstanceOf(AbortedError);
  });

  it('a Whirlpool mismatch is an IntegrityError and the bad upload is removed', async () => {
    h = await harness();
    const sim = h.sim;
    // A pass-through proxy that points uploads at itself and corrupts end.pl's checksum.
    const nodeOf = new Map<string, string>();
    let upHost = '';
    const forward = async (target: string, req: IncomingMessage, res: ServerResponse, rewrite?: (text: string) => string) => {
      const headers = { ...req.headers } as Record<string, string>;
      delete headers.host;
      const r = await request(`http://${target}${req.url}`, {
        method: req.method as 'GET' | 'POST',
        headers,
        body: req.method === 'POST' ? req : undefined,
      });
      let text = await r.body.text();
      if (rewrite) text = rewrite(text);
      const out: Record<string, string> = {};
      for (const [k, v] of Object.entries(r.headers)) if (typeof v === 'string' && k !== 'content-length' && k !== 'transfer-encoding') out[k] = v;
      res.writeHead(r.statusCode, out).end(text);
    };
    const apiHost = await serve((req, res) => {
      void forward(new URL(sim.apiOrigin).host, req, res, (text) => {
        if (!req.url?.includes('get_upload_server')) return text;
        const o = JSON.parse(text) as { url: string; id: string };
        nodeOf.set(o.id, o.url);
        return JSON.stringify({ ...o, url: upHost });
      });
    });
    upHost = await serve((req, res) => {
      const id = new URL(req.url!, 'http://x').searchParams.get('id') ?? new URL(req.url!, 'http://x').searchParams.get('xid')!;
      void forward(nodeOf.get(id)!, req, res, (text) =>
        text.replace(/"whirlpool":"([0-9a-f])/, (_m, c: string) => `"whirlpool":"${c === '0' ? '1' : '0'}`),
      );
    });
    const client = new FichierClient({ apiKey: KEY, apiUrl: `http://${apiHost}/v1`, timeScale: SCALE });
    try {
      const err = await upload(client, 'corrupt.bin').catch((e) => e);
      expect(err).toBeInstanceOf(IntegrityError);
      expect(err.message).toMatch(/Whirlpool mismatch/);
      expect(err.message).toMatch(/removed/);
      const rm = sim.log().filter((e) => e.endpoint === 'file/rm.cgi');
      expect(rm).toHaveLength(1);
      const removedUrl = (rm[0].body as { files: Array<{ url: string }> }).files[0].url;
      await expect(h.client.fileInfo(removedUrl)).rejects.toBeInstanceOf(NotFoundError);
    } finally {
      await client.close();
    }
  });
});

describe('retries and flood cool-down', () => {
  it('a 5xx then success: retried with back-off', async () => {
    h = await harness({ faults: { failures: [{ host: 'api', endpoint: 'file/info.cgi', status: 503, count: 2 }] } });
    const url = await h.sim.addFile({ folderId: 0, name: 'a', content: 'a' });
    const info = await h.client.fileInfo(url);
    expect(info.filename).toBe('a');
    const calls = apiLog(h.sim).filter((e) => e.endpoint === 'file/info.cgi');
    expect(calls.map((e) => e.status)).toEqual([503, 503, 200]);
    expect(h.events.find((e) => e.endpoint === 'file/info.cgi')).toMatchObject({ outcome: 'ok', retries: 2 });
  });

  it('a dropped API connection then success', async () => {
    h = await harness({ faults: { failures: [{ host: 'api', endpoint: 'folder/ls.cgi', drop: true, count: 1 }] } });
    const l = await h.client.listFolder(0);
    expect(l.name).toBe('Root');
    expect(apiLog(h.sim).filter((e) => e.endpoint === 'folder/ls.cgi')).toHaveLength(2);
  });

  it('gives up after maxAttempts on persistent 5xx', async () => {
    h = await harness({ faults: { failures: [{ host: 'api', endpoint: 'remote/ls.cgi', status: 500, count: 100 }] } }, { maxAttempts: 3 });
    const err = await h.client.remoteList().catch((e) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(apiLog(h.sim).filter((e) => e.endpoint === 'remote/ls.cgi')).toHaveLength(3);
  });

  it('a flood then success after the cool-down, with no call sent inside the cool-down', async () => {
    h = await harness();
    // Provoke a flood lock on the key from outside the client: user/info twice in its window.
    for (let i = 0; i < 2; i++) {
      const r = await request(`${h.sim.apiUrl}/user/info.cgi`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: '{}',
      });
      await r.body.text();
    }
    expect(h.sim.stats().floods).toBe(1);
    const url = await h.sim.addFile({ folderId: 0, name: 'x', content: 'x' });
    const [info, listing] = await Promise.all([h.client.fileInfo(url), h.client.listFolder(0)]);
    expect(info.filename).toBe('x');
    expect(listing.files).toHaveLength(1);
    const log = apiLog(h.sim).slice(2);
    const firstFlood = log.findIndex((e) => e.outcome === 'flood');
    expect(firstFlood).toBeGreaterThanOrEqual(0);
    const floodAt = log[firstFlood].ms;
    // every later call from the client arrived after the 30 s (scaled) cool-down
    const after = log.slice(firstFlood + 1).filter((e) => e.outcome !== 'flood');
    expect(after.length).toBeGreaterThanOrEqual(1);
    for (const e of after) expect(e.ms - floodAt).toBeGreaterThanOrEqual(30_000 * SCALE - 1);
    expect(log.at(-1)!.outcome).toBe('OK');
    const ev = h.events.filter((e: FichierLogEvent) => e.floods > 0);
    expect(ev.length).toBeGreaterThanOrEqual(1);
    expect(h.client.scheduler.floodCount()).toBeGreaterThanOrEqual(1);
  });

  it('a flood that outlasts every retry surfaces as FloodError', async () => {
    h = await harness({ floodLockMs: 3_600_000, extendLockOnHit: true }, { maxAttempts: 2 });
    for (let i = 0; i < 2; i++) {
      const r = await request(`${h.sim.apiUrl}/user/info.cgi`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: '{}',
      });
      await r.body.text();
    }
    const err = await h.client.listFolder(0).catch((e) => e);
    expect(err).toBeInstanceOf(FloodError);
    expect([374, 412, 38, 218]).toContain(err.code);
    const calls = apiLog(h.sim).filter((e) => e.endpoint === 'folder/ls.cgi');
    expect(calls).toHaveLength(2);
    expect(calls[1].ms - calls[0].ms).toBeGreaterThanOrEqual(30_000 * SCALE - 1);
  });
});

describe('secrets', () => {
  it('the API key never appears in any error, stack, cause, JSON or log event, whatever fails', async () => {
    h = await harness({ faults: { failures: [{ host: 'api', endpoint: 'remote/ls.cgi', status: 500, count: 100 }] } }, { maxAttempts: 2 });
    const events: unknown[] = [];
    const secret = KEY;
    const errors: unknown[] = [];
    const collect = (p: Promise<unknown>) => p.then(() => errors.push(new Error('unexpected success')), (e) => errors.push(e));

    // 5xx exhausted, 404, same-name rename KO, password
    await collect(h.client.remoteList());
    await collect(h.client.fileInfo('https://1fichier.com/?bbbbbbbbbbbbbbbbbbbb'));
    const url = await h.sim.addFile({ folderId: 0, name: 's', content: 's', pass: 'pw123456' });
    await collect(h.client.getDownloadToken(url));
    // connection refused
    const dead = new FichierClient({ apiKey: secret, apiUrl: 'http://127.0.0.1:1/v1', timeScale: SCALE, maxAttempts: 2, logger: (e) => events.push(e) });
    await collect(dead.userInfo());
    await dead.close();
    // HTML where JSON was expected, and a server that echoes the Authorization header back
    const htmlHost = await serve((req, res) => {
      if (req.url?.includes('user/info')) res.writeHead(200, { 'content-type': 'text/html' }).end(`<html>${req.headers.authorization}</html>`);
      else res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'KO', message: `Not authenticated ${req.headers.authorization} #247` }));
    });
    const echo = new FichierClient({ apiKey: secret, apiUrl: `http://${htmlHost}/v1`, timeScale: SCALE, logger: (e) => events.push(e) });
    await collect(echo.userInfo());
    await collect(echo.listFolder(0));
    await echo.close();
    // an aborted call
    const ac = new AbortController();
    ac.abort();
    await collect(h.client.listFolder(0, { signal: ac.signal }));

    expect(errors.map((e) => (e as Error).name)).toEqual([
      'TransientError', 'NotFoundError', 'PasswordError', 'UnreachableError', 'ProtocolError', 'AuthError', 'AbortedError',
    ]);
    expect(errors[5]).toBeInstanceOf(AuthError);
    for (const e of errors as Error[]) {
      const cause = e.cause as Error | undefined;
      for (const text of [String(e), e.stack ?? '', JSON.stringify(e), String(cause ?? ''), cause?.stack ?? '', JSON.stringify((e as { serverMessage?: string }).serverMessage ?? '')]) {
        expect(text).not.toContain(secret);
      }
    }
    expect(JSON.stringify([...events, ...h.events])).not.toContain(secret);
  });
});
