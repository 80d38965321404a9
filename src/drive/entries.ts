/**
 * Turns upstream objects and local files into the `DriveEntry` metadata the WebDAV layer serves.
 */
import mime from 'mime-types';
import { fileIdOf } from './duplicate-names.js';
import type { FolderContent, UpstreamFile, UpstreamFolder } from './folder-cache.js';
import type { LocalFile } from './local-state.js';
import type { DriveEntry } from './types.js';

/**
 * A folder's entry. 1fichier gives folders a creation date and no modification date, so a folder
 * shows its creation date. A folder without one (the root always; a sub-folder whose listing had
 * no `create_date`) shows the newest date of what it holds when its listing is cached, else
 * `fallback` (the time the drive started): never 1 January 1970, which Explorer and Finder show.
 */
export function folderEntry(folder: UpstreamFolder, listing: FolderContent | undefined, fallback: Date): DriveEntry {
  const created = folder.created ?? newestDateIn(listing) ?? fallback;
  return { name: folder.name, kind: 'folder', size: 0, modified: created, created, etag: `d${folder.id}` };
}

/** The root's entry: it has no date upstream (see folderEntry). */
export function rootEntry(listing: FolderContent | undefined, fallback: Date): DriveEntry {
  return folderEntry({ id: 0, name: '' }, listing, fallback);
}

/** The newest creation or upload date among a listing's sub-folders and files; undefined when none. */
export function newestDateIn(listing: FolderContent | undefined): Date | undefined {
  let newest: number | undefined;
  const consider = (date: Date | undefined) => {
    const time = date?.getTime();
    if (time !== undefined && time > 0 && (newest === undefined || time > newest)) newest = time;
  };
  for (const folder of listing?.folders ?? []) consider(folder.created);
  for (const file of listing?.files ?? []) consider(file.modified);
  return newest === undefined ? undefined : new Date(newest);
}

export function fileEntry(name: string, file: UpstreamFile): DriveEntry {
  return {
    name,
    kind: 'file',
    size: file.size,
    modified: file.modified,
    created: file.modified,
    // A replaced file gets a new upstream id, so id + size identifies the content at a path.
    etag: `${fileIdOf(file.url)}-${file.size.toString(36)}`,
    contentType: contentTypeOf(name, file.contentType),
    checksum: file.checksum,
  };
}

export function localEntry(name: string, file: LocalFile): DriveEntry {
  const modified = new Date(file.modified);
  return {
    name,
    kind: 'file',
    size: file.size,
    modified,
    created: new Date(file.created),
    etag: `l${modified.getTime().toString(36)}-${file.size.toString(36)}`,
    contentType: contentTypeOf(name, undefined),
  };
}

/** 1fichier's stored type when it is specific, else a guess from the extension. */
export function contentTypeOf(name: string, upstream: string | undefined): string {
  if (upstream && upstream !== 'application/octet-stream') return upstream;
  return mime.lookup(name) || 'application/octet-stream';
}
