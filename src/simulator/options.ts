/**
 * Every knob of the simulator, with defaults faithful to fichier-api.md. Facts tagged [U] in that
 * document are switches here rather than guesses baked into the handlers, so a test can pin the
 * variant it cares about. Durations are in milliseconds of *unscaled* time: the clock multiplies
 * them by `timeScale`.
 */

export type FixtureName = 'empty' | 'demo' | 'names';
export const FIXTURE_NAMES: readonly FixtureName[] = ['empty', 'demo', 'names'];
export type FloodScope = 'key' | 'category';
export type NameMode = 'reject' | 'accept';
export type UploadNameMode = 'sanitise' | 'keep' | 'reject';
export type ListingOrder = 'hashed' | 'newest-first' | 'oldest-first' | 'name';
export type PerFolderWindowEndpoints = 'file-ls' | 'file-ls+folder-ls-files' | 'all-listings';
export type MvSameFolderRename = 'noop' | 'ko';
export type UserInfoTypes = 'mixed' | 'numbers';

export interface SimOptions {
  /** The premium key accepted as `Authorization: Bearer <key>`. */
  apiKey: string;
  /** A second key that authenticates but belongs to a free account (answers #200). */
  freeApiKey?: string;
  /** Every duration is multiplied by this (0.01 turns a 30 s window into 0.3 s). */
  timeScale: number;
  fixture: FixtureName;

  // --- listeners ---
  /** Interface to bind. */
  host: string;
  /** Host name written into handed-out URLs (upload nodes, download links). Defaults to `host`. */
  publicHost?: string;
  /** API port; upload nodes and the download host take port+1.. when non-zero. 0 = ephemeral. */
  port: number;
  uploadNodes: number;
  tlsCert?: string | Buffer;
  tlsKey?: string | Buffer;
  /** Where uploaded bytes are spooled. Defaults to a fresh directory under the OS temp dir. */
  dataDir?: string;

  // --- transport [U] ---
  /** HTTP status of `Content-Type not JSON #24` (unknown upstream). */
  contentTypeStatus: number;
  /** Which message a wrong key gets: `Not authenticated #247` or `No such user #93`. */
  badKeyMessage: 'not-authenticated' | 'no-such-user';
  badKeyStatus: number;
  /** HTTP status of `Must be a customer (Premium, Access) #200`. */
  freeKeyStatus: number;
  /** Shuffle the top-level key order of every JSON answer. */
  shuffleKeys: boolean;

  // --- data model [U] ---
  /** folder/ls and file/ls: send `[]` (false) or drop the key (true) when a list is empty. */
  omitEmptyArrays: boolean;
  listingOrder: ListingOrder;
  /** Seed of the 'hashed' listing order (ids themselves are always random). */
  seed: number;
  /** mkdir of a name that already exists in the parent: KO (true) or a second folder (false). */
  rejectDuplicateFolder: boolean;
  /** Names with forbidden characters in mkdir / rename / mv rename: KO or stored as given. */
  nameMode: NameMode;
  /** A forbidden character in an uploaded part filename: strip it, keep it, or refuse the upload. */
  uploadNameMode: UploadNameMode;
  maxNameLength: number;
  /** Refuse 0-byte uploads (server behaviour unverified; rclone never sends them). */
  refuseEmptyUploads: boolean;
  maxFileSize: number;
  /** file/info: include `"status":"OK"` on success (may be absent upstream). */
  fileInfoStatus: boolean;
  /** file/mv into the folder the file is already in, with a rename: ignore the rename (RI-5421) or KO. */
  mvSameFolderRename: MvSameFolderRename;
  /** Type style of user/info scalars: rclone's mixed strings/numbers, or all numbers. */
  userInfoTypes: UserInfoTypes;
  /** Message of folder/rm on a folder that is not empty (exact text unknown upstream). */
  folderNotEmptyMessage: string;
  /** Cold-storage quota reported by user/info, bytes. */
  coldStorageQuota: number;
  /** CDN credits reported by user/info (`cdn`, GB, may be fractional). */
  cdnCredits: number;
  /** user/info's `use_cdn` before any client sets it: downloads forced through the CDN (spending credits). */
  useCdn: boolean;

