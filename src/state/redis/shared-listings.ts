/**
 * Folder listings shared by the bridges of an account through Redis. 1fichier lets the whole
 * account list one folder once per 30 s; without this, a bridge B that needs a folder bridge A has
 * just listed would wait out the rest of the window (a browsing storm spread over three bridges
 * would make clients wait up to 30 s per folder). With it, A's listing is stored in Redis for the
 * window and B uses it, so the folder is listed once for all three.
 *
 * - `listing:<folder id>`: the listing as JSON, expiring with the window (`listingWindowMs`).
 * - `listing-lock:<folder id>`: taken (SET NX PX) by the one bridge that lists it now; the others
 *   wait for its answer in Redis instead of queueing behind the window (a cross-bridge single
 *   flight). A lister that dies frees it after `flightMs`.
 * - Writes made since the listing are not in it: each bridge applies them on top (the folder
 *   cache's overlay, fed by the cache bus), as it does with its own writes and a lagging listing.
 * - Redis unreachable: the inner upstream is used directly (the failover budget then decides).
 * - A listing is stored with the time it was made (`listedAt`); one made before `notBefore()` (a
 *   bridge that missed cache changes beyond recall) is not reused: it may miss a write.
 */
import type { FolderContent, UpstreamFile, UpstreamFolder } from '../../drive/folder-cache.js';
import type { Upstream } from '../../drive/upstream.js';
import type { RedisLink } from './connection.js';

export interface SharedListingsOptions {
  /** The per-folder window as applied (30 s × time scale plus margin), ms. */
  listingWindowMs: number;
  /** Longest wait for another bridge's listing in flight before listing ourselves. Default 25 000. */
  flightMs?: number;
  /** Wall-clock ms: shared listings made before it are not reused. Default: all are. */
  notBefore?: () => number;
}

/** What `listing:<folder id>` holds. */
interface StoredListing extends FolderContent {
  listedAt?: number;
}

/** Dates travel as ISO strings. */
export function reviveFile(file: UpstreamFile): UpstreamFile {
  return { ...file, modified: new Date(file.modified) };
}

export function reviveFolder(folder: UpstreamFolder): UpstreamFolder {
  return folder.created ? { ...folder, created: new Date(folder.created) } : folder;
}

function reviveContent(content: FolderContent): FolderContent {
  return { ...content, files: content.files.map(reviveFile), folders: content.folders.map(reviveFolder) };
}

/** `inner` with listings shared through Redis; every other call passes through unchanged. */
export function shareListings(inner: Upstream, link: RedisLink, options: SharedListingsOptions): Upstream {
  const flightMs = options.flightMs ?? 25_000;
  const windowMs = Math.max(1, Math.round(options.listingWindowMs));
  const read = async (folderId: number): Promise<FolderContent | undefined> => {
    const text = await link.client.get(link.key(`listing:${folderId}`));
    if (!text) return undefined;
    const { listedAt, ...content } = JSON.parse(text) as StoredListing;
    if ((listedAt ?? 0) < (options.notBefore?.() ?? 0)) return undefined;
    return reviveContent(content);
  };
  const listFolder: Upstream['listFolder'] = async (folderId, priority) => {
    if (!link.health.isUp()) return inner.listFolder(folderId, priority);
    try {
      const saved = await read(folderId);
      if (saved) return saved;
      const lockKey = link.key(`listing-lock:${folderId}`);
      const started = Date.now();
      let delay = 20;
      while ((await link.client.set(lockKey, '1', 'PX', flightMs, 'NX')) !== 'OK') {
        if (Date.now() - started > flightMs) break;
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay = Math.min(delay * 2, 250);
        const listed = await read(folderId);
        if (listed) return listed;
      }
      try {
        const listedAt = Date.now();
        const content = await inner.listFolder(folderId, priority);
        const stored: StoredListing = { ...content, listedAt };
        await link.client.set(link.key(`listing:${folderId}`), JSON.stringify(stored), 'PX', windowMs).catch(() => {});
        return content;
      } finally {
        await link.client.del(lockKey).catch(() => {});
      }
    } catch (error) {
      // Redis failed midway: list through the inner upstream (the budget decides whether it may).
      if (isRedisFailure(error)) return inner.listFolder(folderId, priority);
      throw error;
    }
  };
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'listFolder') return listFolder;
      const value = Reflect.get(target, property, receiver) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Errors of the Redis client (connection closed, timeout), as opposed to the upstream's own. */
function isRedisFailure(error: unknown): boolean {
  const name = (error as Error | undefined)?.name ?? '';
  const message = (error as Error | undefined)?.message ?? '';
  return name === 'ReplyError' || name === 'MaxRetriesPerRequestError' || /Connection is closed|Command timed out|Stream isn't writeable|enableOfflineQueue/i.test(message);
}
