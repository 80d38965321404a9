/**
 * Drive paths: decoded, absolute, '/'-separated, no trailing slash except the root '/'.
 * The WebDAV layer already validated and decoded them; these helpers only split and join, and
 * refuse anything that would make a name ambiguous upstream.
 */
import { DriveError } from './types.js';

export function splitPath(path: string): string[] {
  if (!path.startsWith('/')) throw new DriveError('bad-request', `path must be absolute: ${JSON.stringify(path)}`);
  const parts = path.split('/').filter((part) => part !== '');
  for (const part of parts) {
    if (part === '.' || part === '..') throw new DriveError('bad-request', `path segment "${part}" is not allowed`);
  }
  return parts;
}

export function joinPath(parts: readonly string[]): string {
  return '/' + parts.join('/');
}

export function parentOf(path: string): string {
  const parts = splitPath(path);
  return joinPath(parts.slice(0, -1));
}

export function leafOf(path: string): string {
  const parts = splitPath(path);
  return parts.length === 0 ? '' : parts[parts.length - 1];
}

export function childPath(folder: string, name: string): string {
  return folder === '/' ? `/${name}` : `${folder}/${name}`;
}

/** true when `path` is `ancestor` itself or lies below it. */
export function isWithin(path: string, ancestor: string): boolean {
  if (ancestor === '/') return true;
  return path === ancestor || path.startsWith(ancestor + '/');
}

/**
 * The form a name is stored in upstream when the drive creates or renames something: Unicode NFC.
 * macOS sends names decomposed (NFD, `e` + U+0301), Windows and Linux composed (NFC); storing one
 * form means a file Finder writes is listed to Windows as Windows spells it. Names already stored
 * upstream (by rclone, the web UI) keep whatever form they have.
 */
export function storedName(name: string): string {
  return name.normalize('NFC');
}

/** The key two names are compared by when they are not equal as strings: their NFC form. */
export function nameKey(name: string): string {
  return name.normalize('NFC');
}
