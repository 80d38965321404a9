/**
 * The reference hops of bench rows 2 and 2b: the smallest proxies Node can run, forwarding every
 * GET to one fixed download URL. No cache, no budget, no checks.
 *
 * - `pipe`: node:http in, node:http out, `answer.pipe(res)`: the way most Node proxies are written.
 * - `socket`: no HTTP library at all on the byte path: the client's request head is rewritten to
 *   the download URL (and `Connection: close`) and sent on a plain socket, whose bytes (head and
 *   body) go to the client as they are read, into slabs of memory, without a copy. This is the
 *   floor of what a relay written in Node costs per byte on the machine the bench runs on: a
 *   loopback hop adds a receive and a send of every byte, and this one adds nothing else.
 *
 * Started by hop-process.ts as `node hop-child.js <download URL> <pipe|socket>`; prints `port <n>`
 * when listening.
 */
import http from 'node:http';
import net from 'node:net';

const target = process.argv[2];
const mode = process.argv[3] ?? 'pipe';
if (!target || (mode !== 'pipe' && mode !== 'socket')) {
  process.stderr.write('usage: hop-child <download URL> <pipe|socket>\n');
  process.exit(2);
}
const url = new URL(target);

function pipeHop(): net.Server {
  const agent = new http.Agent({ keepAlive: true });
  return http.createServer((req, res) => {
    const upstream = http.get(target!, { agent, headers: req.headers.range ? { range: req.headers.range } : {} }, (answer) => {
      const headers: http.OutgoingHttpHeaders = {};
      for (const name of ['content-length', 'content-range', 'content-type', 'accept-ranges']) {
        const value = answer.headers[name];
        if (value !== undefined) headers[name] = value;
      }
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
  });
}

const SLAB = 1024 * 1024;
const MIN_READ = 64 * 1024;

function socketHop(): net.Server {
  return net.createServer((client) => {
    client.on('error', () => {});
    let head = Buffer.alloc(0);
    const onHead = (data: Buffer): void => {
      head = Buffer.concat([head, data]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.removeListener('data', onHead);
      const range = head
        .subarray(0, end)
        .toString('latin1')
        .split('\r\n')
        .find((line) => /^range:/i.test(line));
      let slab = Buffer.allocUnsafe(SLAB);
      let at = 0;
      const upstream = net.connect({
        host: url.hostname,
        port: Number(url.port) || 80,
        onread: {
          buffer: () => {
            if (slab.length - at < MIN_READ) {
              slab = Buffer.allocUnsafe(SLAB);
              at = 0;
            }
            return slab.subarray(at);
          },
          callback: (bytes: number) => {
            const view = slab.subarray(at, at + bytes);
            at += bytes;
            if (!client.write(view)) {
              upstream.pause();
              client.once('drain', () => upstream.resume());
            }
            return true;
          },
        },
      });
      upstream.on('error', () => client.destroy());
      upstream.on('end', () => client.end());
      client.on('close', () => upstream.destroy());
      upstream.write(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n${range ? `${range}\r\n` : ''}Connection: close\r\n\r\n`);
    };
    client.on('data', onHead);
  });
}

const server = mode === 'pipe' ? pipeHop() : socketHop();
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`port ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
