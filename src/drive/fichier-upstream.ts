/**
 * The drive's `Upstream` port over the 1fichier client: applies the name codec (real names in the
 * drive, rclone-compatible encoded names on the wire), converts listings, checks that a ranged GET
 * really answered the range asked for, and turns the client's typed errors into DriveErrors the
 * WebDAV layer can answer with the right status.
 */
import type { Readable } from 'node:stream';
import {
  AccountLockedError,
  AuthError,
  DownloadLinkError,
  FichierError,
  FloodError,
  ForbiddenError,
  IntegrityError,
  NotFoundError,
  NotPremiumError,
  TransientError,
  UploadRefusedError,
  decodeName,
  encodeName,
  type FichierClient,
  type FileItem,
  type Priority,
} from '../fichier/index.js';
import type { FolderContent, LoadPriority, UpstreamFile, UpstreamFolder } from './folder-cache.js';
import { DriveError, type Quota } from './types.js';
import { LinkRefusedError, type UploadRequest, type Upstream } from './upstream.js';

export interface FichierUpstreamOptions {
  /** Ask for single-use download links (get_token single:1). Default false: links are reused. */
  singleUseLinks?: boolean;
  /** Seconds a client is told to wait when 1fichier floods or is unreachable. */
  retryAfterSeconds?: number;
}

export class FichierUpstream implements Upstream {
  constructor(
    private readonly client: FichierClient,
    private readonly options: FichierUpstreamOptions = {},
  ) {}

  listFolder(folderId: number, priority: LoadPriority): Promise<FolderContent> {
    return this.call('list a folder', async () => {
      const listing = await this.client.listFolder(folderId, { files: true, priority: toPriority(priority) });
      return {
        id: listing.folderId,
        name: folderId === 0 ? '' : decodeName(listing.name),
        folders: listing.subFolders.map(
          (folder): UpstreamFolder => ({ id: folder.id, name: decodeName(folder.name), created: folder.createDate }),
        ),
        files: listing.files.map(toUpstreamFile),
      };
    });
  }

  quota(): Promise<Quota> {
    return this.call('read the account quota', async () => {
      const info = await this.client.userInfo({ priority: 'background' });
      // As rclone's `about`: used = cold_storage, total = available_cold_storage.
      const used = info.coldStorage ?? info.hotStorage ?? 0;
      const total = info.availableColdStorage ?? info.allowedColdStorage ?? 0;
      return { usedBytes: used, availableBytes: Math.max(0, total - used) };
    });
  }

  downloadLink(fileUrl: string, signal?: AbortSignal): Promise<string> {
    return this.call('get a download link', () =>
      this.client.getDownloadToken(fileUrl, { single: this.options.singleUseLinks ?? false, signal }),
    );
  }

  async openRange(directUrl: string, range: { start: number; end: number }, signal: AbortSignal): Promise<Readable> {
    const response = await this.call('download', () => this.client.openDownload(directUrl, { range, signal }), true);
    const expectedLength = range.end - range.start + 1;
    if (response.status === 206) {
      const contentRange = String(response.headers['content-range'] ?? '');
      const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(contentRange);
      if (match && Number(match[1]) === range.start) return response.body;
    } else if (response.status === 200 && range.start === 0) {
      // A whole-file answer to a range from byte 0 is fine: the reader stops after `end`.
      return response.body;
    }
    response.body.destroy();
    throw new DriveError(
      'upstream',
      `1fichier's download host answered ${response.status} instead of the range ${range.start}-${range.end} (${expectedLength} bytes)`,
    );
  }

  upload(body: Readable, request: UploadRequest): Promise<UpstreamFile> {
    return this.call('upload', async () => {
      const result = await this.client.upload(body, {
        size: request.size,
        name: encodeName(request.name),
        folderId: request.folderId,
        signal: request.signal,
      });
      return {
        url: result.url,
        name: decodeName(result.filename),
        size: result.size,
        modified: new Date(),
        checksum: result.whirlpool,
      };
    });
  }

