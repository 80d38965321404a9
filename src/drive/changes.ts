/**
 * Changes made on the account by someone else (the website, rclone, the CLI, another bridge),
 * found by comparing a folder's previous listing with a fresh one. Our own writes never show up
 * here: they patch the cached listing first (write-through), so the fresh listing agrees with it.
 */
import type { CachedFolder } from './folder-cache.js';

export interface DriveChange {
  event: 'created' | 'modified' | 'deleted' | 'moved';
  /** Drive path (the new one for a move). */
  path: string;
  oldPath?: string;
  kind: 'file' | 'folder';
  size?: number;
  time: Date;
}

/**
 * What changed in the folder at `folderPath` between two listings of it. Files are matched by URL
 * (1fichier keeps a file's URL across renames): same URL with another name is a rename; a URL gone
 * and another come under the same name is a replacement ('modified').
 */
export function listingChanges(folderPath: string, before: CachedFolder, after: CachedFolder, now: Date): DriveChange[] {
  const at = (name: string) => (folderPath === '/' ? `/${name}` : `${folderPath}/${name}`);
  const changes: DriveChange[] = [];
  const oldFiles = new Map(before.files.map((file) => [file.url, file]));
  const newFiles = new Map(after.files.map((file) => [file.url, file]));
  const gone = before.files.filter((file) => !newFiles.has(file.url));
  const goneByName = new Map(gone.map((file) => [file.name, file]));
  for (const file of after.files) {
    const old = oldFiles.get(file.url);
    if (old) {
      if (old.name !== file.name) changes.push({ event: 'moved', path: at(file.name), oldPath: at(old.name), kind: 'file', size: file.size, time: now });
      else if (old.size !== file.size) changes.push({ event: 'modified', path: at(file.name), kind: 'file', size: file.size, time: now });
      continue;
    }
    const replaced = goneByName.get(file.name);
    if (replaced) goneByName.delete(file.name);
    changes.push({ event: replaced ? 'modified' : 'created', path: at(file.name), kind: 'file', size: file.size, time: now });
  }
  for (const file of goneByName.values()) changes.push({ event: 'deleted', path: at(file.name), kind: 'file', size: file.size, time: now });
  const oldFolders = new Map(before.folders.map((folder) => [folder.id, folder]));
  const newIds = new Set(after.folders.map((folder) => folder.id));
  for (const folder of after.folders) {
    const old = oldFolders.get(folder.id);
    if (!old) changes.push({ event: 'created', path: at(folder.name), kind: 'folder', time: now });
    else if (old.name !== folder.name) changes.push({ event: 'moved', path: at(folder.name), oldPath: at(old.name), kind: 'folder', time: now });
  }
  for (const folder of before.folders) {
    if (!newIds.has(folder.id)) changes.push({ event: 'deleted', path: at(folder.name), kind: 'folder', time: now });
  }
  return changes;
}
