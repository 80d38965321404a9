/**
 * Maps drive paths to upstream objects (folder ids, file URLs) through the folder cache: walking a
 * path costs at most one listing per folder on it, and nothing once those listings are cached.
 */
import { assignVisibleNames, resolveNormalisedName, resolveVisibleName } from './duplicate-names.js';
import type { CachedFolder, FolderCache, UpstreamFile, UpstreamFolder } from './folder-cache.js';
import { nameKey, splitPath } from './paths.js';
import { DriveError } from './types.js';

export type Resolved =
  | { kind: 'folder'; id: number; parentId: number | undefined; folder: UpstreamFolder; listing?: CachedFolder }
  | { kind: 'file'; parentId: number; file: UpstreamFile }
  | { kind: 'missing'; parentId: number; name: string };

export const ROOT_ID = 0;

export class Resolver {
  /**
   * visibleFiles per listing. A cached listing is never changed in place (the folder cache
   * replaces the object on every patch and refresh), so its map holds as long as the object lives;
   * without this, every stat of a file in a 5000-file folder sorted the whole folder again.
   */
  private readonly visible = new WeakMap<CachedFolder, Map<string, UpstreamFile>>();

  constructor(private readonly folders: FolderCache) {}

  /**
   * The visible name → file map of a folder listing (see duplicate-names.ts for the rule).
   * Shared between callers: read it, never change it.
   */
  visibleFiles(listing: CachedFolder): ReadonlyMap<string, UpstreamFile> {
    let visible = this.visible.get(listing);
    if (!visible) {
      visible = assignVisibleNames(listing.files, new Set(listing.folders.map((folder) => folder.name)));
      this.visible.set(listing, visible);
    }
    return visible;
  }

  /**
   * Resolves a path. Intermediate segments must be folders: a missing one (or a file in its
   * place) is a 409 'conflict' for writes and a 404 for reads, so the error says which.
   * `priority`: who waits for the listings it needs (a write passes 'write', see folder-cache.ts).
   */
  async resolve(path: string, priority: 'interactive' | 'write' = 'interactive'): Promise<Resolved> {
    const parts = splitPath(path);
    let folder: UpstreamFolder = { id: ROOT_ID, name: '' };
    let parentId: number | undefined;
    for (let index = 0; index < parts.length; index += 1) {
      const name = parts[index];
      const listing = await this.folders.get(folder.id, priority);
      const last = index === parts.length - 1;
      // The exact name first (a folder, then on the last segment a file); only then the
      // normalised one, so of two names that differ only in NFC/NFD each keeps its own path.
      const visible = last ? this.visibleFiles(listing) : undefined;
      const exactFile = visible && !hasFolder(listing, name) ? resolveVisibleName(visible, listing.files, name) : undefined;
      if (exactFile) return { kind: 'file', parentId: folder.id, file: exactFile };
      const sub = findFolder(listing, name);
      if (sub) {
        parentId = folder.id;
        folder = sub;
        continue;
      }
      if (!last) {
        throw new DriveError('conflict', `"${parts.slice(0, index + 1).join('/')}" is not a folder`);
      }
      const file = visible && resolveNormalisedName(visible, listing.files, name);
      if (file) return { kind: 'file', parentId: folder.id, file };
      return { kind: 'missing', parentId: folder.id, name };
    }
    return { kind: 'folder', id: folder.id, parentId, folder };
  }

  /** The folder a new child of `path`'s parent goes into; 'conflict' when the parent is missing. */
  async parentFolderId(parentPath: string, priority: 'interactive' | 'write' = 'interactive'): Promise<number> {
    const resolved = await this.resolve(parentPath, priority).catch((error: unknown) => {
      if (error instanceof DriveError && error.code === 'conflict') {
        throw new DriveError('conflict', `the parent folder ${parentPath} does not exist`);
      }
      throw error;
    });
    if (resolved.kind !== 'folder') throw new DriveError('conflict', `the parent folder ${parentPath} does not exist`);
    return resolved.id;
  }
}

function hasFolder(listing: CachedFolder, name: string): boolean {
  return listing.folders.some((candidate) => candidate.name === name);
}

/** The sub-folder called `name`: exactly, else under Unicode normalisation (NFD ↔ NFC). */
function findFolder(listing: CachedFolder, name: string): UpstreamFolder | undefined {
  const exact = listing.folders.find((candidate) => candidate.name === name);
  if (exact) return exact;
  const key = nameKey(name);
  return listing.folders.find((candidate) => nameKey(candidate.name) === key);
}
