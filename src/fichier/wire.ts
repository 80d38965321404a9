/**
 * Defensive parsing of 1fichier's JSON answers into typed values. The wire is inconsistent
 * (fichier-api.md §2.3, §4): scalars come as numbers or strings, empty arrays are sometimes
 * omitted, the MIME type key is `content-type` (some docs say `content_type`), end.pl's size is a
 * string. Parsers accept every variant and fail with a ProtocolError only when a field the
 * caller cannot do without is missing.
 */
import { ProtocolError } from './errors.js';
import { tryParseParisTime } from './paris-time.js';
import type { Json } from './http.js';

export function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

export function asInt(v: unknown): number | undefined {
  const n = asNumber(v);
  return n !== undefined && Number.isInteger(n) ? n : undefined;
}

export function asString(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** 0/1 flags as numbers, strings or booleans. */
export function asFlag(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  const n = asNumber(v);
  return n !== undefined && n !== 0;
}

export function asArray(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function asObject(v: unknown): Json | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
}

function need<T>(value: T | undefined, endpoint: string, field: string): T {
  if (value === undefined) throw new ProtocolError(`${endpoint}: answer lacks a valid "${field}"`, { endpoint });
  return value;
}

// ---------------------------------------------------------------- shapes

export interface FileItem {
  /** The file's identifier: its public URL, kept exactly as the API returned it. */
  url: string;
  /** Stored name (still encoded; decode with the name codec). */
  filename: string;
  size: number;
  /** Upload time (UTC), from 1fichier's Paris-time `date`. */
  date?: Date;
  /** The `date` string as sent (Paris time), useful for sent_before/sent_after paging. */
  rawDate?: string;
  /** Whirlpool, 128 lowercase hex, when listed. */
  checksum?: string;
  contentType?: string;
  pass: boolean;
  acl: boolean;
  cdn: boolean;
}

export interface FolderItem {
  id: number;
  name: string;
  createDate?: Date;
  pass: boolean;
  shared?: string;
}

export interface FolderListing {
  folderId: number;
  name: string;
  /** Total size of the direct files when the server says (may be null upstream). */
  size?: number;
  /** Count of direct files as reported by the server. */
  fileCount?: number;
  subFolders: FolderItem[];
  /** Present when listed with `files: true`. */
  files: FileItem[];
}

export interface FileInfo extends FileItem {
  folderId?: number;
  path?: string;
  description?: string;
  inline: boolean;
  noSsl: boolean;
  aclRules?: { ip: string[]; country: string[]; email: string[]; premium: boolean };
}

export interface AccountInfo {
  email?: string;
  /** 0 free, 1 premium, 2 access (3 seen as "gold"). */
  offer?: number;
  subscriptionEnd?: Date;
  hotStorage?: number;
  coldStorage?: number;
  allowedColdStorage?: number;
  availableColdStorage?: number;
  availableStorage?: number;
  overquota?: number;
  /** CDN credits (GB, may be fractional). */
  cdn?: number;
  useCdn: boolean;
  uploadForbidden: boolean;
  /** Everything as received, for fields not typed here. */
  raw: Json;
}

export interface UploadServer {
  /** Bare host (maybe with port), no scheme. */
  host: string;
  id: string;
}

export interface EndLink {
  download: string;
  filename: string;
  size: number;
  whirlpool?: string;
  remove?: string;
}

export interface RemoteRequestInfo {
  id: number;
  requestDate?: Date;
  executionDate?: Date;
  raw: Json;
}

// ---------------------------------------------------------------- parsers

export function parseFileItem(v: unknown, endpoint: string): FileItem {
  const o = asObject(v);
  if (!o) throw new ProtocolError(`${endpoint}: a file entry is not an object`, { endpoint });
  const rawDate = asString(o.date);
  const checksum = asString(o.checksum);
  return {
    url: need(asString(o.url), endpoint, 'url'),
    filename: need(asString(o.filename), endpoint, 'filename'),
    size: asNumber(o.size) ?? 0,
    date: tryParseParisTime(rawDate),
    rawDate: rawDate || undefined,
    checksum: checksum ? checksum.toLowerCase() : undefined,
    contentType: asString(o['content-type']) ?? asString(o.content_type) ?? asString(o.contentType),
    pass: asFlag(o.pass),
    acl: aclIsSet(o.acl),
    cdn: asFlag(o.cdn),
  };
}

/** `acl` is a 0/1 flag in listings and an object of rules in file/info. */
function aclIsSet(v: unknown): boolean {
  const o = asObject(v);
  if (!o) return asFlag(v);
  return ['ip', 'country', 'email'].some((k) => asArray(o[k]).length > 0) || asFlag(o.premium);
}

export function parseFolderItem(v: unknown, endpoint: string): FolderItem {
  const o = asObject(v);
  if (!o) throw new ProtocolError(`${endpoint}: a folder entry is not an object`, { endpoint });
  return {
    id: need(asInt(o.id), endpoint, 'sub_folders[].id'),
    name: need(asString(o.name), endpoint, 'sub_folders[].name'),
    createDate: tryParseParisTime(o.create_date),
    pass: asFlag(o.pass),
    shared: asString(o.shared) || undefined,
  };
}

export function parseFolderListing(o: Json, requestedId: number, endpoint = 'folder/ls.cgi'): FolderListing {
  const size = o.size === null ? undefined : asNumber(o.size);
  return {
    folderId: asInt(o.folder_id) ?? requestedId,
    name: asString(o.name) ?? '',
    size,
    fileCount: asInt(o.files),
    subFolders: asArray(o.sub_folders).map((f) => parseFolderItem(f, endpoint)),
    files: asArray(o.items).map((f) => parseFileItem(f, endpoint)),
  };
}

export function parseFileList(o: Json, endpoint = 'file/ls.cgi'): FileItem[] {
  return asArray(o.items).map((f) => parseFileItem(f, endpoint));
}

export function parseFileInfo(o: Json, endpoint = 'file/info.cgi'): FileInfo {
  const base = parseFileItem(o, endpoint);
  const acl = asObject(o.acl);
  const strings = (v: unknown) => asArray(v).map(asString).filter((s): s is string => s !== undefined);
  return {
    ...base,
    folderId: asInt(o.folder_id),
    path: asString(o.path),
    description: asString(o.description),
    inline: asFlag(o.inline),
    noSsl: asFlag(o.no_ssl),
    aclRules: acl
      ? { ip: strings(acl.ip), country: strings(acl.country), email: strings(acl.email), premium: asFlag(acl.premium) }
      : undefined,
  };
}

export function parseAccountInfo(o: Json): AccountInfo {
  return {
    email: asString(o.email),
    offer: asNumber(o.offer),
    subscriptionEnd: tryParseParisTime(o.subscription_end),
    hotStorage: asNumber(o.hot_storage),
    coldStorage: asNumber(o.cold_storage),
    allowedColdStorage: asNumber(o.allowed_cold_storage),
    availableColdStorage: asNumber(o.available_cold_storage),
    availableStorage: asNumber(o.available_storage),
    overquota: asNumber(o.overquota),
    cdn: asNumber(o.cdn),
    useCdn: asFlag(o.use_cdn),
    uploadForbidden: asFlag(o.upload_forbidden),
    raw: o,
  };
}

export function parseUploadServer(o: Json, endpoint = 'upload/get_upload_server.cgi'): UploadServer {
  const host = need(asString(o.url), endpoint, 'url').trim();
  const id = need(asString(o.id), endpoint, 'id').trim();
  // A bare host[:port]; anything else would let a bad answer redirect our upload elsewhere.
  if (!/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(host)) {
    throw new ProtocolError(`${endpoint}: "url" is not a bare host name`, { endpoint });
  }
  if (!/^[A-Za-z0-9]{1,64}$/.test(id)) throw new ProtocolError(`${endpoint}: "id" is not alphanumeric`, { endpoint });
  return { host, id };
}

export function parseEndLinks(o: Json, endpoint = 'end.pl'): EndLink[] {
  return asArray(o.links).map((l) => {
    const x = asObject(l);
    if (!x) throw new ProtocolError(`${endpoint}: a link entry is not an object`, { endpoint });
    const whirlpool = asString(x.whirlpool);
    return {
      download: need(asString(x.download), endpoint, 'links[].download'),
      filename: need(asString(x.filename), endpoint, 'links[].filename'),
      size: need(asNumber(x.size), endpoint, 'links[].size'),
      whirlpool: whirlpool ? whirlpool.toLowerCase() : undefined,
      remove: asString(x.remove) || undefined,
    };
  });
}

export function parseRemoteInfo(o: Json): RemoteRequestInfo {
  return {
    id: asInt(o.id) ?? -1,
    requestDate: tryParseParisTime(o.request_date),
    executionDate: tryParseParisTime(o.execution_date),
    raw: o,
  };
}
