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
  UnreachableError,
  UploadRefusedError,
  decodePathName,
  encodeName,
  type FichierClient,
  type FileItem,
  type Priority,
} from '../fichier/index.js';
import type { FolderContent, LoadPriority, UpstreamFile, UpstreamFolder } from './folder-cache.js';
import { MAX_NAME_CHARACTERS } from './account-limits.js';
import { DriveError, type Quota } from './types.js';
import { LinkRefusedError, type UploadRequest, type Upstream, type UpstreamFileInfo } from './upstream.js';

export interface FichierUpstreamOptions {
  /** Ask for single-use download links (get_token single:1). Default false: links are reused. */
  singleUseLinks?: boolean;
  /** Seconds a client is told to wait when 1fichier floods or is unreachable (when the cool-down is unknown). */
  retryAfterSeconds?: number;
  /**
   * Real milliseconds an API call made for a waiting WebDAV client may take, queueing, cool-downs
   * and retries included. Past it the call is abandoned and the client gets 503 + Retry-After
   * instead of hanging for minutes behind a flood cool-down. Default 20 000. Background work and
   * upload transfers have no deadline; a listing a write needs may wait out one listing window
   * (`WRITE_LISTING_DEADLINE_MS`).
   */
  interactiveDeadlineMs?: number;
  /**
   * Called once when 1fichier refuses the API key (again only after a call succeeded in between),
   * so the log says it clearly once instead of on every request.
   */
  onKeyRejected?: (message: string) => void;
}

const KEY_FIX =
  'check FICHIER_API_KEY or the file given to --api-key-file (a premium account\'s key, from https://1fichier.com/console/params.pl), then restart fichier-dav';

type CallMode = 'interactive' | 'write' | 'background' | 'transfer';

/**
 * A write's listing may wait this long (ms) by default: one listing window (30 s at 1fichier's
 * pace, plus margin). A read answers 503 sooner (`interactiveDeadlineMs`), and the client may
 * retry it for free; a PUT's client has sent its body by then, and clients wait 60 to 90 s for
 * its answer (the drive answers within 50 s), so a wait that ends within one window is better
 * than a 503 that makes it upload again. (After a shared Redis restarts empty, every bridge must
 * list again the folders listed just before, whose windows are still running.)
 */
const WRITE_LISTING_DEADLINE_MS = 45_000;

export class FichierUpstream implements Upstream {
  private keyRejectionReported = false;

  constructor(
    private readonly client: FichierClient,
    private readonly options: FichierUpstreamOptions = {},
  ) {}

  listFolder(folderId: number, priority: LoadPriority): Promise<FolderContent> {
    const mode: CallMode = priority === 'background' ? 'background' : priority === 'write' ? 'write' : 'interactive';
    return this.call('list a folder', mode, async (signal) => {
      const listing = await this.client.listFolder(folderId, { files: true, priority: toPriority(priority), signal });
      return {
        id: listing.folderId,
        name: folderId === 0 ? '' : decodePathName(listing.name),
        folders: listing.subFolders.map(
          (folder): UpstreamFolder => ({ id: folder.id, name: decodePathName(folder.name), created: folder.createDate }),
        ),
        files: listing.files.map(toUpstreamFile),
      };
    });
  }

  quota(): Promise<Quota> {
    return this.call('read the account quota', 'interactive', async (signal) => {
      const info = await this.client.userInfo({ priority: 'background', signal });
      // As rclone's `about`: used = cold_storage, total = available_cold_storage.
      const used = info.coldStorage ?? info.hotStorage ?? 0;
      const total = info.availableColdStorage ?? info.allowedColdStorage ?? 0;
      return { usedBytes: used, availableBytes: Math.max(0, total - used) };
    });
  }

  downloadLink(fileUrl: string, signal?: AbortSignal, priority: LoadPriority = 'interactive'): Promise<string> {
    return this.call(
      'get a download link',
      priority === 'background' ? 'background' : 'interactive',
      (callSignal) =>
        this.client.getDownloadToken(fileUrl, {
          single: this.options.singleUseLinks ?? false,
          signal: callSignal,
          priority: toPriority(priority),
        }),
      signal,
    );
  }

  fileInfo(url: string, signal?: AbortSignal): Promise<UpstreamFileInfo> {
    return this.call(
      'look a file up',
      'interactive',
      async (callSignal) => {
        const info = await this.client.fileInfo(url, { signal: callSignal });
        const folderPath = info.path === undefined ? undefined : info.path.split('/').filter((part) => part !== '').map(decodePathName).join('/');
        return { file: toUpstreamFile(info), folderId: info.folderId, folderPath };
      },
      signal,
    );
  }

