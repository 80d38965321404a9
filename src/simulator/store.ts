/**
 * The account's folders and files. Pure bookkeeping: no HTTP, no limits, no faults beyond the two
 * time stamps that model eventual consistency (a file becomes visible in listings at `visibleAt`;
 * a deleted file lingers in listings until `goneAt`).
 */
import { createHash } from 'node:crypto';
import type { ContentSource } from './content.js';
import { fileUrlOf, newFileId } from './ids.js';
import type { ListingOrder } from './options.js';

export interface Acl {
  ip: string[];
  country: string[];
  email: string[];
  premium: 0 | 1;
}

export interface FolderRec {
  id: number;
  name: string;
  /** null only for the root (id 0). */
  parentId: number | null;
  createdAt: number;
  pass: string;
}

export interface FileRec {
  id: string;
  url: string;
  name: string;
  folderId: number;
  /** Anonymous uploads (no valid Bearer) exist on the service but not in the account. */
  owner: 'account' | 'anonymous';
  content: ContentSource;
  contentType: string;
  createdAt: number;
  visibleAt: number;
  deletedAt?: number;
  goneAt?: number;
  pass: string;
  description: string;
  inline: 0 | 1;
  cdn: 0 | 1;
  noSsl: 0 | 1;
  acl: Acl;
  removeCode: string;
}

export function emptyAcl(): Acl {
  return { ip: [], country: [], email: [], premium: 0 };
}

export class Store {
  readonly folders = new Map<number, FolderRec>();
  readonly files = new Map<string, FileRec>();
  private nextFolderId = 3_357_645;

  constructor(createdAt: number) {
    this.folders.set(0, { id: 0, name: 'Root', parentId: null, createdAt, pass: '' });
  }

  folder(id: number): FolderRec | undefined {
    return this.folders.get(id);
  }

  subFolders(id: number): FolderRec[] {
    return [...this.folders.values()].filter((f) => f.parentId === id);
  }

  /** A live file (not deleted), whether or not it is visible in listings yet. */
  file(id: string): FileRec | undefined {
    const f = this.files.get(id);
    return f && f.deletedAt === undefined ? f : undefined;
  }

  /** Files a listing shows at `now`: visible already, or deleted but still lingering. */
  listed(now: number, folderId?: number): FileRec[] {
    const out: FileRec[] = [];
    for (const f of this.files.values()) {
      if (f.owner !== 'account') continue;
      if (folderId !== undefined && f.folderId !== folderId) continue;
      if (now < f.visibleAt) continue;
      if (f.goneAt !== undefined && now >= f.goneAt) continue;
      out.push(f);
    }
    return out;
  }

  /** Whether a folder still holds anything, counting files not yet visible or pending deletion. */
  isOccupied(folderId: number, now: number): boolean {
    if (this.subFolders(folderId).length > 0) return true;
    for (const f of this.files.values()) {
      if (f.owner !== 'account' || f.folderId !== folderId) continue;
      if (f.goneAt !== undefined && now >= f.goneAt) continue;
      return true;
    }
    return false;
  }

  /** Folder path as file/info shows it: names from below the root, '/'-joined ('' for root). */
  pathOf(folderId: number): string {
    const names: string[] = [];
    let cur = this.folders.get(folderId);
    while (cur && cur.parentId !== null) {
      names.unshift(cur.name);
      cur = this.folders.get(cur.parentId);
    }
    return names.join('/');
  }

  isDescendant(candidate: number, ancestor: number): boolean {
    let cur = this.folders.get(candidate);
    while (cur) {
      if (cur.id === ancestor) return true;
      if (cur.parentId === null) return false;
      cur = this.folders.get(cur.parentId);
    }
    return false;
  }

  addFolder(parentId: number, name: string, now: number): FolderRec {
    this.nextFolderId += 1 + Math.floor(Math.random() * 40);
    const rec: FolderRec = { id: this.nextFolderId, name, parentId, createdAt: now, pass: '' };
    this.folders.set(rec.id, rec);
    return rec;
  }

  addFile(init: {
    name: string;
    folderId: number;
    content: ContentSource;
    contentType: string;
    now: number;
    visibleAt?: number;
    owner?: 'account' | 'anonymous';
  }): FileRec {
    let id = newFileId();
    while (this.files.has(id)) id = newFileId();
    init.content.retain();
    const rec: FileRec = {
      id,
      url: fileUrlOf(id),
      name: init.name,
      folderId: init.folderId,
      owner: init.owner ?? 'account',
      content: init.content,
      contentType: init.contentType,
      createdAt: init.now,
      visibleAt: init.visibleAt ?? init.now,
      pass: '',
      description: '',
      inline: 0,
      cdn: 0,
      noSsl: 0,
      acl: emptyAcl(),
      removeCode: init.owner === 'anonymous' ? newFileId().slice(0, 10) : '',
    };
    this.files.set(id, rec);
    return rec;
  }

  copyFile(src: FileRec, folderId: number, name: string, now: number, visibleAt: number): FileRec {
    const copy = this.addFile({ name, folderId, content: src.content, contentType: src.contentType, now, visibleAt });
    return copy;
  }

  /** Marks a file deleted; it keeps showing in listings until `goneAt` (eventual consistency). */
  removeFile(f: FileRec, now: number, goneAt: number): void {
    f.deletedAt = now;
    f.goneAt = goneAt;
    if (goneAt <= now) this.forget(f);
  }

  removeFolder(id: number): void {
    this.folders.delete(id);
  }

  /** Drops deleted files whose linger time is over and releases their bytes. */
  purge(now: number): void {
    for (const f of this.files.values()) {
      if (f.goneAt !== undefined && now >= f.goneAt) this.forget(f);
    }
  }

  private forget(f: FileRec): void {
    if (this.files.delete(f.id)) f.content.release();
  }

  /** Releases every stored byte (on close). */
  clear(): void {
    for (const f of [...this.files.values()]) this.forget(f);
  }

  usedBytes(): number {
    let n = 0;
    for (const f of this.files.values()) if (f.owner === 'account' && f.deletedAt === undefined) n += f.content.size;
    return n;
  }
}

/** Listing order: never by name unless asked, so clients relying on order get caught. The
 * 'hashed' order is a deterministic shuffle: stable between calls, unrelated to names or dates. */
export function orderFiles(files: FileRec[], order: ListingOrder, seed: number): FileRec[] {
  const arr = [...files];
  switch (order) {
    case 'name':
      return arr.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    case 'newest-first':
      return arr.sort((a, b) => b.createdAt - a.createdAt);
    case 'oldest-first':
      return arr.sort((a, b) => a.createdAt - b.createdAt);
    case 'hashed': {
      const key = (f: FileRec): string => createHash('sha1').update(`${seed}:${f.id}`).digest('hex');
      return arr.map((f) => [key(f), f] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1)).map((x) => x[1]);
    }
  }
}

export function orderFolders(folders: FolderRec[], order: ListingOrder, seed: number): FolderRec[] {
  const arr = [...folders];
  if (order === 'name') return arr.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (order === 'newest-first') return arr.sort((a, b) => b.createdAt - a.createdAt || b.id - a.id);
  if (order === 'oldest-first') return arr.sort((a, b) => a.createdAt - b.createdAt || a.id - b.id);
  const key = (f: FolderRec): string => createHash('sha1').update(`${seed}:d${f.id}`).digest('hex');
  return arr.map((f) => [key(f), f] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1)).map((x) => x[1]);
}