  // --- limits ---
  /** Token bucket: sustained requests per second per key (or per IP without a key). */
  ratePerSecond: number;
  /** Token bucket capacity. */
  rateBurst: number;
  /** Same folder listed again within this window = flood. */
  perFolderListingWindowMs: number;
  perFolderWindowEndpoints: PerFolderWindowEndpoints;
  /** file/ls folder_id -1 at most once per this window. */
  allFilesWindowMs: number;
  /** user/info at most once per this window (answers #38). */
  userInfoWindowMs: number;
  listingCap: number;
  /** Flood message number: 374 (2020-2023) or 412 (2024). */
  floodCode: 374 | 412;
  /** How long a flood locks the account (or the category). */
  floodLockMs: number;
  /** 'key': a flood locks every API call of the key; 'category': only the flooding category. */
  floodScope: FloodScope;
  /** A call during a lock restarts the lock window. */
  extendLockOnHit: boolean;
  /** Replaces the flood text, e.g. 'Flood detected: User Locked #218' (default: IP Locked #floodCode). */
  floodMessage?: string;
  /** After this many consecutive 401/403/404/410 answers to one IP, ban the IP (0 = off; doc: repeated errors can ban). */
  errorBanThreshold: number;
  /** How long such a ban lasts. */
  errorBanMs: number;
  /** Switch all limits off (for demos driven by hand). */
  limitsEnabled: boolean;

  // --- upload / download ---
  /** How long end.pl keeps answering for a finished upload. */
  endPlLifetimeMs: number;
  /** How long an unused upload id stays valid. */
  uploadIdLifetimeMs: number;
  /** Status of end.pl for an unknown id / wrong node (an HTML page). */
  endPlUnknownStatus: number;
  /** Status of upload.cgi without Content-Length (chunked). */
  chunkedUploadStatus: number;
  tokenLifetimeMs: number;
  /** HTTP status of the HTML page for an expired, spent or unknown download token. */
  deadTokenStatus: number;
  maxConcurrentDownloads: number;

  // --- network (real milliseconds and bytes, never scaled: they model the wire, not 1fichier's rules) ---
  /** Added before every API answer (the round trip to api.1fichier.com). 0 = loopback. */
  apiLatencyMs: number;
  /** Added before a download's first byte (the CDN's time to first byte). 0 = loopback. */
  downloadTtfbMs: number;
  /** Bytes per second at most on each download connection (one GET). 0 = no cap. */
  downloadBytesPerSecond: number;
  /**
   * Bytes per second at most over all download connections together: the client's own line,
   * which more connections do not widen. 0 = no cap.
   */
  downloadLineBytesPerSecond: number;
}

export const DEFAULT_OPTIONS: SimOptions = {
  apiKey: 'sim-api-key',
  timeScale: 1,
  fixture: 'empty',
  host: '127.0.0.1',
  port: 0,
  uploadNodes: 2,
  contentTypeStatus: 400,
  badKeyMessage: 'not-authenticated',
  badKeyStatus: 401,
  freeKeyStatus: 403,
  shuffleKeys: true,
  omitEmptyArrays: false,
  listingOrder: 'hashed',
  seed: 1,
  rejectDuplicateFolder: true,
  nameMode: 'reject',
  uploadNameMode: 'sanitise',
  maxNameLength: 250,
  refuseEmptyUploads: true,
  maxFileSize: 300e9,
  fileInfoStatus: false,
  mvSameFolderRename: 'noop',
  userInfoTypes: 'mixed',
  folderNotEmptyMessage: 'Folder not empty #621',
  coldStorageQuota: 100 * 2 ** 40,
  cdnCredits: 0,
  useCdn: false,
  ratePerSecond: 3,
  rateBurst: 3,
  perFolderListingWindowMs: 30_000,
  perFolderWindowEndpoints: 'file-ls+folder-ls-files',
  allFilesWindowMs: 3_600_000,
  userInfoWindowMs: 60_000,
  listingCap: 5000,
  floodCode: 374,
  floodLockMs: 30_000,
  floodScope: 'key',
  extendLockOnHit: false,
  errorBanThreshold: 0,
  errorBanMs: 300_000,
  limitsEnabled: true,
  endPlLifetimeMs: 2 * 3_600_000,
  uploadIdLifetimeMs: 4 * 3_600_000,
  endPlUnknownStatus: 200,
  chunkedUploadStatus: 411,
  tokenLifetimeMs: 5 * 60_000,
  deadTokenStatus: 404,
  maxConcurrentDownloads: 30,
  apiLatencyMs: 0,
  downloadTtfbMs: 0,
  downloadBytesPerSecond: 0,
  downloadLineBytesPerSecond: 0,
};

