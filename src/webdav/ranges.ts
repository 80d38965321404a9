/**
 * Range header handling (RFC 9110 §14). The decision: no header or a malformed one → the whole file
 * (200); no satisfiable range → 416; otherwise 206 with the ranges clipped to the size. Parsing is delegated to range-parser with `combine`, which
 * merges overlapping and adjacent ranges (so a client cannot make us read the same bytes twice).
 */
import parseRange from 'range-parser';
import type { ByteRange } from '../drive/types.js';

/** More parts than this after coalescing and we serve the whole file instead (a cheap DoS guard). */
export const MAX_RANGES = 64;

export type RangeDecision =
  | { kind: 'full' }
  | { kind: 'unsatisfiable' }
  | { kind: 'partial'; ranges: ByteRange[] };

export function decideRanges(header: string | undefined, size: number): RangeDecision {
  if (header === undefined) return { kind: 'full' };
  const parsed = parseRange(size, clipSuffixes(header, size), { combine: true });
  if (parsed === -2) return { kind: 'full' }; // malformed: ignore the header (RFC 9110 §14.2)
  if (parsed === -1) return { kind: 'unsatisfiable' };
  if (parsed.type !== 'bytes') return { kind: 'full' };
  if (parsed.length === 0) return { kind: 'unsatisfiable' };
  if (parsed.length > MAX_RANGES) return { kind: 'full' };
  // Every satisfiable range answers 206, `bytes=0-` and ranges past the end (clipped to the size by
  // range-parser) included. RFC 9110 §14.2 would allow a 200 for a range covering the whole file,
  // but AVFoundation/Safari and several players read a 200 to a Range request as "no range
  // support"; Apache and nginx answer 206 too.
  return { kind: 'partial', ranges: parsed.map((r) => ({ start: r.start, end: r.end })) };
}

export function contentRange(range: ByteRange, total: number): string {
  return `bytes ${range.start}-${range.end}/${total}`;
}

/**
 * range-parser drops a suffix range longer than the file (`bytes=-40000` on 10 000 bytes), which
 * would make it a 416; RFC 9110 §14.1.3 says such a range selects the whole representation. So a
 * suffix length above the size becomes the size (an empty file keeps its suffix: nothing to select).
 */
function clipSuffixes(header: string, size: number): string {
  if (size === 0) return header;
  return header.replace(/(=|,)(\s*)-(\d+)/g, (spec, separator: string, space: string, length: string) =>
    Number(length) > size ? `${separator}${space}-${size}` : spec,
  );
}
