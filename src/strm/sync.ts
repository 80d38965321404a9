/**
 * `.strm` export: mirrors a drive folder into a local folder where each video is a small `.strm`
 * text file holding its stream link (`<public-url>/stream/<file id>/<name>?sig=…`), and subtitles,
 * .nfo files and artwork are copied beside them, as Jellyfin, Emby and Kodi expect.
 *
 * A manifest (`.fichier-dav-strm.json` in the local folder) remembers which local file stands for
 * which drive file id, so a re-sync:
 * - renames the `.strm` of a video renamed or moved on the account (same id, new place);
 * - removes the `.strm` (and copies) of files that are gone, and the folders this leaves empty;
 * - rewrites nothing that did not change, and never touches a file it did not write.
 * Every file is written to a temporary name and renamed into place: a crash leaves the old file.
 * Links carry no 1fichier token (they would expire in minutes): the bridge resolves them on play.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Drive, DriveEntry } from '../drive/types.js';
import { streamUrl } from '../links/stream-url.js';
import { isSidecar, isVideo, strmNameOf } from './media-kinds.js';

export const MANIFEST_NAME = '.fichier-dav-strm.json';

export interface StrmSyncOptions {
  drive: Drive;
  /** The drive folder to mirror, e.g. '/Vidéos'. */
  source: string;
  /** The local folder the media server scans. */
  localDir: string;
  /** The bridge's address as the media server reaches it. */
  publicUrl: string;
  /** The account's link secret (src/links/secret.ts). */
  secret: Buffer;
  /** Larger sidecar files are not copied (bytes). Default 16 MiB. */
  maxSidecarBytes?: number;
  /** At most this many folders are walked. Default 20 000. */
  maxFolders?: number;
  signal?: AbortSignal;
}

export interface StrmSyncResult {
  /** Videos with a `.strm`. */
  videos: number;
  written: number;
  renamed: number;
  removed: number;
  copied: number;
  unchanged: number;
}

interface ManifestEntry {
  id: string;
  kind: 'strm' | 'copy';
  /** For copies: the drive etag the copy was made from. */
  etag?: string;
}

interface Manifest {
  version: 1;
  source: string;
  entries: Record<string, ManifestEntry>;
}

interface Wanted {
  id: string;
  kind: 'strm' | 'copy';
  /** strm: the file's text. */
  text?: string;
  /** copy: where to read it and its version. */
  drivePath?: string;
  etag?: string;
}

/** Mirrors `source` into `localDir` (see the file comment). Throws DriveError when `source` cannot be listed. */
export async function syncStrm(options: StrmSyncOptions): Promise<StrmSyncResult> {
  const { drive, localDir } = options;
  if (!drive.fileId) throw new Error('this drive has no file ids: .strm links need them');
  await mkdir(localDir, { recursive: true });
  const manifest = await readManifest(localDir, options.source);
  const wanted = await collect(options);
  const result: StrmSyncResult = { videos: 0, written: 0, renamed: 0, removed: 0, copied: 0, unchanged: 0 };
  const oldById = new Map<string, string>();
  for (const [rel, entry] of Object.entries(manifest.entries)) oldById.set(`${entry.kind}:${entry.id}`, rel);
  const next: Manifest = { version: 1, source: options.source, entries: {} };
  const moved = new Set<string>();

  for (const [rel, want] of wanted) {
    if (want.kind === 'strm') result.videos += 1;
    const target = localPath(localDir, rel);
    const previous = manifest.entries[rel];
    let present = previous?.id === want.id && previous.kind === want.kind && (await exists(target));
    let renamedNow = false;
    if (!present) {
      // The same file under another name before: rename the local file (a rename or move upstream).
      const oldRel = oldById.get(`${want.kind}:${want.id}`);
      if (oldRel && oldRel !== rel && !wanted.has(oldRel) && (await exists(localPath(localDir, oldRel)))) {
        await mkdir(dirname(target), { recursive: true });
        await rename(localPath(localDir, oldRel), target);
        moved.add(oldRel);
        result.renamed += 1;
        present = true;
        renamedNow = true;
      }
    }
    if (want.kind === 'strm') {
      const current = present ? await readFile(target, 'utf8').catch(() => undefined) : undefined;
      if (current !== want.text) {
        await writeAtomically(target, want.text!);
        if (!present) result.written += 1;
      } else if (!renamedNow) result.unchanged += 1;
      next.entries[rel] = { id: want.id, kind: 'strm' };
    } else {
      const oldRel = oldById.get(`copy:${want.id}`);
      const sameVersion = present && (renamedNow ? manifest.entries[oldRel!]?.etag : previous?.etag) === want.etag;
      if (!sameVersion) {
        await copyFromDrive(drive, want.drivePath!, target, options.signal);
        result.copied += 1;
      } else if (!renamedNow) result.unchanged += 1;
      next.entries[rel] = { id: want.id, kind: 'copy', etag: want.etag };
    }
  }

  for (const rel of Object.keys(manifest.entries)) {
    if (wanted.has(rel) || moved.has(rel)) continue;
    const path = localPath(localDir, rel);
    if (await exists(path)) {
      await rm(path, { force: true });
      result.removed += 1;
    }
    await pruneEmptyFolders(localDir, dirname(path));
  }
  for (const rel of moved) await pruneEmptyFolders(localDir, dirname(localPath(localDir, rel)));
  await writeAtomically(join(localDir, MANIFEST_NAME), `${JSON.stringify(next, null, 1)}\n`);
  return result;
}

