/**
 * The three kinds of notification target. Each turns one folder's batch of changes into the
 * request its server documents, with the paths mapped to what that server sees; a batch with no
 * path inside the target's mapping sends nothing. A send that fails throws (the notifier retries).
 *
 * - Jellyfin / Emby: `POST /Library/Media/Updated` `{"Updates":[{"Path","UpdateType"}]}` with the
 *   API key as `X-Emby-Token` and as `Authorization: MediaBrowser Token="…"` (Jellyfin's documented
 *   scheme; Emby reads the former). UpdateType is Created, Modified or Deleted; a move is the old
 *   path Deleted and the new one Created.
 * - Plex: the library section whose folder (`Location path`) holds the changed folder, from
 *   `GET /library/sections`, then `GET /library/sections/{key}/refresh?path=<folder>` (a partial
 *   scan of that folder), both with `X-Plex-Token`.
 * - Webhook: `POST` of `{"folder", "events":[{"event","path","oldPath","size","time"}]}`.
 */
import type { ChangeEvent } from './events.js';
import { parentPath } from './events.js';
import type { PathMap, TargetName } from './path-map.js';

export interface Batch {
  /** The drive folder the changes happened in. */
  folder: string;
  events: ChangeEvent[];
}

export interface NotifyTarget {
  name: TargetName;
  /** Where requests go, without credentials (for logs). */
  describe: string;
  /** Sends the batch; resolves when the server accepted it, rejects otherwise. */
  send(batch: Batch, signal: AbortSignal): Promise<void>;
}

export class NotifyHttpError extends Error {
  override readonly name = 'NotifyHttpError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function expectOk(response: Response, what: string): Promise<void> {
  // The body is drained so the connection is reused; its text is not logged (it may echo secrets).
  await response.arrayBuffer().catch(() => undefined);
  if (response.status < 200 || response.status > 299) throw new NotifyHttpError(response.status, `${what} answered HTTP ${response.status}`);
}

function base(url: string): string {
  return url.replace(/\/+$/, '');
}

function originOf(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '');
  } catch {
    return '(invalid URL)';
  }
}

export function jellyfinTarget(url: string, apiKey: string, paths: PathMap): NotifyTarget {
  return {
    name: 'jellyfin',
    describe: originOf(url),
    async send(batch, signal) {
      const updates: Array<{ Path: string; UpdateType: 'Created' | 'Modified' | 'Deleted' }> = [];
      const add = (path: string | undefined, type: 'Created' | 'Modified' | 'Deleted') => {
        const mapped = path === undefined ? undefined : paths.map('jellyfin', path);
        if (mapped !== undefined && !updates.some((u) => u.Path === mapped && u.UpdateType === type)) updates.push({ Path: mapped, UpdateType: type });
      };
      for (const change of batch.events) {
        if (change.event === 'moved') {
          add(change.oldPath, 'Deleted');
          add(change.path, 'Created');
        } else add(change.path, change.event === 'created' ? 'Created' : change.event === 'modified' ? 'Modified' : 'Deleted');
      }
      if (updates.length === 0) return;
      const response = await fetch(`${base(url)}/Library/Media/Updated`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Emby-Token': apiKey, Authorization: `MediaBrowser Token="${apiKey}"` },
        body: JSON.stringify({ Updates: updates }),
        signal,
      });
      await expectOk(response, 'Jellyfin');
    },
  };
}

interface PlexSection {
  key: string;
  locations: string[];
}

