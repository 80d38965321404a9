/**
 * The download transport (src/fichier/download-socket.ts) against real local servers: node:http
 * for ordinary answers, raw TCP for the framings and failures node:http never sends, and node:https
 * with a throw-away certificate for TLS.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DownloadSockets, type DownloadSocketOptions } from '../../src/fichier/download-socket.js';

const BODY = randomBytes(5 * 1024 * 1024 + 123);

async function readAll(body: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function failureOf(body: Readable): Promise<Error & { code?: string }> {
  try {
    await readAll(body);
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error('the body ended without an error');
}

interface Served {
  url: string;
  connections: () => number;
  close: () => Promise<void>;
}

async function listen(server: net.Server, scheme = 'http'): Promise<Served> {
  let connections = 0;
  const sockets = new Set<net.Socket>();
  server.on(scheme === 'https' ? 'secureConnection' : 'connection', (socket: net.Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    connections: () => connections,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A node:http server answering /file with BODY (ranges honoured) and other paths as the test says. */
function fileServer(extra?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean): http.Server {
  return http.createServer(fileHandler(extra));
}

function fileHandler(extra?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean): http.RequestListener {
  return (req, res) => {
    if (extra?.(req, res)) return;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Number(range[2]) : BODY.length - 1;
      res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${BODY.length}`, 'content-length': end - start + 1, 'x-twice': ['a', 'b'] });
      res.end(BODY.subarray(start, end + 1));
      return;
    }
    res.writeHead(200, { 'content-length': BODY.length, 'content-type': 'application/octet-stream' });
    res.end(BODY);
  };
}

/** A host answering `total` bytes of `block` repeated, as fast as its client takes them; `sent()` counts what it wrote. */
function repeatingHost(total: number, block: Buffer): { handler: http.RequestListener; sent: () => number } {
  let sent = 0;
  const handler: http.RequestListener = (_req, res) => {
    res.writeHead(200, { 'content-length': total });
    const more = (): void => {
      while (sent < total) {
        sent += block.length;
        if (!res.write(block)) return void res.once('drain', more);
      }
      res.end();
    };
    more();
  };
  return { handler, sent: () => sent };
}

/** A raw TCP server: `answer` gets each connection's socket and the request head it sent. */
function rawServer(answer: (socket: net.Socket, head: string, index: number) => void): net.Server {
  let index = 0;
  return net.createServer((socket) => {
    let pending = '';
    socket.on('data', (data) => {
      pending += data.toString('latin1');
      let end = pending.indexOf('\r\n\r\n');
      while (end >= 0) {
        const head = pending.slice(0, end);
        pending = pending.slice(end + 4);
        answer(socket, head, index++);
        end = pending.indexOf('\r\n\r\n');
      }
    });
    socket.on('error', () => {});
  });
}

const servers: Served[] = [];
const transports: DownloadSockets[] = [];
function transport(options: Partial<DownloadSocketOptions> = {}): DownloadSockets {
  const t = new DownloadSockets({ timeoutMs: 30_000, ...options });
  transports.push(t);
  return t;
}
async function serve(server: net.Server, scheme?: string): Promise<Served> {
  const served = await listen(server, scheme);
  servers.push(served);
  return served;
}
afterEach(async () => {
  for (const t of transports.splice(0)) t.close();
  for (const s of servers.splice(0)) await s.close();
});

describe('download socket: answers and bytes', () => {
  it('streams a Content-Length body byte for byte and reuses the connection for the next GET', async () => {
    const served = await serve(fileServer());
    const t = transport();
    const first = await t.get(new URL(`${served.url}/file`), { 'user-agent': 'fichier-dav' });
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('application/octet-stream');
    expect((await readAll(first.body)).equals(BODY)).toBe(true);
    const second = await t.get(new URL(`${served.url}/file`), { range: 'bytes=1000-4999999' });
    expect(second.status).toBe(206);
    expect(second.headers['content-range']).toBe(`bytes 1000-4999999/${BODY.length}`);
    expect(second.headers['x-twice']).toEqual(['a', 'b']);
    expect((await readAll(second.body)).equals(BODY.subarray(1000, 5_000_000))).toBe(true);
    expect(served.connections()).toBe(1);
  });

  it('decodes a chunked body, with extensions and trailers, delivered one byte at a time', async () => {
    const payload = randomBytes(70_000);
    const served = await serve(
      rawServer((socket) => {
        const wire = Buffer.concat([
          Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'),
          Buffer.from('10;name=value\r\n'),
          payload.subarray(0, 16),
          Buffer.from('\r\n'),
          Buffer.from(`${(payload.length - 16).toString(16)}\r\n`),
          payload.subarray(16),
          Buffer.from('\r\n0\r\nX-Trailer: yes\r\n\r\n'),
        ]);
        // Small writes, no Nagle: the framing arrives split at every possible place.
        socket.setNoDelay(true);
        let at = 0;
        const step = (): void => {
          if (at >= wire.length) return;
          const size = at < 200 || at > wire.length - 60 ? 1 : 4096;
          socket.write(wire.subarray(at, at + size), () => setImmediate(step));
          at += size;
        };
        step();
      }),
    );
    const t = transport();
    const answer = await t.get(new URL(`${served.url}/c`), {});
    expect((await readAll(answer.body)).equals(payload)).toBe(true);
    // The chunked answer ended cleanly: the connection is reused.
    const again = await t.get(new URL(`${served.url}/c`), {});
    expect((await readAll(again.body)).equals(payload)).toBe(true);
    expect(served.connections()).toBe(1);
  });

  it('reads an HTTP/1.0 answer without a length up to the end of the connection, and skips interim answers', async () => {
    const served = await serve(
      rawServer((socket) => {
        socket.write('HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n');
        socket.end(Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n'), BODY.subarray(0, 300_000)]));
      }),
    );
    const answer = await transport().get(new URL(`${served.url}/old`), {});
    expect(answer.status).toBe(200);
    expect((await readAll(answer.body)).equals(BODY.subarray(0, 300_000))).toBe(true);
  });

  it('answers with no body (204) end at once and keep the connection', async () => {
    const served = await serve(fileServer((req, res) => (req.url === '/empty' ? (res.writeHead(204), res.end(), true) : false)));
    const t = transport();
    const empty = await t.get(new URL(`${served.url}/empty`), {});
    expect(empty.status).toBe(204);
    expect((await readAll(empty.body)).length).toBe(0);
    const file = await t.get(new URL(`${served.url}/file`), {});
    expect((await readAll(file.body)).length).toBe(BODY.length);
    expect(served.connections()).toBe(1);
  });

  it('asks again on a new connection when the host had closed the idle one, and only then', async () => {
    // The host answers once per connection and then closes it without saying so.
    const served = await serve(
      rawServer((socket) => {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello`);
        setTimeout(() => socket.destroy(), 20);
      }),
    );
    const t = transport();
    expect((await readAll((await t.get(new URL(`${served.url}/a`), {})).body)).toString()).toBe('hello');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await readAll((await t.get(new URL(`${served.url}/a`), {})).body)).toString()).toBe('hello');
    expect(served.connections()).toBe(2);
  });

  it('a 408 on a reused connection (the host timing it out) is asked again on a new one; a 408 on a new connection is the answer', async () => {
    let connection = 0;
    const served = await serve(
      net.createServer((socket) => {
        const mine = ++connection;
        let requests = 0;
        socket.on('error', () => {});
        socket.on('data', () => {
          requests++;
          if (mine === 1 && requests === 2) socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
          else if (mine === 3) socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
          else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
        });
      }),
    );
    const t = transport();
    expect((await readAll((await t.get(new URL(`${served.url}/a`), {})).body)).toString()).toBe('ok');
    const second = await t.get(new URL(`${served.url}/b`), {});
    expect(second.status).toBe(200);
    expect((await readAll(second.body)).toString()).toBe('ok');
    expect(served.connections()).toBe(2);
    const fresh = transport();
    expect((await fresh.get(new URL(`${served.url}/c`), {})).status).toBe(408);
  });

  it('never reuses a connection that sent bytes past the body', async () => {
    const served = await serve(rawServer((socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcEXTRA')));
    const t = transport();
    expect((await readAll((await t.get(new URL(`${served.url}/a`), {})).body)).toString()).toBe('abc');
    expect((await readAll((await t.get(new URL(`${served.url}/a`), {})).body)).toString()).toBe('abc');
    expect(served.connections()).toBe(2);
  });
});

describe('download socket: failures', () => {
  it('a body cut short errors (never ends as if complete), naming the missing bytes', async () => {
    const served = await serve(
      rawServer((socket) => {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\n\r\n`);
        socket.write(BODY.subarray(0, 1_000_000), () => socket.destroy());
      }),
    );
    const answer = await transport().get(new URL(`${served.url}/cut`), {});
    const error = await failureOf(answer.body);
    expect(error.code).toBe('ECONNRESET');
    expect(error.message).toMatch(/ended the answer early \(\d+ bytes missing\)/);
  });

  it('a chunked body cut short errors too', async () => {
    const served = await serve(rawServer((socket) => socket.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel')));
    const error = await failureOf((await transport().get(new URL(`${served.url}/cut`), {})).body);
    expect(error.message).toMatch(/chunked body unfinished/);
  });

  it('refuses malformed answers with EPROTO: a bad status line, a bad chunk size, two lengths', async () => {
    const answers = ['HTTP/2 200 OK\r\n\r\n', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n'];
    const served = await serve(rawServer((socket, _head, index) => socket.end(answers[index]!)));
    const t = transport();
    await expect(t.get(new URL(`${served.url}/1`), {})).rejects.toMatchObject({ code: 'EPROTO', message: /status line/ });
    const chunked = await t.get(new URL(`${served.url}/2`), {});
    expect(await failureOf(chunked.body)).toMatchObject({ code: 'EPROTO', message: /chunk size/ });
    await expect(t.get(new URL(`${served.url}/3`), {})).rejects.toMatchObject({ code: 'EPROTO', message: /Content-Length/ });
    await expect(t.get(new URL(`${served.url}/4`), {})).rejects.toMatchObject({ code: 'EPROTO', message: /Transfer-Encoding/ });
  });

  it('refuses header values with line breaks and non-http URLs before sending anything', async () => {
    const served = await serve(fileServer());
    const t = transport();
    await expect(t.get(new URL(`${served.url}/file`), { range: 'bytes=0-1\r\nX-Injected: 1' })).rejects.toThrow(TypeError);
    await expect(t.get(new URL('ftp://127.0.0.1/file'), {})).rejects.toThrow(TypeError);
    expect(served.connections()).toBe(0);
  });

  it('a host that never answers fails after the timeout; a refused connection fails at once', async () => {
    const silent = await serve(rawServer(() => {}));
    await expect(transport({ timeoutMs: 300 }).get(new URL(`${silent.url}/x`), {})).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(transport().get(new URL(`http://127.0.0.1:${port}/x`), {})).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('a host dribbling its head a byte at a time (each byte within the timeout) still fails once the timeout has passed without a whole head', async () => {
    const wire = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok';
    const served = await serve(
      rawServer((socket) => {
        let at = 0;
        const drip = setInterval(() => {
          if (socket.destroyed || at >= wire.length) return clearInterval(drip);
          socket.write(wire[at++]!);
        }, 60);
        socket.on('close', () => clearInterval(drip));
      }),
    );
    await expect(transport({ timeoutMs: 1000 }).get(new URL(`${served.url}/x`), {})).rejects.toMatchObject({ code: 'ETIMEDOUT', message: /response head/ });
  });

  it('an abort before the head rejects; an abort mid-body errors the body and drops the connection', async () => {
    const served = await serve(fileServer((req) => req.url === '/hang'));
    const t = transport();
    const early = new AbortController();
    const hanging = t.get(new URL(`${served.url}/hang`), {}, early.signal);
    setTimeout(() => early.abort(), 50);
    await expect(hanging).rejects.toMatchObject({ name: 'AbortError' });

    const late = new AbortController();
    const answer = await t.get(new URL(`${served.url}/file`), {}, late.signal);
    late.abort();
    expect(await failureOf(answer.body)).toMatchObject({ name: 'AbortError' });
    const next = await t.get(new URL(`${served.url}/file`), {});
    expect((await readAll(next.body)).equals(BODY)).toBe(true);
    expect(served.connections()).toBe(3);
  });

  it('a reader that leaves mid-body drops the connection; the next GET gets a fresh one', async () => {
    const served = await serve(fileServer());
    const t = transport();
    const answer = await t.get(new URL(`${served.url}/file`), {});
    for await (const _ of answer.body) break;
    const next = await t.get(new URL(`${served.url}/file`), {});
    expect((await readAll(next.body)).equals(BODY)).toBe(true);
    expect(served.connections()).toBe(2);
  });
});

describe('download socket: back-pressure', () => {
  it('a reader that stops reading stops the host (bounded bytes sent), is not timed out while it holds, and gets every byte after', async () => {
    const total = 256 * 1024 * 1024;
    const block = randomBytes(1024 * 1024);
    const host = repeatingHost(total, block);
    const served = await serve(http.createServer(host.handler));
    const answer = await transport({ timeoutMs: 300 }).get(new URL(`${served.url}/big`), {});
    const first = await new Promise<Buffer>((resolve) => answer.body.once('data', resolve));
    answer.body.pause();
    // Held for more than the timeout: the host has stalled on full socket buffers, and the body is alive.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(host.sent()).toBeLessThan(32 * 1024 * 1024);
    expect(answer.body.destroyed).toBe(false);
    let bytes = first.length;
    let mismatch = 0;
    let at = first.length;
    answer.body.on('data', (chunk: Buffer) => {
      // Every byte is the repeating block at its offset.
      for (let i = 0; i < chunk.length; i += 65_536) if (chunk[i] !== block[(at + i) % block.length]) mismatch++;
      at += chunk.length;
      bytes += chunk.length;
    });
    answer.body.resume();
    await new Promise((resolve, reject) => answer.body.once('end', resolve).once('error', reject));
    expect(bytes).toBe(total);
    expect(mismatch).toBe(0);
  });
});

describe('download socket: https', () => {
  let dir = '';
  let key = '';
  let cert = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dl-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
    key = readFileSync(join(dir, 'key.pem'), 'utf8');
    cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('streams over TLS byte for byte, checks the host name, and refuses an unknown certificate', async () => {
    const server = https.createServer({ key, cert }, fileHandler());
    const served = await serve(server, 'https');
    const port = new URL(served.url).port;
    const t = transport({ tls: { ca: cert } });
    const answer = await t.get(new URL(`https://localhost:${port}/file`), { range: 'bytes=5-' });
    expect(answer.status).toBe(206);
    expect((await readAll(answer.body)).equals(BODY.subarray(5))).toBe(true);
    // The certificate names localhost, not 127.0.0.1.
    await expect(t.get(new URL(`https://127.0.0.1:${port}/file`), {})).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    await expect(transport().get(new URL(`https://localhost:${port}/file`), {})).rejects.toMatchObject({ code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
  });

  it('joins TLS records into large chunks (not one 16 KiB chunk per record) and keeps the last bytes before a close', async () => {
    const server = https.createServer({ key, cert }, fileHandler((req, res) => {
      if (req.url !== '/until-close') return false;
      // No length: the body ends with the connection, right behind its last bytes.
      res.writeHead(200, { connection: 'close' });
      res.end(BODY);
      return true;
    }));
    const served = await serve(server, 'https');
    const port = new URL(served.url).port;
    const t = transport({ tls: { ca: cert } });
    const answer = await t.get(new URL(`https://localhost:${port}/file`), {});
    const chunks: Buffer[] = [];
    for await (const chunk of answer.body as AsyncIterable<Buffer>) chunks.push(chunk);
    expect(Buffer.concat(chunks).equals(BODY)).toBe(true);
    // 5 MiB in 16 KiB records would be 321 chunks.
    expect(chunks.length).toBeLessThan(100);
    const untilClose = await t.get(new URL(`https://localhost:${port}/until-close`), {});
    expect((await readAll(untilClose.body)).equals(BODY)).toBe(true);
  });

  it('over TLS too, a reader that holds the body is not timed out, the host is held back, and every byte arrives after', async () => {
    const total = 96 * 1024 * 1024;
    const block = randomBytes(1024 * 1024);
    const host = repeatingHost(total, block);
    const server = https.createServer({ key, cert }, host.handler);
    const served = await serve(server, 'https');
    const port = new URL(served.url).port;
    const answer = await transport({ timeoutMs: 300, tls: { ca: cert } }).get(new URL(`https://localhost:${port}/big`), {});
    let at = 0;
    let mismatch = 0;
    const onData = (chunk: Buffer): void => {
      for (let i = 0; i < chunk.length; i += 65_536) if (chunk[i] !== block[(at + i) % block.length]) mismatch++;
      at += chunk.length;
    };
    answer.body.once('data', (chunk: Buffer) => {
      onData(chunk);
      answer.body.pause();
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(answer.body.destroyed).toBe(false);
    expect(host.sent()).toBeLessThan(32 * 1024 * 1024);
    answer.body.on('data', onData);
    answer.body.resume();
    await new Promise((resolve, reject) => answer.body.once('end', resolve).once('error', reject));
    expect(at).toBe(total);
    expect(mismatch).toBe(0);
  }, 120_000);
});

describe('download socket: hostile and odd hosts', () => {
  const TOKEN = 'secret-download-token-9f8e7d';

  it('never puts the download path (its token) in an error: a host echoing the request, a malformed header line, a broken chunk', async () => {
    const answers = [
      // An echo (a confused proxy, a debugging server): the "status line" is our request line.
      (socket: net.Socket, head: string) => socket.end(`${head}\r\n\r\n`),
      (socket: net.Socket, head: string) => socket.end(`HTTP/1.1 302 Found\r\nLocation : ${head.split(' ')[1]}\r\n\r\n`),
      (socket: net.Socket, head: string) => socket.end(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${head.split(' ')[1]}\r\n`),
    ];
    const served = await serve(rawServer((socket, head, index) => answers[index]!(socket, head)));
    const t = transport();
    const url = new URL(`${served.url}/${TOKEN}/file.bin`);
    const messages: string[] = [];
    for (const _ of [0, 1]) messages.push(await t.get(url, {}).then(() => 'resolved', (error: Error) => `${error.message} ${String(error.stack)}`));
    messages.push(`${(await failureOf((await t.get(url, {})).body)).message}`);
    expect(messages.length).toBe(3);
    for (const message of messages) {
      expect(message).toMatch(/status line|header line|chunk size/);
      expect(message).not.toContain(TOKEN);
    }
  });

  it('a packet of thousands of interim (1xx) answers neither overflows the stack nor keeps the GET waiting for ever', async () => {
    const interim = 'HTTP/1.1 100 Continue\r\n\r\n'.repeat(80_000);
    const served = await serve(rawServer((socket) => socket.end(`${interim}HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok`)));
    await expect(transport().get(new URL(`${served.url}/x`), {})).rejects.toMatchObject({ code: 'EPROTO', message: /interim/ });
  });

  it('refuses a Content-Length past 2^53 (it could not be counted down exactly) and a NUL in a header value', async () => {
    const answers = ['HTTP/1.1 200 OK\r\nContent-Length: 9007199254740993\r\n\r\nabc', 'HTTP/1.1 200 OK\r\nX-Odd: a\0b\r\nContent-Length: 3\r\n\r\nabc'];
    const served = await serve(rawServer((socket, _head, index) => socket.end(answers[index]!)));
    const t = transport();
    await expect(t.get(new URL(`${served.url}/1`), {})).rejects.toMatchObject({ code: 'EPROTO', message: /Content-Length/ });
    await expect(t.get(new URL(`${served.url}/2`), {})).rejects.toMatchObject({ code: 'EPROTO', message: /header line/ });
  });

  it('frames head, body and the next bytes of one packet, split at every byte boundary, and reuses only when nothing followed', async () => {
    const wire = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
    for (let split = 1; split < wire.length; split++) {
      const served = await serve(
        rawServer((socket) => {
          socket.write(wire.subarray(0, split));
          setTimeout(() => socket.write(wire.subarray(split)), 5);
        }),
      );
      const t = transport();
      const first = await t.get(new URL(`${served.url}/a`), {});
      expect((await readAll(first.body)).toString()).toBe('hello');
      const second = await t.get(new URL(`${served.url}/b`), {});
      expect((await readAll(second.body)).toString()).toBe('hello');
      expect(served.connections()).toBe(1);
    }
  });

  it('HTTP/1.0 keep-alive is reused, HTTP/1.1 Connection: close is not, and a host that resets an idle connection costs only a new one', async () => {
    const answers = ['HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\na', 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nb', 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nc', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nd', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\ne'];
    const sockets: net.Socket[] = [];
    const served = await serve(
      rawServer((socket, _head, index) => {
        sockets.push(socket);
        socket.write(answers[index]!);
      }),
    );
    const t = transport();
    const read = async (): Promise<string> => (await readAll((await t.get(new URL(`${served.url}/x`), {})).body)).toString();
    expect(await read()).toBe('a');
    expect(await read()).toBe('b');
    expect(served.connections()).toBe(1);
    expect(await read()).toBe('c');
    expect(await read()).toBe('d');
    expect(served.connections()).toBe(2);
    // RST the idle connection while it sits in the pool.
    sockets[3]!.resetAndDestroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await read()).toBe('e');
    expect(served.connections()).toBe(3);
  });

  it('an abort between the head and the first body byte errors the body; a body destroyed while paused is never reused', async () => {
    const served = await serve(
      rawServer((socket, head) => {
        if (head.startsWith('GET /stall')) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n');
        else socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\n\r\n`), socket.write(BODY);
      }),
    );
    const t = transport();
    const controller = new AbortController();
    const stalled = await t.get(new URL(`${served.url}/stall`), {}, controller.signal);
    controller.abort();
    expect(await failureOf(stalled.body)).toMatchObject({ name: 'AbortError' });
    const big = await t.get(new URL(`${served.url}/big`), {});
    await new Promise((resolve) => big.body.once('data', resolve));
    big.body.pause();
    big.body.destroy();
    const after = await t.get(new URL(`${served.url}/big`), {});
    expect((await readAll(after.body)).equals(BODY)).toBe(true);
    expect(served.connections()).toBe(3);
  });

  it('the timeout fires while a reused connection waits for the head, and many GETs on one connection add no listeners', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    let stall = false;
    const served = await serve(rawServer((socket) => (stall ? undefined : socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'))));
    const t = transport({ timeoutMs: 500 });
    const signal = new AbortController().signal;
    for (let i = 0; i < 40; i++) expect((await readAll((await t.get(new URL(`${served.url}/x`), {}, signal)).body)).toString()).toBe('ok');
    expect(served.connections()).toBe(1);
    stall = true;
    await expect(t.get(new URL(`${served.url}/x`), {})).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });
  it('an answer with both Transfer-Encoding and Content-Length, or an HTTP/1.0 chunked one, is read by its chunks, and its connection is not reused', async () => {
    const answers = ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n', 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n'];
    const served = await serve(rawServer((socket, _head, index) => socket.write(`${answers[index % 2]!}5\r\nhello\r\n0\r\n\r\n`)));
    const t = transport();
    for (let i = 0; i < 3; i++) expect((await readAll((await t.get(new URL(`${served.url}/x`), {})).body)).toString()).toBe('hello');
    expect(served.connections()).toBe(3);
  });
});

describe('download socket: readers and shutdown', () => {
  it('a reader that destroys the body inside its data handler (inside the socket read) drops the connection cleanly', async () => {
    const served = await serve(fileServer());
    const t = transport();
    for (let i = 0; i < 5; i++) {
      const answer = await t.get(new URL(`${served.url}/file`), {});
      let seen = 0;
      await new Promise<void>((resolve) => {
        answer.body.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > 100_000) answer.body.destroy();
        });
        answer.body.on('close', () => resolve());
      });
    }
    const last = await t.get(new URL(`${served.url}/file`), {});
    expect((await readAll(last.body)).equals(BODY)).toBe(true);
    expect(served.connections()).toBe(6);
  });

  it('an abort during the TLS handshake rejects at once and leaves no socket', async () => {
    // A TCP server that accepts and never says a word: the TLS handshake hangs.
    const served = await serve(rawServer(() => {}));
    const port = new URL(served.url).port;
    const controller = new AbortController();
    const pending = transport().get(new URL(`https://localhost:${port}/x`), {}, controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('download socket: close', () => {
  it('close() leaves no socket and no timer behind once the GETs in progress ended', async () => {
    const count = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TLSWrap' || r === 'Timeout').length;
    const before = count();
    const served = await listen(fileServer());
    const t = new DownloadSockets({ timeoutMs: 30_000 });
    const answers = await Promise.all([0, 1, 2].map(() => t.get(new URL(`${served.url}/file`), { range: 'bytes=0-99' })));
    for (const answer of answers) await readAll(answer.body);
    const midway = await t.get(new URL(`${served.url}/file`), {});
    t.close();
    expect((await readAll(midway.body)).equals(BODY)).toBe(true);
    await served.close();
    for (let i = 0; i < 20 && count() > before; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(count()).toBeLessThanOrEqual(before);
  });
});

describe('download socket: hostile framing that held', () => {
  it('refuses a 10 MB head, a head without a blank line, and chunk sizes past 2^53, negative, with leading space or data not ended by CRLF', async () => {
    const answers = [
      `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(10 * 1024 * 1024)}\r\n\r\n`,
      `HTTP/1.1 200 OK\r\n${'X-Many: b\r\n'.repeat(10_000)}`,
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n20000000000001\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX0\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n',
    ];
    const served = await serve(rawServer((socket, _head, index) => socket.end(answers[index]!)));
    const t = transport();
    await expect(t.get(new URL(`${served.url}/0`), {})).rejects.toMatchObject({ code: 'EPROTO', message: /longer than/ });
    await expect(t.get(new URL(`${served.url}/1`), {})).rejects.toMatchObject({ code: 'EPROTO', message: /longer than/ });
    for (let i = 2; i < answers.length; i++) {
      const answer = await t.get(new URL(`${served.url}/${i}`), {});
      expect(await failureOf(answer.body)).toMatchObject({ code: 'EPROTO' });
    }
  });

  it('a host that closes right after the head, or resets mid-body, errors the body; nothing crashes', async () => {
    const answers = [
      (socket: net.Socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n'),
      (socket: net.Socket) => {
        socket.write(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\n\r\n`);
        socket.write(BODY.subarray(0, 200_000), () => setTimeout(() => socket.resetAndDestroy(), 20));
      },
      (socket: net.Socket) => {
        socket.write('HTTP/1.0 200 OK\r\n\r\npartial');
        setTimeout(() => socket.resetAndDestroy(), 20);
      },
    ];
    const served = await serve(rawServer((socket, _head, index) => answers[index]!(socket)));
    const t = transport();
    for (let i = 0; i < answers.length; i++) {
      const answer = await t.get(new URL(`${served.url}/${i}`), {});
      expect(await failureOf(answer.body)).toMatchObject({ code: 'ECONNRESET' });
    }
  });
});

describe('download socket: the pool under load', () => {
  it('30 concurrent GETs, a third destroyed and a third aborted midway, then 30 more: every byte exact, never a dirty connection reused, at most 8 kept', async () => {
    const served = await serve(fileServer());
    const t = transport({ maxIdlePerOrigin: 8 });
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => void warnings.push(warning);
    process.on('warning', onWarning);
    const range = (i: number): [number, number] => [i * 100_003, i * 100_003 + 1_000_000];
    const round = async (spoil: boolean): Promise<void> => {
      await Promise.all(
        Array.from({ length: 30 }, async (_, i) => {
          const [start, end] = range(i);
          const controller = new AbortController();
          const answer = await t.get(new URL(`${served.url}/file`), { range: `bytes=${start}-${end}` }, controller.signal);
          if (spoil && i % 3 !== 2) {
            await new Promise((resolve) => answer.body.once('data', resolve));
            if (i % 3 === 0) answer.body.destroy();
            else controller.abort();
            return;
          }
          expect((await readAll(answer.body)).equals(BODY.subarray(start, end + 1))).toBe(true);
        }),
      );
    };
    await round(true);
    const afterFirst = served.connections();
    expect(afterFirst).toBe(30);
    await round(false);
    // The ten clean ones of the first round left at most 8 idle; the second round opened the rest.
    expect(served.connections()).toBe(afterFirst + 22);
    await round(false);
    expect(served.connections()).toBe(afterFirst + 44);
    process.off('warning', onWarning);
    expect(warnings).toEqual([]);
  }, 120_000);
});
