/**
 * HTTP conditional requests (RFC 9110 §13) for GET/HEAD and writes, evaluated in the order §13.2.2
 * prescribes: If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since. If-Range lives
 * with the range logic (ranges.ts).
 */
import type { DriveEntry } from '../drive/types.js';
import { quotedEtag } from './props/format.js';

export type ConditionalOutcome = 'proceed' | 'not-modified' | 'precondition-failed';

type Getter = (name: string) => string | undefined;

/** Entity tags listed in an If-Match / If-None-Match value; '*' yields ['*']. */
export function parseEtagList(value: string): string[] {
  const trimmed = value.trim();
  if (trimmed === '*') return ['*'];
  const tags: string[] = [];
  // An entity tag cannot contain '"' but may contain ',', so match tags rather than split.
  for (const m of trimmed.matchAll(/(W\/)?"[^"]*"/g)) tags.push(m[0]);
  return tags;
}

const stripWeak = (tag: string) => (tag.startsWith('W/') ? tag.slice(2) : tag);

/** HTTP dates only have second precision: compare on whole seconds. */
function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

export function parseHttpDate(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : new Date(t);
}

/**
 * `entry` undefined = the resource does not exist (If-Match fails, If-None-Match: * passes).
 * `safe` = GET/HEAD: a matching If-None-Match gives 304 instead of 412.
 */
export function evaluateConditionals(header: Getter, entry: DriveEntry | undefined, safe: boolean): ConditionalOutcome {
  const etag = entry ? quotedEtag(entry.etag) : undefined;
  const ifMatch = header('if-match');
  if (ifMatch !== undefined) {
    const tags = parseEtagList(ifMatch);
    const ok = etag !== undefined && (tags.includes('*') || tags.some((t) => !t.startsWith('W/') && t === etag));
    if (!ok) return 'precondition-failed';
  } else {
    const since = parseHttpDate(header('if-unmodified-since'));
    if (since && entry && seconds(entry.modified) > seconds(since)) return 'precondition-failed';
  }
  const ifNoneMatch = header('if-none-match');
  if (ifNoneMatch !== undefined) {
    const tags = parseEtagList(ifNoneMatch);
    const matches = etag !== undefined && (tags.includes('*') || tags.some((t) => stripWeak(t) === etag));
    if (matches) return safe ? 'not-modified' : 'precondition-failed';
  } else if (safe && entry) {
    const since = parseHttpDate(header('if-modified-since'));
    if (since && seconds(entry.modified) <= seconds(since)) return 'not-modified';
  }
  return 'proceed';
}

/** If-Range (RFC 9110 §13.1.5): true when the Range header may be honoured. */
export function ifRangeAllows(value: string | undefined, entry: DriveEntry): boolean {
  if (value === undefined) return true;
  const v = value.trim();
  if (v.startsWith('"') || v.startsWith('W/')) return v === quotedEtag(entry.etag);
  const date = parseHttpDate(v);
  return date !== undefined && seconds(date) === seconds(entry.modified);
}
