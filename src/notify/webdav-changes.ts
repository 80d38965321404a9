/**
 * The bridge's own writes as change events: a request listener wrapper that, when a PUT, MOVE,
 * COPY, DELETE or MKCOL has answered with success, reports what it changed. It reads only the
 * request line, two headers and the status, so it costs nothing and never delays the answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isSystemFileName } from '../drive/system-files.js';
import type { ChangeEvent } from './events.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/** A request path (percent-encoded, maybe absolute-URI) as a decoded drive path; undefined when unusable. */
export function drivePathOf(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  let pathname: string;
  try {
    pathname = raw.startsWith('/') ? raw.split('?')[0]! : new URL(raw).pathname;
    const segments = pathname.split('/').filter((segment) => segment !== '').map((segment) => decodeURIComponent(segment));
    return `/${segments.join('/')}`;
  } catch {
    return undefined;
  }
}

function changesOf(req: IncomingMessage, status: number): ChangeEvent[] {
  if (status < 200 || status > 299) return [];
  const path = drivePathOf(req.url);
  if (!path || path === '/') return [];
  const time = new Date();
  const folderish = (req.url ?? '').split('?')[0]!.endsWith('/');
  const length = Number(req.headers['content-length']);
  const size = Number.isSafeInteger(length) && length >= 0 ? length : undefined;
  switch (req.method) {
    case 'PUT':
      return [{ event: status === 201 ? 'created' : 'modified', path, kind: 'file', ...(size !== undefined ? { size } : {}), time }];
    case 'DELETE':
      return [{ event: 'deleted', path, kind: folderish ? 'folder' : 'file', time }];
    case 'MKCOL':
      return [{ event: 'created', path, kind: 'folder', time }];
    case 'MOVE':
    case 'COPY': {
      const destination = drivePathOf(req.headers.destination as string | undefined);
      if (!destination || destination === '/') return [];
      const kind = folderish ? 'folder' : 'file';
      if (req.method === 'COPY') return [{ event: status === 201 ? 'created' : 'modified', path: destination, kind, time }];
      return [{ event: 'moved', path: destination, oldPath: path, kind, time }];
    }
    default:
      return [];
  }
}

/** Wraps `handler`; `report` gets the changes of each successful write once its answer is sent. */
export function withChangeEvents(handler: Listener, report: (changes: ChangeEvent[]) => void): Listener {
  return (req, res) => {
    const method = req.method ?? '';
    if (method === 'PUT' || method === 'DELETE' || method === 'MKCOL' || method === 'MOVE' || method === 'COPY') {
      res.once('finish', () => {
        // Housekeeping files (.DS_Store, ._*) stay local and interest no media server.
        const changes = changesOf(req, res.statusCode).filter((change) => !isSystemFileName(change.path.slice(change.path.lastIndexOf('/') + 1)));
        if (changes.length > 0) report(changes);
      });
    }
    handler(req, res);
  };
}