/** Options that only make sense before the listeners start. */
const STARTUP_ONLY = new Set<keyof SimOptions>([
  'host', 'port', 'uploadNodes', 'tlsCert', 'tlsKey', 'dataDir', 'fixture', 'publicHost',
]);

const ENUMS: Partial<Record<keyof SimOptions, readonly (string | number)[]>> = {
  fixture: FIXTURE_NAMES,
  badKeyMessage: ['not-authenticated', 'no-such-user'],
  listingOrder: ['hashed', 'newest-first', 'oldest-first', 'name'],
  nameMode: ['reject', 'accept'],
  uploadNameMode: ['sanitise', 'keep', 'reject'],
  perFolderWindowEndpoints: ['file-ls', 'file-ls+folder-ls-files', 'all-listings'],
  floodCode: [374, 412],
  floodScope: ['key', 'category'],
  mvSameFolderRename: ['noop', 'ko'],
  userInfoTypes: ['mixed', 'numbers'],
};

export class OptionsError extends Error {}

/** Checks a partial options object against the defaults' types; throws OptionsError with a clear reason. */
export function validateOptions(patch: Record<string, unknown>, runtime: boolean): Partial<SimOptions> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const k = key as keyof SimOptions;
    const known = k in DEFAULT_OPTIONS || k === 'freeApiKey' || k === 'floodMessage' || k === 'publicHost' || k === 'tlsCert' || k === 'tlsKey' || k === 'dataDir';
    if (!known) throw new OptionsError(`unknown simulator option "${key}"`);
    if (runtime && STARTUP_ONLY.has(k)) throw new OptionsError(`option "${key}" can only be set at start-up`);
    const allowed = ENUMS[k];
    if (allowed && !allowed.includes(value as string | number)) {
      throw new OptionsError(`option "${key}" must be one of ${allowed.join(', ')}`);
    }
    const def = DEFAULT_OPTIONS[k];
    if (def !== undefined && !allowed) {
      if (typeof def === 'number' && (typeof value !== 'number' || !Number.isFinite(value) || value < 0)) {
        throw new OptionsError(`option "${key}" must be a non-negative number`);
      }
      if (typeof def === 'boolean' && typeof value !== 'boolean') throw new OptionsError(`option "${key}" must be a boolean`);
      if (typeof def === 'string' && typeof value !== 'string') throw new OptionsError(`option "${key}" must be a string`);
    }
    if ((k === 'freeApiKey' || k === 'floodMessage' || k === 'publicHost' || k === 'dataDir') && typeof value !== 'string') {
      throw new OptionsError(`option "${key}" must be a string`);
    }
    if (k === 'timeScale' && (value as number) <= 0) throw new OptionsError('option "timeScale" must be > 0');
    // A cap below 1 byte/s would pace one 64 KiB slice over days: a typo, not a network.
    if ((k === 'downloadBytesPerSecond' || k === 'downloadLineBytesPerSecond') && (value as number) > 0 && (value as number) < 1) {
      throw new OptionsError(`option "${key}" must be 0 (no cap) or at least 1 (bytes per second)`);
    }
    if (k === 'uploadNodes' && (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 16)) {
      throw new OptionsError('option "uploadNodes" must be an integer from 1 to 16');
    }
    if (k === 'apiKey' && (typeof value !== 'string' || value.length === 0)) throw new OptionsError('option "apiKey" must be a non-empty string');
    out[key] = value;
  }
  return out as Partial<SimOptions>;
}

export function resolveOptions(input: Partial<SimOptions> = {}): SimOptions {
  const checked = validateOptions(input as Record<string, unknown>, false);
  return { ...DEFAULT_OPTIONS, ...checked };
}
