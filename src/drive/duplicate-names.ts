/**
 * 1fichier allows several files with the same name in one folder (uploads never overwrite), and a
 * file may share its name with a sub-folder. A file system cannot show that, so every upstream
 * file gets a unique, stable path:
 *
 * - The plain name goes to the sub-folder if there is one, otherwise to the newest file of that
 *   name (ties broken by file id, so the choice is stable).
 * - Every other file of that name is listed as `stem [id].ext`, where id is the file's 1fichier
 *   id (the part after `?` in its URL). That alias also resolves for the newest file, so a path
 *   a client saw once keeps pointing at the same upstream file after other duplicates come and go.
 *
 * The rule is deterministic: the same upstream listing always yields the same names.
 */
import { nameKey } from './paths.js';

export interface NamedUpstreamFile {
  /** Decoded (real) file name. */
  name: string;
  /** 1fichier file URL, e.g. https://1fichier.com/?2zk52quqlm0cbjr93ri5 */
  url: string;
  modified: Date;
}

export function fileIdOf(url: string): string {
  const query = url.indexOf('?');
  const raw = query >= 0 ? url.slice(query + 1) : url.slice(url.lastIndexOf('/') + 1);
  // Affiliate or other suffixes (`&af=...`) are not part of the id.
  return raw.split('&')[0];
}

export function aliasName(name: string, url: string): string {
  const id = fileIdOf(url);
  const dot = name.lastIndexOf('.');
  // A leading dot (".bashrc") is not an extension separator.
  if (dot <= 0) return `${name} [${id}]`;
  return `${name.slice(0, dot)} [${id}]${name.slice(dot)}`;
}

/** Parses `stem [id].ext` back into the original name and the id; undefined if not an alias. */
export function parseAlias(name: string): { name: string; id: string } | undefined {
  const match = /^(.*) \[([a-z0-9]{5,20})\](\.[^.]*)?$/.exec(name);
  if (!match) return undefined;
  return { name: match[1] + (match[3] ?? ''), id: match[2] };
}

function newestFirst(a: NamedUpstreamFile, b: NamedUpstreamFile): number {
  const byDate = b.modified.getTime() - a.modified.getTime();
  if (byDate !== 0) return byDate;
  return fileIdOf(a.url) < fileIdOf(b.url) ? -1 : 1;
}

/**
 * Assigns each file its visible name. `folderNames` are the names of the sub-folders in the same
 * folder, which always keep their plain names.
 */
export function assignVisibleNames<T extends NamedUpstreamFile>(
  files: readonly T[],
  folderNames: ReadonlySet<string>,
): Map<string, T> {
  const byName = new Map<string, T[]>();
  for (const file of files) {
    const group = byName.get(file.name);
    if (group) group.push(file);
    else byName.set(file.name, [file]);
  }
  const visible = new Map<string, T>();
  const aliased: T[] = [];
  for (const [name, group] of byName) {
    group.sort(newestFirst);
    group.forEach((file, index) => {
      if (index === 0 && !folderNames.has(name)) visible.set(name, file);
      else aliased.push(file);
    });
  }
  // Plain names first: a real file literally named like an alias keeps its name, and the aliased
  // file stays reachable through resolveVisibleName's id lookup.
  for (const file of aliased) {
    const alias = aliasName(file.name, file.url);
    if (!visible.has(alias) && !folderNames.has(alias)) visible.set(alias, file);
  }
  return visible;
}

/**
 * Finds the file a visible name refers to: the plain name first, then the `stem [id].ext` alias
 * of any file in the folder (including the newest one).
 */
export function resolveVisibleName<T extends NamedUpstreamFile>(
  visible: ReadonlyMap<string, T>,
  files: readonly T[],
  name: string,
): T | undefined {
  const direct = visible.get(name);
  if (direct) return direct;
  const alias = parseAlias(name);
  if (!alias) return undefined;
  return files.find((file) => file.name === alias.name && fileIdOf(file.url) === alias.id);
}

/**
 * The file a visible name refers to when only its normalised form matches (a macOS client asking
 * for `Cafe\u0301.txt` when `Caf\u00e9.txt` is listed, or the other way round): the visible names
 * in listing order, then the aliases. Names compare by `nameKey` (their NFC form).
 */
export function resolveNormalisedName<T extends NamedUpstreamFile>(
  visible: ReadonlyMap<string, T>,
  files: readonly T[],
  name: string,
): T | undefined {
  const wanted = nameKey(name);
  for (const [visibleName, file] of visible) if (nameKey(visibleName) === wanted) return file;
  const alias = parseAlias(name);
  if (!alias) return undefined;
  const aliasKey = nameKey(alias.name);
  return files.find((file) => nameKey(file.name) === aliasKey && fileIdOf(file.url) === alias.id);
}
