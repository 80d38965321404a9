/**
 * What the drive needs from 1fichier, in the drive's own terms: decoded names, Date objects,
 * DriveError failures. `fichier-upstream.ts` implements it over the 1fichier client (which owns
 * the wire format, the name codec and the scheduler); tests may implement it directly.
 *
 * Every method is one upstream operation (one API call, or one direct-host GET for openRange);
 * the drive decides how many of them a client request costs.
 */
import type { Readable } from 'node:stream';
import type { FolderContent, LoadPriority, UpstreamFile, UpstreamFolder } from './folder-cache.js';
import type { Quota } from './types.js';

export interface UploadRequest {
  /** Real (decoded) name. */
  name: string;
  folderId: number;
  size: number;
  signal?: AbortSignal;
  /** Called once the whole body was handed to the upload node (the file may be stored from then on). */
  onBodySent?: () => void;
}

/** What file/info.cgi tells of one file: its metadata, its folder and that folder's path (decoded, '/'-separated, '' for the root). */
export interface UpstreamFileInfo {
  file: UpstreamFile;
  folderId?: number;
  folderPath?: string;
}

export interface Upstream {
  /** One folder listing with its sub-folders and files (folder/ls.cgi + files:1). */
  listFolder(folderId: number, priority: LoadPriority): Promise<FolderContent>;
  /**
   * A listing as 1fichier holds it now, never a saved one (waiting out the folder's window if
   * needed): settling a write whose answer was lost must see what that write did. Optional: an
   * upstream without saved listings lists with `listFolder`.
   */
  listFolderFresh?(folderId: number): Promise<FolderContent>;
  quota(): Promise<Quota>;
  /** A fresh direct download link (get_token); background ones (cache warming) queue behind interactive calls. */
  downloadLink(fileUrl: string, signal?: AbortSignal, priority?: LoadPriority): Promise<string>;
  /**
   * One ranged GET on a direct link. Rejects with LinkRefusedError when the direct host refuses
   * the link (HTML page, expired or spent token), so the caller can fetch a new one.
   */
  openRange(directUrl: string, range: { start: number; end: number }, signal: AbortSignal): Promise<Readable>;
  /** The 3-step upload, checksum verified. Resolves with the stored file. */
  upload(body: Readable, request: UploadRequest): Promise<UpstreamFile>;
  removeFiles(urls: string[]): Promise<void>;
  /** Same-folder rename (file/rename.cgi). */
  renameFile(url: string, newName: string): Promise<void>;
  /** Cross-folder move, renaming only when `newName` is given (file/mv.cgi). Resolves with the file's URL after the move. */
  moveFile(url: string, destinationFolderId: number, newName?: string): Promise<string>;
  /** Server-side copy of one or more files into a folder (file/cp.cgi); `newName` only with one URL. Resolves with the new URLs in order. */
  copyFiles(urls: string[], destinationFolderId: number, newName?: string): Promise<string[]>;
  mkdir(parentId: number, name: string): Promise<UpstreamFolder>;
  /**
   * One file's metadata by its URL (file/info.cgi), wherever it now is: links by id use it when no
   * cached listing holds the file. Rejects with DriveError 'not-found' when the file is gone.
   */
  fileInfo?(url: string, signal?: AbortSignal): Promise<UpstreamFileInfo>;
  /** Removes an empty folder (folder/rm.cgi). Rejects with DriveError 'not-empty' otherwise. */
  removeFolder(folderId: number): Promise<void>;
  /** folder/mv.cgi without rename. */
  moveFolder(folderId: number, destinationFolderId: number): Promise<void>;
  /** folder/mv.cgi with rename (in place). */
  renameFolder(folderId: number, newName: string): Promise<void>;
}

export class LinkRefusedError extends Error {
  override readonly name = 'LinkRefusedError';
}