  async openRange(directUrl: string, range: { start: number; end: number }, signal: AbortSignal): Promise<Readable> {
    // No deadline here: the signal also governs the body, which may stream for hours.
    const response = await this.call('download', 'transfer', () => this.client.openDownload(directUrl, { range, signal }), undefined, true);
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

  async upload(body: Readable, request: UploadRequest): Promise<UpstreamFile> {
    const name = checkedName(request.name);
    this.failFastDuringCooldown('upload', this.deadlineMs('interactive'));
    return this.call('upload', 'transfer', async () => {
      const result = await this.client.upload(body, {
        size: request.size,
        name,
        folderId: request.folderId,
        signal: request.signal,
        // The last byte handed to the upload node: from here on the file may be stored upstream.
        onProgress: request.onBodySent ? (sent, total) => sent === total && request.onBodySent?.() : undefined,
      });
      return {
        url: result.url,
        name: decodePathName(result.filename),
        size: result.size,
        modified: new Date(),
        checksum: result.whirlpool,
      };
    });
  }

  async removeFiles(urls: string[]): Promise<void> {
    await this.call('remove files', 'interactive', (signal) => this.client.removeFiles(urls, { signal }));
  }

  async renameFile(url: string, newName: string): Promise<void> {
    const name = checkedName(newName);
    await this.call('rename a file', 'interactive', (signal) => this.client.renameFile(url, name, { signal }));
  }

  async moveFile(url: string, destinationFolderId: number, newName?: string): Promise<string> {
    const rename = newName === undefined ? undefined : checkedName(newName);
    return this.call('move a file', 'interactive', async (signal) => {
      const moved = await this.client.moveFiles([url], destinationFolderId, { rename, signal });
      return moved.urls[0] ?? url;
    });
  }

  async copyFiles(urls: string[], destinationFolderId: number, newName?: string): Promise<string[]> {
    const rename = newName === undefined ? undefined : checkedName(newName);
    return this.call('copy files', 'interactive', async (signal) => {
      const copied = await this.client.copyFiles(urls, destinationFolderId, { rename, signal });
      const bySource = new Map(copied.urls.map((pair) => [pair.from, pair.to]));
      return urls.map((url, index) => bySource.get(url) ?? copied.urls[index]?.to ?? '');
    });
  }

  async mkdir(parentId: number, name: string): Promise<UpstreamFolder> {
    const encoded = checkedName(name);
    return this.call('create a folder', 'interactive', async (signal) => {
      const created = await this.client.mkdir(encoded, parentId, { signal });
      return { id: created.folderId, name, created: new Date() };
    });
  }

  async removeFolder(folderId: number): Promise<void> {
    await this.call('remove a folder', 'interactive', (signal) => this.client.removeFolder(folderId, { signal }));
  }

  async moveFolder(folderId: number, destinationFolderId: number): Promise<void> {
    await this.call('move a folder', 'interactive', (signal) => this.client.moveFolder(folderId, { destinationFolderId, signal }));
  }

  async renameFolder(folderId: number, newName: string): Promise<void> {
    const rename = checkedName(newName);
    await this.call('rename a folder', 'interactive', (signal) => this.client.moveFolder(folderId, { rename, signal }));
  }

  /**
   * Runs one client call and translates its failure into a DriveError. Interactive calls run
   * under the deadline: when it passes, the call is abandoned and 'unavailable' is thrown with the
   * scheduler's remaining cool-down as the retry hint.
   */
  private async call<T>(
    what: string,
    mode: CallMode,
    run: (signal: AbortSignal | undefined) => Promise<T>,
    callerSignal?: AbortSignal,
    download = false,
  ): Promise<T> {
    const deadlineMs = this.deadlineMs(mode);
    if (mode === 'interactive' || mode === 'write') this.failFastDuringCooldown(what, deadlineMs);
    const deadline = (mode === 'interactive' || mode === 'write') && deadlineMs > 0 ? AbortSignal.timeout(deadlineMs) : undefined;
    const signal = deadline && callerSignal ? AbortSignal.any([deadline, callerSignal]) : (deadline ?? callerSignal);
    try {
      const value = await run(signal);
      this.keyRejectionReported = false;
      return value;
    } catch (error) {
      if (deadline?.aborted && !callerSignal?.aborted) {
        throw new DriveError(
          'unavailable',
          `1fichier did not answer within ${Math.round(deadlineMs / 1000)} s (cannot ${what}); try again later`,
          this.retryAfterSeconds(),
        );
      }
      throw this.translate(what, error, download);
    }
  }

  /** How long a call made for a waiting client (`mode`) may take; 0 = no deadline. */
  private deadlineMs(mode: CallMode): number {
    const interactive = this.options.interactiveDeadlineMs ?? 20_000;
    if (mode !== 'write') return interactive;
    // A listing a write needs (priority 'write'): at least one listing window; none when disabled.
    return interactive > 0 ? Math.max(interactive, WRITE_LISTING_DEADLINE_MS) : 0;
  }

  /** Starting an upload inside a long cool-down would hold the client's body for minutes: refuse at once. */
  private failFastDuringCooldown(what: string, deadlineMs: number): void {
    const remaining = this.client.scheduler.cooldownRemainingMs();
    if (remaining > 0 && deadlineMs > 0 && remaining > deadlineMs) {
      throw new DriveError('unavailable', `1fichier asked us to slow down (cannot ${what} for now); try again later`, this.retryAfterSeconds());
    }
  }

  /** The scheduler's remaining cool-down when there is one, else the configured default. */
  private retryAfterSeconds(): number {
    const remaining = this.client.scheduler.cooldownRemainingMs();
    if (remaining > 0) return Math.max(1, Math.ceil(remaining / 1000));
    return this.options.retryAfterSeconds ?? 30;
  }

  private translate(what: string, error: unknown, download: boolean): Error {
    if (error instanceof DriveError) return error;
    if (download && error instanceof DownloadLinkError) return new LinkRefusedError(error.message);
    if (!(error instanceof FichierError)) {
      if (error instanceof RangeError || error instanceof TypeError) return new DriveError('bad-request', error.message);
      return error instanceof Error ? error : new Error(String(error));
    }
    const retryAfter = this.retryAfterSeconds();
    const detail = `cannot ${what}: ${error.serverMessage ?? error.message}`;
    if (error instanceof NotFoundError) return new DriveError('not-found', detail);
    if (error instanceof ForbiddenError) return new DriveError('forbidden', detail);
    // The API could not be reached at all (refused, DNS, TLS): a clear 503, sent at once.
    if (error instanceof UnreachableError) return new DriveError('unavailable', `1fichier cannot be reached (${error.message})`, retryAfter);
    if (error instanceof FloodError || error instanceof TransientError || error instanceof AccountLockedError) {
      return new DriveError('unavailable', `1fichier is not answering for now (${detail})`, retryAfter);
    }
    if (error instanceof AuthError || error instanceof NotPremiumError) {
      const reason = error instanceof NotPremiumError ? 'the key is not a premium account\'s' : 'the key is wrong or was revoked';
      const message = `1fichier refused the API key (${error.serverMessage ?? error.message}): ${reason}; ${KEY_FIX}`;
      if (!this.keyRejectionReported) {
        this.keyRejectionReported = true;
        this.options.onKeyRejected?.(message);
      }
      return new DriveError('upstream', message);
    }
    if (error instanceof UploadRefusedError || error instanceof IntegrityError) {
      return new DriveError('upstream', `the upload failed and nothing was replaced (${detail})`);
    }
    if (/not empty|non vide|contient/i.test(error.serverMessage ?? '')) return new DriveError('not-empty', detail);
    // A name 1fichier will not store is the client's input to change (400), not a broken upstream.
    if (/invalid name|#611\b/i.test(error.serverMessage ?? '')) {
      return new DriveError('bad-request', `${detail}: 1fichier does not accept this name; choose another one`);
    }
    // #613 "Another folder with the same name already exists": another client made it first.
    if (/already exists|existe d[ée]j[àa]/i.test(error.serverMessage ?? '')) return new DriveError('exists', detail);
    return new DriveError('upstream', detail);
  }
}

/** The stored form of a name, refused when 1fichier would refuse (or silently cut) it; the codec may lengthen a name. */
function checkedName(name: string): string {
  const encoded = encodeName(name);
  const length = [...encoded].length;
  if (length > MAX_NAME_CHARACTERS) {
    throw new DriveError(
      'bad-request',
      `name too long: ${length} characters, and 1fichier allows at most ${MAX_NAME_CHARACTERS} characters per file or folder name`,
    );
  }
  return encoded;
}

function toPriority(priority: LoadPriority): Priority {
  // A write's listing queues with the clients' calls: someone is waiting for it.
  return priority === 'background' ? 'background' : 'interactive';
}

function toUpstreamFile(item: FileItem): UpstreamFile {
  return {
    url: item.url,
    name: decodePathName(item.filename),
    size: item.size,
    modified: item.date ?? new Date(0),
    checksum: item.checksum,
    contentType: item.contentType,
    protected: item.pass,
  };
}
