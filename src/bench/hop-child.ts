/**
 * The reference hop of bench row 2: the smallest HTTP proxy Node can run (node:http in, node:http
 * out, `pipe`), forwarding every GET to one fixed download URL. No cache, no budget, no checks.
 * Its throughput is the ceiling for any bridge written in Node on the machine the bench runs on:
 * a loopback hop adds a receive and a send copy of every byte, which on 2 cores shared by three
 * busy processes costs about as much CPU as the client and the download host together.
 *
 * Started by hop-process.ts as `node hop-child.js <download URL>`; prints `port <n>` when listening.
 */
import http from 'node:http';

const target = process.argv[2];
if (!target) {
  process.stderr.write('usage: hop-child <download URL>\n');
  process.exit(2);
}
const agent = new http.Agent({ keepAlive: true });
const server = http.createServer((req, res) => {
  const upstream = http.get(target, { agent, headers: req.headers.range ? { range: req.headers.range } : {} }, (answer) => {
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
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`port ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
