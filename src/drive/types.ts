/**
 * The `Drive` seam (docs/design.md): everything the WebDAV layer needs from storage, and nothing
 * about how 1fichier stores it. The WebDAV layer talks only to this interface, so it can be tested
 * against the in-memory drive and served over the 1fichier-backed one unchanged.
 *
 * Paths are decoded (no percent-escapes), absolute, '/'-separated, without a trailing slash
 * except for the root itself ('/'). Names are the user's real names (already decoded from any
 * upstream encoding).
 */
import type { Readable } from 'node:stream';

export type EntryKind = 'file' | 'folder';

export interface DriveEntry {
  /** Leaf name; '' for the root. */
  name: string;
  kind: EntryKind;
  /** Bytes for files, 0 for folders. */
  size: number;
  /** Last modification (for 1fichier: the upload time). */
  modified: Date;
  /** Creation time, when known (folders have one on 1fichier; files use the upload time). */
  created?: Date;
  /** Strong entity tag, without quotes. Changes whenever the content changes. */
  etag: string;
  /** MIME type for files. */
  contentType?: string;
  /** Content checksum (Whirlpool hex on 1fichier), when known. */
  checksum?: string;
}

/** An inclusive byte range, already validated against the file size. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface ReadOptions {
  /** Absent = the whole file. */
  range?: ByteRange;
  /** Aborting it must release every upstream resource at once. */
  signal?: AbortSignal;
}

export interface WriteOptions {
  /** Exact body length when the client announced it; undefined = unknown (spool first). */
  size?: number;
  contentType?: string;
  signal?: AbortSignal;
}

export interface WriteResult {
  /** true when the path did not exist before (201), false when it replaced a file (204). */
  created: boolean;
  entry: DriveEntry;
}

export interface TransferOptions {
  /** Replace an existing destination (WebDAV `Overwrite: T`). */
  overwrite: boolean;
}

export interface CopyOptions extends TransferOptions {
  /** For folders: 0 copies the folder alone, 'infinity' its whole content. */
  depth: 0 | 'infinity';
}

export interface TransferResult {
  /** true when the destination did not exist before (201), false when it was replaced (204). */
  created: boolean;
}

export interface Quota {
  usedBytes: number;
  availableBytes: number;
}

/** A dead property, keyed by namespace URI and local name; value is the serialized inner XML. */
export interface DeadProperty {
  namespace: string;
  name: string;
  /** Inner XML of the property element, as the client sent it (may be '' for an empty element). */
  xml: string;
}

export type PropertyPatch =
  | { op: 'set'; property: DeadProperty }
  | { op: 'remove'; namespace: string; name: string };

/** How `Drive.stat` is used. */
export interface StatOptions {
  /**
   * The stat a write makes before writing (PUT, MKCOL, DELETE, COPY/MOVE): a folder listing it
   * needs may wait out one listing window held elsewhere instead of answering 503 at the read
   * deadline (see WRITE_LISTING_DEADLINE_MS in fichier-upstream.ts).
   */
  forWrite?: boolean;
}

export interface Drive {
  stat(path: string, signal?: AbortSignal, options?: StatOptions): Promise<DriveEntry>;
  /**
   * The direct children of a folder, with their metadata (one upstream listing at most). Callers
   * must not change the array or its entries: a drive may return the same (frozen) array again
   * while the folder is unchanged, and callers may take "the same array" to mean "the same entries".
   */
  list(path: string, signal?: AbortSignal): Promise<DriveEntry[]>;
  /** A stream of exactly the requested bytes. */
  read(path: string, options?: ReadOptions): Promise<Readable>;
  /** Where a client may fetch the file directly (redirect mode); undefined when not supported. */
  directUrl?(path: string, signal?: AbortSignal): Promise<string>;
  write(path: string, body: Readable, options?: WriteOptions): Promise<WriteResult>;
  mkdir(path: string): Promise<DriveEntry>;
  /** Removes a file, or a folder with its whole content. */
  remove(path: string): Promise<void>;
  move(from: string, to: string, options: TransferOptions): Promise<TransferResult>;
  copy(from: string, to: string, options: CopyOptions): Promise<TransferResult>;
  quota(): Promise<Quota>;
  /** Dead properties of a resource (PROPPATCH-set ones); [] when none. */
  getProperties(path: string): Promise<DeadProperty[]>;
  /**
   * Optional batch form of getProperties for one listing: the dead properties of each of `paths`
   * (same order), which must be `folder` itself or inside it. One storage query instead of one per
   * path (a PROPFIND Depth 1 of 5000 files asked 5000). Callers fall back to getProperties without it.
   */
  getPropertiesIn?(folder: string, paths: string[]): Promise<DeadProperty[][]>;
  /**
   * Optional: a token of the dead-property store. Two calls return the same string only when no
   * dead property of the drive (of any resource, by any process) changed in between. Lets a
   * cached PROPFIND answer be reused without reading the properties of each entry.
   */
  propertiesVersion?(): string;
  /** Applies all patches in order, atomically: either all apply or none (then it throws). */
  patchProperties(path: string, patches: PropertyPatch[]): Promise<void>;

  // ---- by id: a file's identity survives renames and moves (links in .strm files, share links) ----

  /**
   * The stable id of the file at `path` (on 1fichier: the id in its URL `https://1fichier.com/?<id>`).
   * DriveError 'not-found' (also for files that exist only locally), 'is-a-folder'.
   */
  fileId?(path: string, signal?: AbortSignal): Promise<string>;
  /**
   * Current metadata of the file with that id, and its current path when the drive knows it.
   * DriveError 'not-found' when it no longer exists (or the id is malformed).
   */
  statById?(id: string, signal?: AbortSignal): Promise<FileById>;
  /** A stream of exactly the requested bytes of the file with that id (as `read`). */
  readById?(id: string, options?: ReadOptions): Promise<Readable>;
  /** A fresh direct link to the file with that id (redirect mode). */
  directUrlById?(id: string, signal?: AbortSignal): Promise<string>;
}

/** What `statById` answers: the entry, plus its current path when known. */
export type FileById = DriveEntry & { path?: string };

export type DriveErrorCode =
  | 'not-found' // 404
  | 'exists' // 405 for MKCOL, 412 for Overwrite: F
  | 'conflict' // 409: parent missing, or folder where a file is needed
  | 'not-a-folder' // 409
  | 'is-a-folder' // 405 when a file operation targets a folder
  | 'not-empty' // 409
  | 'forbidden' // 403 (e.g. password-protected upstream, read-only)
  | 'bad-request' // 400 (name rules, bad range)
  | 'too-large' // 413
  | 'insufficient-storage' // 507
  | 'unavailable' // 503 with Retry-After (flood cool-down, upstream down)
  | 'upstream'; // 502 (upstream answered something unusable)

export class DriveError extends Error {
  override readonly name = 'DriveError';
  constructor(
    readonly code: DriveErrorCode,
    message: string,
    /** Seconds a client should wait before retrying ('unavailable'). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}
