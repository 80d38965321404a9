/**
 * The media-server side of the bridge, composed: change notifications (Jellyfin/Emby, Plex, a
 * webhook), `--watch` refreshes, and a `.strm` library kept in step (`--strm-dir`). Our own writes
 * and changes found in fresh listings both go through one notifier; the `.strm` sync follows its
 * batches. Nothing here runs on a WebDAV request's path: reports are recorded and sent later.
 */
import type { FichierDrive } from '../drive/fichier-drive.js';
import type { ChangeEvent } from '../notify/events.js';
import { ChangeNotifier, type NotifierOptions } from '../notify/notifier.js';
import { parsePathRule, PathMap } from '../notify/path-map.js';
import { jellyfinTarget, plexTarget, webhookTarget, type Batch, type NotifyTarget } from '../notify/targets.js';
import { startWatching, type Watching } from '../notify/watch.js';
import { syncStrm } from '../strm/sync.js';
import type { Logger } from '../webdav/handler.js';
import type { BridgeMetrics } from './metrics.js';

export interface BridgeNotifyOptions {
  webhook?: string;
  /** Jellyfin or Emby: its URL and an API key (Dashboard → API Keys). */
  jellyfin?: { url: string; apiKey: string };
  /** Plex: its URL and an X-Plex-Token. */
  plex?: { url: string; token: string };
  /** `FROM=TO` rules, optionally `jellyfin:`/`plex:`/`webhook:`-prefixed (src/notify/path-map.ts). */
  pathMap?: string[];
  /** Quiet time before a folder's batch goes out (ms). Default 2 000. */
  debounceMs?: number;
  retry?: NotifierOptions['retry'];
  /** Drive folders listed again every `watchIntervalMs` (default 10 min). */
  watch?: string[];
  watchIntervalMs?: number;
  /** A `.strm` library of `source` kept in `dir`. */
  strm?: { dir: string; source: string };
}

export interface Notifications {
  notifier: ChangeNotifier;
  /** Changes made by our own WebDAV writes. */
  fromBridge(changes: ChangeEvent[]): void;
  /** Changes found in fresh listings (made elsewhere). */
  fromAccount(changes: ChangeEvent[]): void;
  /** Starts the watch and the `.strm` sync once the bridge listens. */
  start(drive: FichierDrive, links: { publicUrl: string; secret: Buffer }): void;
  /** Resolves when the `.strm` library reflects every change reported so far. */
  strmSettled(): Promise<void>;
  watching?: Watching;
  close(): Promise<void>;
}

export function createNotifications(options: BridgeNotifyOptions | undefined, logger: Logger, metrics?: BridgeMetrics): Notifications | undefined {
  if (!options) return undefined;
  const paths = new PathMap((options.pathMap ?? []).map(parsePathRule));
  const targets: NotifyTarget[] = [];
  if (options.jellyfin) targets.push(jellyfinTarget(options.jellyfin.url, options.jellyfin.apiKey, paths));
  if (options.plex) targets.push(plexTarget(options.plex.url, options.plex.token, paths));
  if (options.webhook) targets.push(webhookTarget(options.webhook, paths));
  const watchFolders = options.watch ?? [];
  if (targets.length === 0 && watchFolders.length === 0 && !options.strm) return undefined;

  const strm = options.strm;
  let strmRun: (() => Promise<void>) | undefined;
  let strmRunning: Promise<void> | undefined;
  let strmAgain = false;
  const strmTouches = (batch: Batch): boolean =>
    strm !== undefined &&
    batch.events.some((change) => [change.path, change.oldPath].some((path) => path !== undefined && (strm.source === '/' || path === strm.source || path.startsWith(`${strm.source}/`))));
  const resyncStrm = (): void => {
    if (!strmRun) return;
    if (strmRunning) {
      strmAgain = true;
      return;
    }
    strmRunning = (async () => {
      do {
        strmAgain = false;
        await strmRun!();
      } while (strmAgain);
    })().finally(() => (strmRunning = undefined));
  };

  const notifier = new ChangeNotifier({
    targets,
    debounceMs: options.debounceMs,
    retry: options.retry,
    logger,
    onOutcome: (target, outcome) => metrics?.notify(target, outcome),
    onBatch: (batch) => {
      if (strmTouches(batch)) resyncStrm();
    },
  });
  if (metrics) metrics.sources.notifyPending = () => notifier.pending();
  let watching: Watching | undefined;

  const result: Notifications = {
    notifier,
    fromBridge(changes) {
      metrics?.notifyChangesSeen('bridge', changes.length);
      notifier.notify(changes);
    },
    fromAccount(changes) {
      metrics?.notifyChangesSeen('account', changes.length);
      logger.info('changes found on the account', { changes: changes.length, folder: changes[0]?.path });
      notifier.notify(changes);
    },
    start(drive, links) {
      if (strm) {
        strmRun = async () => {
          try {
            const done = await syncStrm({ drive, source: strm.source, localDir: strm.dir, publicUrl: links.publicUrl, secret: links.secret });
            logger.info('strm: library in step', { dir: strm.dir, source: strm.source, ...done });
          } catch (error) {
            logger.warn('strm: cannot bring the library in step; retried at the next change', { dir: strm.dir, error: error instanceof Error ? error.message : String(error) });
          }
        };
        resyncStrm();
      }
      if (watchFolders.length > 0) {
        watching = startWatching({
          folders: watchFolders,
          intervalMs: options.watchIntervalMs ?? 10 * 60_000,
          refresh: (path) => drive.refreshTree(path),
          logger,
        });
        result.watching = watching;
      }
    },
    async strmSettled() {
      await notifier.flush();
      while (strmRunning) await strmRunning;
    },
    async close() {
      watching?.stop();
      await notifier.close();
      await strmRunning;
    },
  };
  return result;
}
