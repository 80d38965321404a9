/**
 * Where an account's state directory is: named by the ACCOUNT, not by the API key, in the
 * platform's state directory (never a cache directory, which cleaners empty: the state holds the
 * only copy of empty files and dead properties).
 *
 * - `--state-dir DIR` wins.
 * - `--account NAME` names the folder explicitly.
 * - Otherwise the account's identity (its e-mail, from user/info) names it; `keys.json` in the
 *   state root remembers which key fingerprint (a hash, never the key) belongs to which account,
 *   so user/info is asked once per key, and a rotated key finds the same folder.
 * - A folder left by earlier versions under ~/.cache/fichier-dav/<hash of URL and key> is moved
 *   into the account's folder once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export const DEFAULT_API_URL = 'https://api.1fichier.com/v1';
const KEY_INDEX = 'keys.json';

/**
 * The folder holding every account's state: `$XDG_STATE_HOME/fichier-dav` (default
 * `~/.local/state/fichier-dav`) on Linux and BSD, `%LOCALAPPDATA%\fichier-dav` on Windows,
 * `~/Library/Application Support/fichier-dav` on macOS.
 */
export function stateRoot(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = homedir()): string {
  const base = home || tmpdir();
  if (platform === 'win32') return join(env.LOCALAPPDATA || join(base, 'AppData', 'Local'), 'fichier-dav');
  if (platform === 'darwin') return join(base, 'Library', 'Application Support', 'fichier-dav');
  return join(env.XDG_STATE_HOME || join(base, '.local', 'state'), 'fichier-dav');
}

/** The API URL as compared and shown: no trailing slashes, lower-case scheme and host. */
export function normalizeApiUrl(apiUrl: string): string {
  const trimmed = apiUrl.trim().replace(/\/+$/, '');
  try {
    const url = new URL(trimmed);
    return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
  } catch {
    return trimmed;
  }
}

/** A fingerprint of the key (a hash: the key cannot be read back from it). */
export function keyFingerprint(apiKey: string): string {
  return createHash('sha256').update(`fichier-dav key\n${apiKey}`).digest('hex').slice(0, 32);
}

/** A folder name from an account name: safe on every file system, readable. */
export function safeFolderName(name: string): string {
  const cleaned = name.trim().replace(/[^A-Za-z0-9@._+~-]/g, '_').replace(/^\.+/, '_');
  return cleaned.slice(0, 120) || 'account';
}

/**
 * The folder name of an account known by `identity` (its e-mail) on `apiUrl`: the identity alone
 * for 1fichier's API, identity~host for another one (a simulator's accounts are not 1fichier's).
 */
export function accountFolderName(identity: string, apiUrl: string): string {
  const url = normalizeApiUrl(apiUrl);
  if (url === DEFAULT_API_URL) return safeFolderName(identity);
  let host = url;
  try {
    host = new URL(url).host;
  } catch {
    // keep the text
  }
  return safeFolderName(`${identity}~${host}`);
}

