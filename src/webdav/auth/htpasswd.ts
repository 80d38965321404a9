/**
 * Apache htpasswd files: `user:hash` lines. The hash formats `htpasswd` writes are all accepted:
 * bcrypt (`-B`, `$2y$`/`$2a$`/`$2b$`), Apache MD5 (`-m`, the default, `$apr1$`), SHA-1 (`-s`,
 * `{SHA}`) and traditional crypt (`-d`, 13 characters), plus glibc MD5-crypt (`$1$`, what
 * `openssl passwd -1` writes). Anything else (plain text, `$5$`/`$6$`)
 * is refused when the file is loaded, naming the line, so a typo never silently locks users out
 * or lets them in.
 */
import { createHash } from 'node:crypto';
import apacheCrypt from 'apache-crypt';
import apacheMd5 from 'apache-md5';
import bcrypt from 'bcryptjs';
import { constantTimeEqual } from './constant-time.js';
import { readCredentialsFile } from './credentials-file.js';

export type HashKind = 'bcrypt' | 'apr1' | 'md5crypt' | 'sha1' | 'crypt';

export interface HtpasswdEntry {
  user: string;
  hash: string;
  kind: HashKind;
}

export class HtpasswdError extends Error {
  override readonly name = 'HtpasswdError';
}

export function hashKind(hash: string): HashKind | undefined {
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return 'bcrypt';
  if (/^\$apr1\$[^$]{1,8}\$[./A-Za-z0-9]{22}$/.test(hash)) return 'apr1';
  if (/^\$1\$[^$]{1,8}\$[./A-Za-z0-9]{22}$/.test(hash)) return 'md5crypt';
  if (/^\{SHA\}[A-Za-z0-9+/]{27}=$/.test(hash)) return 'sha1';
  if (/^[./A-Za-z0-9]{13}$/.test(hash)) return 'crypt';
  return undefined;
}

/** Parses the text of an htpasswd file; `source` names it in errors. */
export function parseHtpasswd(text: string, source = 'htpasswd file'): HtpasswdEntry[] {
  const entries: HtpasswdEntry[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) return;
    const where = `${source} line ${index + 1}`;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new HtpasswdError(`${where}: expected "user:hash"`);
    const user = line.slice(0, colon);
    // Some tools append ":comment" fields after the hash.
    const hash = line.slice(colon + 1).split(':')[0];
    const kind = hashKind(hash);
    if (!kind) {
      throw new HtpasswdError(
        `${where}: unsupported password hash for user "${user}" (use htpasswd -B for bcrypt; -m, -s and -d hashes are accepted too; plain-text passwords are not)`,
      );
    }
    if (seen.has(user)) throw new HtpasswdError(`${where}: user "${user}" appears twice`);
    seen.add(user);
    entries.push({ user, hash, kind });
  });
  return entries;
}

export async function loadHtpasswd(file: string): Promise<HtpasswdEntry[]> {
  let text: string;
  try {
    text = await readCredentialsFile(file);
  } catch (error) {
    throw new HtpasswdError(`cannot read the htpasswd file ${file}: ${(error as Error).message}`);
  }
  const entries = parseHtpasswd(text, file);
  if (entries.length === 0) throw new HtpasswdError(`the htpasswd file ${file} has no users`);
  return entries;
}

/** Checks a password against one stored hash. */
export async function verifyHash(password: string, entry: Pick<HtpasswdEntry, 'hash' | 'kind'>): Promise<boolean> {
  switch (entry.kind) {
    case 'bcrypt':
      // bcryptjs knows $2a$/$2b$; $2y$ (PHP/Apache's name for the fixed variant) is the same algorithm.
      return bcrypt.compare(password, entry.hash.replace(/^\$2y\$/, '$2b$'));
    case 'apr1':
    case 'md5crypt':
      return constantTimeEqual(apacheMd5(utf8Bytes(password), entry.hash), entry.hash);
    case 'sha1':
      return constantTimeEqual(`{SHA}${createHash('sha1').update(password, 'utf8').digest('base64')}`, entry.hash);
    case 'crypt':
      return constantTimeEqual(apacheCrypt(utf8Bytes(password), entry.hash), entry.hash);
  }
}

/**
 * The MD5 and DES libraries hash a string's char codes one byte each; htpasswd hashes the UTF-8
 * bytes. Handing them the bytes as a latin1 string makes non-ASCII passwords match htpasswd's.
 */
function utf8Bytes(password: string): string {
  return Buffer.from(password, 'utf8').toString('latin1');
}