/** What the local folder should hold: relative path → wanted file. */
async function collect(options: StrmSyncOptions): Promise<Map<string, Wanted>> {
  const { drive } = options;
  const wanted = new Map<string, Wanted>();
  const maxSidecar = options.maxSidecarBytes ?? 16 * 1024 ** 2;
  const queue: Array<{ path: string; rel: string[] }> = [{ path: options.source, rel: [] }];
  let folders = 0;
  while (queue.length > 0 && folders < (options.maxFolders ?? 20_000)) {
    const { path, rel } = queue.shift()!;
    folders += 1;
    const entries: DriveEntry[] = await drive.list(path, options.signal);
    const childPath = (name: string) => (path === '/' ? `/${name}` : `${path}/${name}`);
    const taken = new Set<string>();
    const safe = entries.filter((entry) => entry.name !== '' && entry.name !== '.' && entry.name !== '..' && !entry.name.includes('\\') && !entry.name.includes('\0'));
    for (const entry of safe) {
      if (entry.kind === 'folder') {
        queue.push({ path: childPath(entry.name), rel: [...rel, entry.name] });
        continue;
      }
      if (entry.size === 0) continue;
      if (isVideo(entry.name, entry.contentType)) {
        let name = strmNameOf(entry.name);
        // Two videos sharing a base name (x.mkv and x.mp4): the second keeps its extension.
        if (taken.has(name)) name = `${entry.name}.strm`;
        taken.add(name);
        const id = await drive.fileId!(childPath(entry.name), options.signal).catch(() => undefined);
        if (!id) continue;
        wanted.set([...rel, name].join('/'), { id, kind: 'strm', text: `${streamUrl(options.publicUrl, options.secret, id, entry.name)}\n` });
      } else if (isSidecar(entry.name) && entry.size <= maxSidecar) {
        const id = await drive.fileId!(childPath(entry.name), options.signal).catch(() => undefined);
        if (!id) continue;
        wanted.set([...rel, entry.name].join('/'), { id, kind: 'copy', drivePath: childPath(entry.name), etag: entry.etag });
      }
    }
  }
  return wanted;
}

function localPath(localDir: string, rel: string): string {
  return join(localDir, ...rel.split('/'));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function readManifest(localDir: string, source: string): Promise<Manifest> {
  try {
    const data = JSON.parse(await readFile(join(localDir, MANIFEST_NAME), 'utf8')) as Manifest;
    if (data.version === 1 && data.entries && typeof data.entries === 'object') return { version: 1, source: data.source ?? source, entries: data.entries };
  } catch {
    // No manifest yet (first sync) or an unreadable one: start afresh; files we did not list stay untouched.
  }
  return { version: 1, source, entries: {} };
}

async function writeAtomically(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await writeFile(temporary, text, { encoding: 'utf8' });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

async function copyFromDrive(drive: Drive, drivePath: string, target: string, signal?: AbortSignal): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const temporary = `${target}.tmp-${randomBytes(6).toString('hex')}`;
  try {
    await pipeline(await drive.read(drivePath, { signal }), createWriteStream(temporary));
    await rename(temporary, target);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Removes `folder` and its parents up to (not including) `root` while they are empty. */
async function pruneEmptyFolders(root: string, folder: string): Promise<void> {
  let current = folder;
  while (current.startsWith(root + sep) && current !== root) {
    const left = await readdir(current).catch(() => undefined);
    if (!left || left.length > 0) return;
    await rmdir(current).catch(() => undefined);
    current = dirname(current);
  }
}
