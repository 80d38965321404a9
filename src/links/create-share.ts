/**
 * Making a share link for a path of the account: what `fichier-dav share` and `POST /.share` both
 * do. A file is recorded by its stable id (renames keep the link), a folder by its path.
 */
import type { Drive } from '../drive/types.js';
import { parseExpiry, type ShareLink, type ShareStore } from './shares.js';

export interface ShareRequest {
  /** The account's path. */
  path: string;
  createdBy: string;
  /** A duration such as `7d` (see parseExpiry); undefined = never expires. */
  expires?: string;
  maxDownloads?: number;
  password?: string;
}

export class ShareRequestError extends Error {
  override readonly name = 'ShareRequestError';
}

export interface MadeShare {
  link: ShareLink;
  /** `<publicUrl>/s/<id>`. */
  url: string;
}

/** The URL of a share link under the public origin (no trailing slash). */
export function shareUrl(publicUrl: string, id: string): string {
  return `${publicUrl.replace(/\/+$/, '')}/s/${id}`;
}

/**
 * Checks the request, looks the path up (a listing, usually cached; a file's id may cost one
 * call) and records the link. Throws ShareRequestError for bad input, DriveError for the path.
 */
export async function createShare(store: ShareStore, drive: Drive, publicUrl: string, request: ShareRequest, signal?: AbortSignal): Promise<MadeShare> {
  let expiresAt: number | undefined;
  if (request.expires !== undefined) {
    try {
      expiresAt = Date.now() + parseExpiry(request.expires);
    } catch (error) {
      throw new ShareRequestError((error as Error).message);
    }
  }
  const max = request.maxDownloads;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new ShareRequestError('the maximum number of downloads must be a whole number of at least 1');
  if (request.password !== undefined && request.password.length === 0) throw new ShareRequestError('the password is empty');
  const entry = await drive.stat(request.path, signal);
  let fileId: string | undefined;
  if (entry.kind === 'file') {
    if (!drive.fileId) throw new ShareRequestError('this drive cannot give files a stable id, so they cannot be shared');
    fileId = await drive.fileId(request.path, signal);
  }
  const link = store.create({
    kind: entry.kind,
    fileId,
    path: request.path,
    name: entry.name || '/',
    createdBy: request.createdBy,
    expiresAt,
    maxDownloads: max,
    password: request.password,
  });
  return { link, url: shareUrl(publicUrl, link.id) };
}
