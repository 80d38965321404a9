/**
 * The drive's Upstream, with the account's saved listings (src/state/listing-snapshots.ts) in
 * front of folder listings: inside 1fichier's 30 s window, a listing another process of the
 * account made (a serve before its restart, a CLI command, another serve), patched with the
 * writes made since, is reused instead of listing again; when its content is unknown the call
 * waits for the window instead of flooding. Every write is passed through unchanged and then
 * patched into the saved listings.
 */
import type { Readable } from 'node:stream';
import type { FolderContent, LoadPriority, UpstreamFile, UpstreamFolder } from './folder-cache.js';
import { DriveError, type Quota } from './types.js';
import type { UploadRequest, Upstream, UpstreamFileInfo } from './upstream.js';
import type { ListingSnapshots } from '../state/listing-snapshots.js';

export interface SnapshotUpstreamOptions {
  /** The per-folder listing window as applied (nominal 30 s × time scale, plus a margin). */
  listingWindowMs: number;
  /** false: never reuse a saved listing, only respect its window (`ls --fresh`). Default true. */
  reuseListings?: boolean;
  /** Told before a wait worth mentioning. */
  onWait?: (ms: number, why: string) => void;
  sleep?: (ms: number) => Promise<void>;
}

export class SnapshotUpstream implements Upstream {
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly inner: Upstream,
    private readonly ledger: ListingSnapshots,
    private readonly options: SnapshotUpstreamOptions,
  ) {
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async listFolder(folderId: number, priority: LoadPriority): Promise<FolderContent> {
    const saved = this.ledger.listing(folderId);
    if (saved) {
      const age = this.ledger.now() - saved.at;
      if (age >= 0 && age < this.options.listingWindowMs) {
        if (saved.content && this.options.reuseListings !== false) return saved.content;
        const wait = this.options.listingWindowMs - age;
        this.options.onWait?.(wait, "1fichier's listing window for this folder");
        await this.sleep(wait);
      }
    }
    const content = await this.inner.listFolder(folderId, priority);
    this.ledger.recordListing(content);
    return content;
  }

  /** Waits out the folder's window when it is open, then lists (a saved listing may predate a lost answer). */
  async listFolderFresh(folderId: number): Promise<FolderContent> {
    const saved = this.ledger.listing(folderId);
    if (saved) {
      const age = this.ledger.now() - saved.at;
      if (age >= 0 && age < this.options.listingWindowMs) await this.sleep(this.options.listingWindowMs - age);
    }
    const content = await this.inner.listFolder(folderId, 'background');
    this.ledger.recordListing(content);
    return content;
  }

  // Pass-through calls forward every argument, so the port can grow options without this file.
  quota(...args: Parameters<Upstream['quota']>): Promise<Quota> {
    return this.inner.quota(...args);
  }

  downloadLink(...args: Parameters<Upstream['downloadLink']>): Promise<string> {
    return this.inner.downloadLink(...args);
  }

  fileInfo(...args: Parameters<NonNullable<Upstream['fileInfo']>>): Promise<UpstreamFileInfo> {
    if (!this.inner.fileInfo) return Promise.reject(new DriveError('not-found', 'this upstream cannot look files up by id'));
    return this.inner.fileInfo(...args);
  }

  openRange(...args: Parameters<Upstream['openRange']>): Promise<Readable> {
    return this.inner.openRange(...args);
  }

  async upload(...args: Parameters<Upstream['upload']>): Promise<UpstreamFile> {
    const request: UploadRequest = args[1];
    const stored = await this.inner.upload(...args);
    this.ledger.patch(request.folderId, (content) => ({ ...content, files: [...content.files.filter((f) => f.url !== stored.url), stored] }));
    return stored;
  }

  async removeFiles(urls: string[]): Promise<void> {
    await this.inner.removeFiles(urls);
    const gone = new Set(urls);
    for (const url of urls) {
      for (const folderId of this.ledger.foldersHoldingFile(url)) {
        this.ledger.patch(folderId, (content) => ({ ...content, files: content.files.filter((f) => !gone.has(f.url)) }));
      }
    }
  }

  async renameFile(url: string, newName: string): Promise<void> {
    await this.inner.renameFile(url, newName);
    for (const folderId of this.ledger.foldersHoldingFile(url)) {
      this.ledger.patch(folderId, (content) => ({
        ...content,
        files: content.files.map((f) => (f.url === url ? { ...f, name: newName } : f)),
      }));
    }
  }

  async moveFile(url: string, destinationFolderId: number, newName?: string): Promise<string> {
    const sources = this.ledger.foldersHoldingFile(url);
    const before = sources.length > 0 ? this.ledger.fileIn(sources[0], url) : undefined;
    const movedUrl = await this.inner.moveFile(url, destinationFolderId, newName);
    for (const folderId of sources) {
      this.ledger.patch(folderId, (content) => ({ ...content, files: content.files.filter((f) => f.url !== url) }));
    }
    if (before) {
      const moved = { ...before, url: movedUrl, name: newName ?? before.name };
      this.ledger.patch(destinationFolderId, (content) => ({ ...content, files: [...content.files.filter((f) => f.url !== movedUrl), moved] }));
    } else {
      this.ledger.distrust(destinationFolderId);
    }
    return movedUrl;
  }

  async copyFiles(urls: string[], destinationFolderId: number, newName?: string): Promise<string[]> {
    const copies = await this.inner.copyFiles(urls, destinationFolderId, newName);
    const added: UpstreamFile[] = [];
    urls.forEach((url, index) => {
      const source = this.ledger.foldersHoldingFile(url)[0];
      const file = source === undefined ? undefined : this.ledger.fileIn(source, url);
      if (file && copies[index]) added.push({ ...file, url: copies[index], name: newName ?? file.name, modified: new Date(this.ledger.now()) });
    });
    if (added.length === urls.length) {
      this.ledger.patch(destinationFolderId, (content) => ({ ...content, files: [...content.files, ...added] }));
    } else {
      this.ledger.distrust(destinationFolderId);
    }
    return copies;
  }

  async mkdir(parentId: number, name: string): Promise<UpstreamFolder> {
    const folder = await this.inner.mkdir(parentId, name);
    this.ledger.patch(parentId, (content) => ({ ...content, folders: [...content.folders.filter((f) => f.id !== folder.id), folder] }));
    // A brand-new folder is empty: later processes need not list it within the window.
    this.ledger.recordListing({ id: folder.id, name: folder.name, folders: [], files: [] });
    return folder;
  }

  async removeFolder(folderId: number): Promise<void> {
    await this.inner.removeFolder(folderId);
    for (const parentId of this.ledger.foldersHoldingFolder(folderId)) {
      this.ledger.patch(parentId, (content) => ({ ...content, folders: content.folders.filter((f) => f.id !== folderId) }));
    }
    this.ledger.forget(folderId);
  }

  async moveFolder(folderId: number, destinationFolderId: number): Promise<void> {
    const parents = this.ledger.foldersHoldingFolder(folderId);
    const folder = parents.length > 0 ? this.ledger.folderIn(parents[0], folderId) : undefined;
    await this.inner.moveFolder(folderId, destinationFolderId);
    for (const parentId of parents) {
      this.ledger.patch(parentId, (content) => ({ ...content, folders: content.folders.filter((f) => f.id !== folderId) }));
    }
    if (folder) {
      this.ledger.patch(destinationFolderId, (content) => ({ ...content, folders: [...content.folders.filter((f) => f.id !== folderId), folder] }));
    } else {
      this.ledger.distrust(destinationFolderId);
    }
  }

  async renameFolder(folderId: number, newName: string): Promise<void> {
    await this.inner.renameFolder(folderId, newName);
    for (const parentId of this.ledger.foldersHoldingFolder(folderId)) {
      this.ledger.patch(parentId, (content) => ({
        ...content,
        folders: content.folders.map((f) => (f.id === folderId ? { ...f, name: newName } : f)),
      }));
    }
    this.ledger.patch(folderId, (content) => ({ ...content, name: newName }));
  }
}
