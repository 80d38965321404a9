/**
 * Name rules (fichier-api.md §5, §10 item 8). The raw characters rclone encodes away are treated
 * as forbidden; their full-width look-alikes (＂＇＄＜＞＼｀／␠) are ordinary characters and must
 * round-trip unchanged.
 */
import { MSG } from './messages.js';

const FORBIDDEN = /[\\<>"'$`/\u0000-\u001f\u007f]/g;

export type NameProblem = string | undefined;

/** Why a name would be refused, as a KO message; undefined when it is fine. */
export function nameProblem(name: unknown, maxLength: number): NameProblem {
  if (typeof name !== 'string' || name.length === 0) return MSG.invalidName;
  if ([...name].length > maxLength) return MSG.nameTooLong;
  FORBIDDEN.lastIndex = 0;
  if (FORBIDDEN.test(name)) return MSG.invalidName;
  // "A leading or trailing space" is the ASCII space; String.trim() would also refuse U+3000 and NBSP.
  if (name.startsWith(' ') || name.endsWith(' ') || name === '.' || name === '..') return MSG.invalidName;
  return undefined;
}

/** What an upload stores for a part filename: forbidden characters stripped, outer spaces
 * (ASCII spaces) trimmed, cut to the length limit. Deliberately different from the part name whenever that
 * name was not clean, so clients that do not read the name back from end.pl get caught. */
export function sanitiseUploadName(name: string, maxLength: number): string {
  let out = name.replace(FORBIDDEN, '').replace(/^ +| +$/g, '');
  const chars = [...out];
  if (chars.length > maxLength) out = chars.slice(0, maxLength).join('');
  if (out === '' || out === '.' || out === '..') out = 'fichier';
  return out;
}
