/** JSON shapes of files and folders as the listings and file/info show them. */
import { formatParis } from '../paris-time.js';
import type { FileRec, FolderRec, Store } from '../store.js';

/** The fields listings and file/info share. */
function fileCore(f: FileRec): Record<string, unknown> {
  return {
    url: f.url,
    filename: f.name,
    size: f.content.size,
    date: formatParis(f.createdAt),
    checksum: f.content.whirlpool,
    'content-type': f.contentType,
    pass: f.pass ? 1 : 0,
    cdn: f.cdn,
  };
}

export function fileItem(f: FileRec): Record<string, unknown> {
  // `acl` is a 0/1 flag in listings, an object in file/info (fichier-api.md §4.3).
  return { ...fileCore(f), acl: hasAcl(f) ? 1 : 0 };
}

export function hasAcl(f: FileRec): boolean {
  return f.acl.ip.length + f.acl.country.length + f.acl.email.length > 0 || f.acl.premium === 1;
}

export function fileInfo(f: FileRec, store: Store): Record<string, unknown> {
  return {
    ...fileCore(f),
    description: f.description,
    inline: f.inline,
    no_ssl: f.noSsl,
    folder_id: f.folderId,
    path: store.pathOf(f.folderId),
    acl: { ip: [...f.acl.ip], country: [...f.acl.country], email: [...f.acl.email], premium: f.acl.premium },
  };
}

export function subFolderItem(d: FolderRec): Record<string, unknown> {
  return { id: d.id, name: d.name, create_date: formatParis(d.createdAt), pass: d.pass ? 1 : 0 };
}
