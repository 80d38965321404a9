/**
 * The `--users` file (YAML; JSON is valid YAML too): per user a password hash in one of the
 * htpasswd formats (htpasswd.ts), a home folder that becomes their `/`, and permissions.
 *
 *   users:
 *     alice:
 *       password: "$2y$10$…"          # htpasswd -nbB alice secret | cut -d: -f2
 *       home: /Alice                   # default /
 *       permissions: [read, write, delete, move, lock, share]   # or "all"; default [read]
 *
 * Anything unexpected (unknown key or permission, plain-text password, relative home) is refused
 * with a message naming the user and the fix, so a typo never silently widens or narrows access.
 */
import { parse } from 'yaml';
import { readCredentialsFile } from './credentials-file.js';
import { hashKind, type HtpasswdEntry } from './htpasswd.js';
import { normaliseHome, PERMISSIONS, type Permission, type UserProfile } from './permissions.js';

export class UsersFileError extends Error {
  override readonly name = 'UsersFileError';
}

export interface UsersFile {
  entries: HtpasswdEntry[];
  profiles: Map<string, UserProfile>;
}

const USER_KEYS = new Set(['password', 'home', 'permissions']);

/** Parses the text of a users file; `source` names it in errors. Throws UsersFileError. */
export function parseUsersFile(text: string, source = 'users file'): UsersFile {
  let document: unknown;
  try {
    document = parse(text, { uniqueKeys: true, maxAliasCount: 0 });
  } catch (error) {
    throw new UsersFileError(`${source}: not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!isRecord(document) || !isRecord(document.users)) throw new UsersFileError(`${source}: expected a "users:" map of user names`);
  const extra = Object.keys(document).filter((k) => k !== 'users');
  if (extra.length > 0) throw new UsersFileError(`${source}: unknown top-level key "${extra[0]}" (only "users")`);
  const entries: HtpasswdEntry[] = [];
  const profiles = new Map<string, UserProfile>();
  for (const [user, spec] of Object.entries(document.users)) {
    const where = `${source}: user "${user}"`;
    if (user === '' || user.includes(':')) throw new UsersFileError(`${where}: a user name cannot be empty or contain ":"`);
    if (!isRecord(spec)) throw new UsersFileError(`${where}: expected password, home and permissions`);
    const unknown = Object.keys(spec).find((k) => !USER_KEYS.has(k));
    if (unknown) throw new UsersFileError(`${where}: unknown key "${unknown}" (expected password, home, permissions)`);
    const hash = spec.password;
    const kind = typeof hash === 'string' ? hashKind(hash) : undefined;
    if (typeof hash !== 'string' || !kind) {
      throw new UsersFileError(`${where}: "password" must be a password hash (htpasswd -nB gives bcrypt; -m, -s and -d hashes are accepted too; plain text is not)`);
    }
    let home = '/';
    if (spec.home !== undefined) {
      if (typeof spec.home !== 'string') throw new UsersFileError(`${where}: "home" must be a path such as /Alice`);
      try {
        home = normaliseHome(spec.home);
      } catch (error) {
        throw new UsersFileError(`${where}: ${(error as Error).message}`);
      }
    }
    entries.push({ user, hash, kind });
    profiles.set(user, { home, permissions: permissionsOf(spec.permissions, where) });
  }
  if (entries.length === 0) throw new UsersFileError(`${source}: no users`);
  return { entries, profiles };
}

export async function loadUsersFile(file: string): Promise<UsersFile> {
  let text: string;
  try {
    text = await readCredentialsFile(file);
  } catch (error) {
    throw new UsersFileError(`cannot read the users file ${file}: ${(error as Error).message}`);
  }
  return parseUsersFile(text, file);
}

function permissionsOf(value: unknown, where: string): Set<Permission> {
  if (value === undefined) return new Set(['read']);
  if (value === 'all') return new Set(PERMISSIONS);
  const list = typeof value === 'string' ? value.split(/[\s,]+/).filter(Boolean) : value;
  if (!Array.isArray(list)) throw new UsersFileError(`${where}: "permissions" must be a list such as [read, write] or "all"`);
  const result = new Set<Permission>();
  for (const p of list) {
    if (!(PERMISSIONS as readonly unknown[]).includes(p)) {
      throw new UsersFileError(`${where}: unknown permission "${String(p)}" (known: ${PERMISSIONS.join(', ')}, or "all")`);
    }
    result.add(p as Permission);
  }
  return result;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
