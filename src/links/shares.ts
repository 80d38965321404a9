/**
 * Share links: `/s/<id>` URLs that hand one file (or a folder's files) to anyone holding the URL,
 * until they expire, are revoked or have been downloaded enough. They live in the account's
 * `state.db` (table `share_links`), so `fichier-dav share` and `serve` given the same state
 * directory see the same links, and links survive restarts. A file is kept by its 1fichier id
 * (Drive.fileId), so renaming or moving it keeps the link working; a folder by its path.
 *
 * The id is 18 random bytes (144 bits), base64url: it is the whole grant, so it cannot be guessed.
 * A password, when set, is stored as a scrypt hash (RFC 7914), never in clear.
 */
import { randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { AccountDb } from '../state/account-db.js';

export interface ShareLink {
  /** 24 base64url characters (144 random bits). */
  id: string;
  kind: 'file' | 'folder';
  /** The file's stable id (files only). */
  fileId?: string;
  /** The account's path when the link was made (what a folder link serves). */
  path: string;
  /** The name when the link was made (shown in lists). */
  name: string;
  /** ms since the epoch. */
  createdAt: number;
  /** Who made it: a WebDAV user, `anonymous`, or `cli`. */
  createdBy: string;
  /** ms since the epoch; undefined = never expires. */
  expiresAt?: number;
  maxDownloads?: number;
  downloads: number;
  revokedAt?: number;
  hasPassword: boolean;
}

export type ShareState = 'active' | 'expired' | 'revoked' | 'exhausted';

export interface NewShare {
  kind: 'file' | 'folder';
  fileId?: string;
  path: string;
  name: string;
  createdBy: string;
  expiresAt?: number;
  maxDownloads?: number;
  password?: string;
}

interface Row {
  id: string;
  kind: 'file' | 'folder';
  file_id: string | null;
  path: string;
  name: string;
  created_at: number;
  created_by: string;
  expires_at: number | null;
  max_downloads: number | null;
  downloads: number;
  revoked_at: number | null;
  password_hash: string | null;
}

export const SHARE_ID = /^[A-Za-z0-9_-]{24}$/;

/** How logs name a link: its first 8 characters and '…' (the whole id is the grant itself). */
export function shortId(id: string): string {
  return `${id.slice(0, 8)}…`;
}

export class ShareStore {
  constructor(
    private readonly db: AccountDb,
    private readonly now: () => number = Date.now,
  ) {
    db.defineSchema({
      name: 'share-links',
      version: 1,
      migrate: (raw) =>
        raw.exec(`CREATE TABLE IF NOT EXISTS share_links (
          id TEXT PRIMARY KEY, kind TEXT NOT NULL, file_id TEXT, path TEXT NOT NULL, name TEXT NOT NULL,
          created_at INTEGER NOT NULL, created_by TEXT NOT NULL, expires_at INTEGER, max_downloads INTEGER,
          downloads INTEGER NOT NULL DEFAULT 0, revoked_at INTEGER, password_hash TEXT)`),
    });
  }

  create(input: NewShare): ShareLink {
    const id = randomBytes(18).toString('base64url');
    this.db.write(() =>
      this.db.db
        .prepare(
          `INSERT INTO share_links (id, kind, file_id, path, name, created_at, created_by, expires_at, max_downloads, password_hash)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(id, input.kind, input.fileId ?? null, input.path, input.name, this.now(), input.createdBy, input.expiresAt ?? null, input.maxDownloads ?? null, input.password ? hashPassword(input.password) : null),
    );
    return this.get(id)!;
  }

  /** The link with that id; undefined for an unknown or malformed id (no lookup for the latter). */
  get(id: string): ShareLink | undefined {
    if (!SHARE_ID.test(id)) return undefined;
    const row = this.db.db.prepare('SELECT * FROM share_links WHERE id = ?').get(id) as Row | undefined;
    return row && toLink(row);
  }

  list(): ShareLink[] {
    return (this.db.db.prepare('SELECT * FROM share_links ORDER BY created_at').all() as Row[]).map(toLink);
  }

  /** Revokes a link; false when there is no such link. */
  revoke(id: string): boolean {
    if (!SHARE_ID.test(id)) return false;
    return this.db.write(() => this.db.db.prepare('UPDATE share_links SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?').run(this.now(), id).changes > 0);
  }

  /** Counts one download if the link still allows it (atomically); false when it no longer does. */
  countDownload(id: string): boolean {
    return this.db.write(() => {
      const link = this.get(id);
      if (!link || this.state(link) !== 'active') return false;
      this.db.db.prepare('UPDATE share_links SET downloads = downloads + 1 WHERE id = ?').run(id);
      return true;
    });
  }

  state(link: ShareLink): ShareState {
    if (link.revokedAt !== undefined) return 'revoked';
    if (link.expiresAt !== undefined && this.now() >= link.expiresAt) return 'expired';
    if (link.maxDownloads !== undefined && link.downloads >= link.maxDownloads) return 'exhausted';
    return 'active';
  }

  /**
   * Whether `password` is the link's (false when the link has none). Asynchronous: scrypt runs on
   * the thread pool, so guesses never stall the event loop (and every other client with it).
   */
  async checkPassword(id: string, password: string): Promise<boolean> {
    const row = this.db.db.prepare('SELECT password_hash FROM share_links WHERE id = ?').get(id) as { password_hash: string | null } | undefined;
    return row?.password_hash ? verifyPassword(password, row.password_hash) : false;
  }
}

function toLink(row: Row): ShareLink {
  return {
    id: row.id,
    kind: row.kind,
    ...(row.file_id !== null ? { fileId: row.file_id } : {}),
    path: row.path,
    name: row.name,
    createdAt: row.created_at,
    createdBy: row.created_by,
    ...(row.expires_at !== null ? { expiresAt: row.expires_at } : {}),
    ...(row.max_downloads !== null ? { maxDownloads: row.max_downloads } : {}),
    downloads: row.downloads,
    ...(row.revoked_at !== null ? { revokedAt: row.revoked_at } : {}),
    hasPassword: row.password_hash !== null,
  };
}

/** `scrypt$<salt b64url>$<key b64url>` (N=16384, r=8, p=1, 32-byte key). */
export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64url')}$${scryptSync(password, salt, 32).toString('base64url')}`;
}

const scryptAsync = promisify(scrypt) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  if (expected.length === 0) return false;
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64url'), expected.length);
  return timingSafeEqual(actual, expected);
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30m`, `12h`, `7d`, `2w` → ms; throws an Error naming the accepted forms. */
export function parseExpiry(text: string): number {
  const m = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0) throw new Error(`"${text}" is not a duration: use a number and a unit, such as 30m, 12h, 7d or 2w`);
  return Number(m[1]) * UNITS[m[2]];
}