  async removeFiles(urls: string[]): Promise<void> {
    await this.call('remove files', () => this.client.removeFiles(urls));
  }

  async renameFile(url: string, newName: string): Promise<void> {
    await this.call('rename a file', () => this.client.renameFile(url, encodeName(newName)));
  }

  moveFile(url: string, destinationFolderId: number, newName?: string): Promise<string> {
    return this.call('move a file', async () => {
      const moved = await this.client.moveFiles([url], destinationFolderId, {
        rename: newName === undefined ? undefined : encodeName(newName),
      });
      return moved.urls[0] ?? url;
    });
  }

  copyFiles(urls: string[], destinationFolderId: number, newName?: string): Promise<string[]> {
    return this.call('copy files', async () => {
      const copied = await this.client.copyFiles(urls, destinationFolderId, {
        rename: newName === undefined ? undefined : encodeName(newName),
      });
      const bySource = new Map(copied.urls.map((pair) => [pair.from, pair.to]));
      return urls.map((url, index) => bySource.get(url) ?? copied.urls[index]?.to ?? '');
    });
  }

  mkdir(parentId: number, name: string): Promise<UpstreamFolder> {
    return this.call('create a folder', async () => {
      const created = await this.client.mkdir(encodeName(name), parentId);
      return { id: created.folderId, name, created: new Date() };
    });
  }

  async removeFolder(folderId: number): Promise<void> {
    await this.call('remove a folder', () => this.client.removeFolder(folderId));
  }

  async moveFolder(folderId: number, destinationFolderId: number): Promise<void> {
    await this.call('move a folder', () => this.client.moveFolder(folderId, { destinationFolderId }));
  }

  async renameFolder(folderId: number, newName: string): Promise<void> {
    await this.call('rename a folder', () => this.client.moveFolder(folderId, { rename: encodeName(newName) }));
  }

  /** Runs one client call and translates its failure into a DriveError. */
  private async call<T>(what: string, run: () => Promise<T>, download = false): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.translate(what, error, download);
    }
  }

  private translate(what: string, error: unknown, download: boolean): Error {
    if (error instanceof DriveError) return error;
    if (download && error instanceof DownloadLinkError) return new LinkRefusedError(error.message);
    if (!(error instanceof FichierError)) {
      if (error instanceof RangeError || error instanceof TypeError) return new DriveError('bad-request', error.message);
      return error instanceof Error ? error : new Error(String(error));
    }
    const retryAfter = this.options.retryAfterSeconds ?? 30;
    const detail = `cannot ${what}: ${error.serverMessage ?? error.message}`;
    if (error instanceof NotFoundError) return new DriveError('not-found', detail);
    if (error instanceof ForbiddenError) return new DriveError('forbidden', detail);
    if (error instanceof FloodError || error instanceof TransientError || error instanceof AccountLockedError) {
      return new DriveError('unavailable', `1fichier is not answering for now (${detail})`, retryAfter);
    }
    if (error instanceof AuthError || error instanceof NotPremiumError) {
      return new DriveError('upstream', `1fichier refused the account's API key (${detail})`);
    }
    if (error instanceof UploadRefusedError || error instanceof IntegrityError) {
      return new DriveError('upstream', `the upload failed and nothing was replaced (${detail})`);
    }
    if (/not empty|non vide|contient/i.test(error.serverMessage ?? '')) return new DriveError('not-empty', detail);
    return new DriveError('upstream', detail);
  }
}

function toPriority(priority: LoadPriority): Priority {
  return priority === 'background' ? 'background' : 'interactive';
}

function toUpstreamFile(item: FileItem): UpstreamFile {
  return {
    url: item.url,
    name: decodeName(item.filename),
    size: item.size,
    modified: item.date ?? new Date(0),
    checksum: item.checksum,
    contentType: item.contentType,
    protected: item.pass,
  };
}
