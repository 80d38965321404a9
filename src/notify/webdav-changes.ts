/**
 * The bridge's own writes as change events. The WebDAV layer reports each answered write with the
 * account's drive paths (`onWrite`: mount prefix and the user's home already resolved, so a user
 * confined to /Alice who PUTs /a.txt changes /Alice/a.txt), and this turns a successful one into
 * what changed. It runs after the answer is sent, so it never delays a client.
 */
import { isSystemFileName } from '../drive/system-files.js';
import type { AnsweredWrite } from '../webdav/server.js';
import type { ChangeEvent } from './events.js';

/** The changes a successful PUT, DELETE, MKCOL, MOVE or COPY made; [] for failures and other methods. */
export function changesOfWrite(write: AnsweredWrite, time: Date = new Date()): ChangeEvent[] {
  if (write.status < 200 || write.status > 299) return [];
  const { path } = write;
  if (path === '/') return [];
  const changes = ((): ChangeEvent[] => {
    switch (write.method) {
      case 'PUT':
        return [{ event: write.status === 201 ? 'created' : 'modified', path, kind: 'file', ...(write.size !== undefined ? { size: write.size } : {}), time }];
      case 'DELETE':
        return [{ event: 'deleted', path, kind: write.folder ? 'folder' : 'file', time }];
      case 'MKCOL':
        return [{ event: 'created', path, kind: 'folder', time }];
      case 'MOVE':
      case 'COPY': {
        const destination = write.to;
        if (!destination || destination === '/') return [];
        const kind = write.folder ? 'folder' : 'file';
        if (write.method === 'COPY') return [{ event: write.status === 201 ? 'created' : 'modified', path: destination, kind, time }];
        return [{ event: 'moved', path: destination, oldPath: path, kind, time }];
      }
      default:
        return [];
    }
  })();
  // Housekeeping files (.DS_Store, ._*) stay local and interest no media server.
  return changes.filter((change) => !isSystemFileName(change.path.slice(change.path.lastIndexOf('/') + 1)));
}