export function plexTarget(url: string, token: string, paths: PathMap, options: { sectionsTtlMs?: number; now?: () => number } = {}): NotifyTarget {
  const now = options.now ?? Date.now;
  let sections: { list: PlexSection[]; at: number } | undefined;
  const headers = { 'X-Plex-Token': token, Accept: 'application/json' };
  const loadSections = async (signal: AbortSignal, fresh: boolean): Promise<PlexSection[]> => {
    if (!fresh && sections && now() - sections.at < (options.sectionsTtlMs ?? 10 * 60_000)) return sections.list;
    const response = await fetch(`${base(url)}/library/sections`, { headers, signal });
    if (response.status < 200 || response.status > 299) await expectOk(response, 'Plex (library sections)');
    const list = parseSections(await response.text());
    sections = { list, at: now() };
    return list;
  };
  return {
    name: 'plex',
    describe: originOf(url),
    async send(batch, signal) {
      // Plex scans folders: the folders the batch touched (a move also touches its old folder).
      const folders = new Set<string>();
      for (const change of batch.events) {
        folders.add(parentPath(change.path));
        if (change.oldPath) folders.add(parentPath(change.oldPath));
      }
      const mapped = [...folders].map((folder) => paths.map('plex', folder)).filter((folder): folder is string => folder !== undefined);
      if (mapped.length === 0) return;
      for (const folder of new Set(mapped)) {
        let section = sectionOf(await loadSections(signal, false), folder);
        // A library added since the last look: ask again once before giving up on this folder.
        if (!section) section = sectionOf(await loadSections(signal, true), folder);
        if (!section) continue;
        const response = await fetch(`${base(url)}/library/sections/${encodeURIComponent(section.key)}/refresh?path=${encodeURIComponent(folder)}`, { headers, signal });
        await expectOk(response, 'Plex (refresh)');
      }
    },
  };
}

/** The section whose location holds `folder` (the longest location wins). */
function sectionOf(list: PlexSection[], folder: string): PlexSection | undefined {
  let best: { section: PlexSection; length: number } | undefined;
  for (const section of list) {
    for (const location of section.locations) {
      const root = location.replace(/[\\/]+$/, '');
      const inside = folder === root || folder.startsWith(`${root}/`) || folder.startsWith(`${root}\\`);
      if (inside && (!best || root.length > best.length)) best = { section, length: root.length };
    }
  }
  return best?.section;
}

/** `GET /library/sections` as JSON (asked with Accept) or, from servers ignoring Accept, XML. */
export function parseSections(text: string): PlexSection[] {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) {
    const data = JSON.parse(trimmed) as { MediaContainer?: { Directory?: Array<{ key?: unknown; Location?: Array<{ path?: unknown }> }> } };
    return (data.MediaContainer?.Directory ?? [])
      .filter((directory) => directory.key !== undefined)
      .map((directory) => ({
        key: String(directory.key),
        locations: (directory.Location ?? []).map((location) => String(location.path ?? '')).filter((path) => path !== ''),
      }));
  }
  const list: PlexSection[] = [];
  for (const match of trimmed.matchAll(/<Directory\b([^>]*)>([\s\S]*?)<\/Directory>/g)) {
    const key = /\bkey="([^"]*)"/.exec(match[1]!)?.[1];
    if (!key) continue;
    const locations = [...match[2]!.matchAll(/<Location\b[^>]*\bpath="([^"]*)"/g)].map((location) => unescapeXml(location[1]!));
    list.push({ key: unescapeXml(key), locations });
  }
  return list;
}

function unescapeXml(text: string): string {
  return text.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export function webhookTarget(url: string, paths: PathMap): NotifyTarget {
  return {
    name: 'webhook',
    describe: originOf(url),
    async send(batch, signal) {
      const events = batch.events
        .map((change) => ({
          event: change.event,
          kind: change.kind,
          path: paths.map('webhook', change.path),
          oldPath: change.oldPath === undefined ? null : (paths.map('webhook', change.oldPath) ?? null),
          size: change.size ?? null,
          time: change.time.toISOString(),
        }))
        .filter((change) => change.path !== undefined);
      if (events.length === 0) return;
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': 'fichier-dav' },
        body: JSON.stringify({ folder: paths.map('webhook', batch.folder) ?? batch.folder, events }),
        signal,
      });
      await expectOk(response, 'the webhook');
    },
  };
}