/** The folders earlier versions used for this URL and key (~/.cache/fichier-dav/<hash>). */
export function legacyStateDirs(apiUrl: string, apiKey: string, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string[] {
  const base = env.XDG_CACHE_HOME || (home ? join(home, '.cache') : tmpdir());
  const url = normalizeApiUrl(apiUrl);
  return [...new Set([url, `${url}/`, apiUrl])].map((variant) =>
    join(base, 'fichier-dav', createHash('sha256').update(`${variant}\n${apiKey}`).digest('hex').slice(0, 16)),
  );
}

interface KeyEntry {
  /** The account folder's name; absent while the key could not be identified yet. */
  account?: string;
  apiUrl: string;
  /** Identifying the key met a flood: nothing is asked before this (wall-clock ms). */
  cooldownUntil?: number;
}
type KeyIndex = Record<string, KeyEntry>;

/** Identifying a key is on hold after a flood answer: the account is rate-limited until `until`. */
export class IdentifyCooldownError extends Error {
  override readonly name = 'IdentifyCooldownError';
  constructor(readonly until: number) {
    super(`1fichier is rate-limiting this account; retry in ${Math.max(1, Math.ceil((until - Date.now()) / 1000))} s`);
  }
}

async function readIndex(root: string): Promise<KeyIndex> {
  try {
    const parsed = JSON.parse(await readFile(join(root, KEY_INDEX), 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as KeyIndex) : {};
  } catch {
    return {};
  }
}

async function remember(root: string, fingerprint: string, entry: KeyEntry): Promise<void> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  const index = await readIndex(root);
  index[fingerprint] = entry;
  const temp = join(root, `${KEY_INDEX}.${randomBytes(4).toString('hex')}.tmp`);
  await writeFile(temp, JSON.stringify(index, null, 1), { mode: 0o600 });
  await rename(temp, join(root, KEY_INDEX));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** True when `dir` already holds an account's state (database or legacy JSON). */
async function holdsState(dir: string): Promise<boolean> {
  return (await exists(join(dir, 'state.db'))) || (await exists(join(dir, 'state.json')));
}

/** Moves a legacy folder into `target` when `target` holds no state yet; returns the folder moved. */
export async function migrateLegacyDirs(candidates: readonly string[], target: string): Promise<string | undefined> {
  if (await holdsState(target)) return undefined;
  for (const legacy of candidates) {
    if (legacy === target || !(await holdsState(legacy))) continue;
    await mkdir(join(target, '..'), { recursive: true, mode: 0o700 });
    await rm(target, { recursive: true, force: true }); // an empty shell from an earlier failed start
    try {
      await rename(legacy, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
      // The cache and the state directory are on different disks: copy, then remove.
      await cp(legacy, target, { recursive: true, preserveTimestamps: true });
      await rm(legacy, { recursive: true, force: true });
    }
    return legacy;
  }
  return undefined;
}

export interface LocateOptions {
  apiUrl: string;
  apiKey: string;
  /** `--state-dir`: used as is. */
  stateDir?: string;
  /** `--account NAME`. */
  account?: string;
  /** Asks 1fichier who the key belongs to (one user/info); only called for an unknown key. */
  identify: () => Promise<{ email?: string }>;
  /**
   * For an error of `identify`: how long (ms) the account is now rate-limited (a flood), so that
   * the next process with this key does not ask again meanwhile; undefined otherwise.
   */
  cooldownAfter?: (error: unknown) => number | undefined;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
}

export interface AccountLocation {
  dir: string;
  /** How the folder was found. */
  how: 'state-dir' | 'account' | 'known-key' | 'identified';
  /** A legacy folder moved into `dir` now. */
  migratedFrom?: string;
}

/**
 * Finds (and, for an unknown key, identifies through `identify`) the state directory of the
 * account. Errors of `identify` (refused key, unreachable API) propagate unchanged.
 */
export async function locateAccountState(o: LocateOptions): Promise<AccountLocation> {
  const env = o.env ?? process.env;
  const legacy = legacyStateDirs(o.apiUrl, o.apiKey, env, o.home ?? homedir());
  if (o.stateDir) return { dir: o.stateDir, how: 'state-dir' };
  const root = stateRoot(env, o.platform ?? process.platform, o.home ?? homedir());
  let dir: string;
  let how: AccountLocation['how'];
  const fingerprint = keyFingerprint(o.apiKey);
  const apiUrl = normalizeApiUrl(o.apiUrl);
  if (o.account) {
    dir = join(root, safeFolderName(o.account));
    how = 'account';
  } else {
    const known = (await readIndex(root))[fingerprint];
    if (known?.account && known.apiUrl === apiUrl) {
      dir = join(root, known.account);
      how = 'known-key';
    } else {
      if (known && known.apiUrl === apiUrl && (known.cooldownUntil ?? 0) > Date.now()) throw new IdentifyCooldownError(known.cooldownUntil!);
      let info: { email?: string };
      try {
        info = await o.identify();
      } catch (error) {
        const ms = o.cooldownAfter?.(error);
        if (ms && ms > 0) await remember(root, fingerprint, { apiUrl, cooldownUntil: Date.now() + ms }).catch(() => {});
        throw error;
      }
      const name = accountFolderName(info.email || `account-${fingerprint.slice(0, 12)}`, apiUrl);
      await remember(root, fingerprint, { account: name, apiUrl });
      dir = join(root, name);
      how = 'identified';
    }
  }
  const migratedFrom = await migrateLegacyDirs(legacy, dir);
  return { dir, how, ...(migratedFrom ? { migratedFrom } : {}) };
}
