/**
 * Per-user permissions and home folders (the `--users` file, users-file.ts). A user's home becomes
 * their `/`: the method layer maps every path they send (Request-URI, Destination, If tags) under
 * it, so nothing outside is reachable. Permissions are checked by the access guard from the
 * method alone, before any drive call, so a refused request never costs an API call.
 */
export const PERMISSIONS = ['read', 'write', 'delete', 'move', 'lock', 'share'] as const;
export type Permission = (typeof PERMISSIONS)[number];

export interface UserProfile {
  /** Drive path of the folder that is the user's `/` ('/' = the whole account). */
  home: string;
  permissions: ReadonlySet<Permission>;
}

/** What `--user` and `--htpasswd` users get: everything, from the account's root. */
export const FULL_ACCESS: UserProfile = { home: '/', permissions: new Set(PERMISSIONS) };

/**
 * The permissions a method needs. COPY reads the source and writes the destination; MOVE also
 * removes the source, so it needs delete too. LOCK needs write as well: a lock is a promise to
 * write, and LOCK on an unmapped URL creates an empty file. POST is the share endpoint: it needs
 * read as well, since a link lets anyone download what it names. A COPY that replaces a folder (or
 * replaces anything with a folder) deletes the destination first (RFC 4918 §9.8.4): the COPY
 * handler asks for delete then (`RequestContext.allows`), since only it knows what is replaced.
 * Methods not listed (none reach the guard: unknown methods are 501 earlier) need write.
 */
const NEEDED: Record<string, readonly Permission[]> = {
  OPTIONS: [],
  GET: ['read'],
  HEAD: ['read'],
  PROPFIND: ['read'],
  PUT: ['write'],
  MKCOL: ['write'],
  PROPPATCH: ['write'],
  DELETE: ['delete'],
  COPY: ['move', 'read', 'write'],
  MOVE: ['move', 'write', 'delete'],
  LOCK: ['lock', 'write'],
  UNLOCK: ['lock'],
  // A share link hands the file's bytes to anyone holding it: sharing is reading by proxy.
  POST: ['share', 'read'],
};

/** The permissions `method` needs that `profile` lacks (empty: allowed). */
export function missingPermissions(profile: UserProfile, method: string): Permission[] {
  return (NEEDED[method] ?? ['write']).filter((p) => !profile.permissions.has(p));
}

/** Drive path of `path` (a path as the user sees it, '/' = their home) in the account. */
export function inHome(home: string, path: string): string {
  if (home === '/') return path;
  return path === '/' ? home : `${home}${path}`;
}

/** The user's view of a drive path; undefined when it lies outside their home. */
export function fromHome(home: string, path: string): string | undefined {
  if (home === '/') return path;
  if (path === home) return '/';
  return path.startsWith(`${home}/`) ? path.slice(home.length) : undefined;
}

/**
 * Checks a home folder as written in the users file: an absolute path with no empty, '.' or '..'
 * segment and no NUL; returns it without a trailing slash. Throws an Error naming the problem.
 */
export function normaliseHome(home: string): string {
  if (!home.startsWith('/')) throw new Error(`home "${home}" must be an absolute path such as /Alice`);
  const segments = home.split('/').filter((s) => s !== '');
  for (const s of segments) {
    if (s === '.' || s === '..' || s.includes('\0')) throw new Error(`home "${home}" must not contain "." or ".." segments`);
  }
  return '/' + segments.join('/');
}

/** The reason sent with the 403 for a user lacking permissions (no path: the guard runs before routing). */
export function permissionRefusal(user: string, method: string, missing: Permission[]): string {
  return `User "${user}" may not ${method}: missing permission ${missing.map((p) => `"${p}"`).join(', ')}\n`;
}
