/**
 * Who may log in: users given directly (`--user/--pass`, environment) and users of an htpasswd
 * file. Plain passwords are compared in constant time. Hashed ones are verified with their own
 * algorithm; since WebDAV clients resend Basic credentials on every request and bcrypt costs tens
 * of milliseconds, a successful check is remembered for a while, keyed by a digest of the
 * credentials (never the password itself).
 */
import { createHash, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { constantTimeEqual } from './constant-time.js';
import { verifyHash, type HtpasswdEntry } from './htpasswd.js';
import { FULL_ACCESS, type UserProfile } from './permissions.js';
import type { UsersFile } from './users-file.js';

export interface PlainUser {
  user: string;
  password: string;
}

export interface UserStoreOptions {
  users?: PlainUser[];
  htpasswd?: HtpasswdEntry[];
  /** Users of a `--users` file: hashed passwords with a home folder and permissions each. */
  usersFile?: UsersFile;
  /** How long a verified (user, password) pair skips re-hashing. Default 10 minutes. */
  rememberMs?: number;
}

export class UserStore {
  private readonly plain = new Map<string, string>();
  private readonly hashed = new Map<string, HtpasswdEntry>();
  private readonly remembered: LRUCache<string, true>;
  /** Per-process pepper: the remembered keys mean nothing outside this process. */
  private readonly pepper = randomBytes(16);
  private readonly decoy: HtpasswdEntry | undefined;
  private readonly profiles = new Map<string, UserProfile>();

  constructor(options: UserStoreOptions) {
    for (const { user, password } of options.users ?? []) {
      if (!user) throw new Error('a user name cannot be empty');
      if (user.includes(':')) throw new Error(`the user name "${user}" contains ':', which Basic authentication cannot carry`);
      if (!password) throw new Error(`the password of user "${user}" is empty`);
      this.plain.set(user, password);
    }
    for (const entry of options.htpasswd ?? []) {
      if (this.plain.has(entry.user)) throw new Error(`user "${entry.user}" is defined twice (command line and htpasswd file)`);
      this.hashed.set(entry.user, entry);
    }
    for (const entry of options.usersFile?.entries ?? []) {
      if (this.plain.has(entry.user) || this.hashed.has(entry.user)) {
        throw new Error(`user "${entry.user}" is defined twice (users file and command line or htpasswd file)`);
      }
      this.hashed.set(entry.user, entry);
      const profile = options.usersFile?.profiles.get(entry.user);
      if (profile) this.profiles.set(entry.user, profile);
    }
    this.decoy = options.htpasswd?.[0] ?? options.usersFile?.entries[0];
    this.remembered = new LRUCache({ max: 1000, ttl: options.rememberMs ?? 10 * 60_000 });
  }

  /** Is `user` a configured user name (plain or htpasswd)? */
  has(user: string): boolean {
    return this.plain.has(user) || this.hashed.has(user);
  }

  /** Home and permissions of a user: full access to `/` unless the users file says otherwise. */
  profile(user: string): UserProfile {
    return this.profiles.get(user) ?? FULL_ACCESS;
  }

  get size(): number {
    return this.plain.size + this.hashed.size;
  }

  async verify(user: string, password: string): Promise<boolean> {
    const expected = this.plain.get(user);
    if (expected !== undefined) return constantTimeEqual(password, expected);
    const entry = this.hashed.get(user);
    if (!entry) {
      // Spend about the same time as for a real user, so response times do not reveal user names.
      if (this.decoy) await verifyHash(password, this.decoy);
      else constantTimeEqual(password, '');
      return false;
    }
    const key = createHash('sha256').update(this.pepper).update(`${user}\0${password}`, 'utf8').digest('base64');
    if (this.remembered.get(key)) return true;
    const ok = await verifyHash(password, entry);
    if (ok) this.remembered.set(key, true);
    return ok;
  }
}
