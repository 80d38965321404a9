/**
 * Turns upstream objects and local files into the `DriveEntry` metadata the WebDAV layer serves.
 */
import mime from 'mime-types';
import { fileIdOf } from './duplicate-names.js';
import type { UpstreamFile, UpstreamFolder } from './folder-cache.js';
import type { LocalFile } from './local-state.js';
import type { DriveEntry } from './types.js';

/** 1fichier has no folder modification time; folders show their creation time, or this epoch. */
const UNKNOWN_TIME = new Date(0);

export function folderEntry(folder: UpstreamFolder): DriveEntry {
  const created = folder.created ?? UNKNOWN_TIME;
  return { name: folder.name, kind: 'folder', size: 0, modified: created, created, etag: `d${folder.id}` };
}

export function rootEntry(): DriveEntry {
  return { name: '', kind: 'folder', size: 0, modified: UNKNOWN_TIME, created: UNKNOWN_TIME, etag: 'd0' };
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
