/**
 * Recording fakes of Jellyfin, Plex and a webhook receiver: one real HTTP server that keeps every
 * request (method, path with query, headers, body) and answers as the real servers document.
 * A test can hold the next answer of a route open, or make it fail, to exercise retries.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  url: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Fakes {
  url: string;
  requests: Recorded[];
  /** Requests whose path is `path` (and method, when given). */
  to(path: string, method?: string): Recorded[];
  /** The next answer to `path`: held until released, then answered with `status`. */
  holdNext(path: string, status: number): { release(): void; arrived: Promise<void> };
  close(): Promise<void>;
}

/** Plex's `GET /library/sections` (JSON form): a movie library rooted where the bridge's /Vidéos is mounted. */
const SECTIONS = {
  MediaContainer: {
    size: 2,
    Directory: [
      { key: '1', type: 'show', title: 'Séries', Location: [{ id: 1, path: '/mnt/fichier/Séries' }] },
      { key: '3', type: 'movie', title: 'Films', Location: [{ id: 3, path: '/mnt/fichier/Vidéos' }] },
    ],
  },
};

export async function startFakes(): Promise<Fakes> {
  const requests: Recorded[] = [];
  const held = new Map<string, { status: number; gate: Promise<void>; arrived: () => void }>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const parsed = new URL(req.url ?? '/', 'http://fake.invalid');
      const record: Recorded = { method: req.method ?? '', url: req.url ?? '', path: parsed.pathname, query: parsed.searchParams, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(record);
      const answer = (status: number) => {
        if (record.path === '/library/sections' && status === 200) {
          res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(SECTIONS));
        } else if (record.path === '/Library/Media/Updated' && status === 200) {
          res.writeHead(204).end();
        } else res.writeHead(status, { 'Content-Type': 'text/plain' }).end(status === 200 ? 'ok' : 'failure');
      };
      const hold = held.get(record.path);
      if (hold) {
        held.delete(record.path);
        hold.arrived();
        void hold.gate.then(() => answer(hold.status));
        return;
      }
      answer(200);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    to: (path, method) => requests.filter((request) => request.path === path && (method === undefined || request.method === method)),
    holdNext(path, status) {
      let release!: () => void;
      let arrived!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const arrival = new Promise<void>((resolve) => (arrived = resolve));
      held.set(path, { status, gate, arrived });
      return { release, arrived: arrival };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
