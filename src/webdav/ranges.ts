/**
 * Range header handling (RFC 9110 §14). Parsing is delegated to range-parser with `combine`, which
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
  const parsed = parseRange(size, header, { combine: true });
  if (parsed === -2) return { kind: 'full' }; // malformed: ignore the header (RFC 9110 §14.2)
  if (parsed === -1) return { kind: 'unsatisfiable' };
  if (parsed.type !== 'bytes') return { kind: 'full' };
  if (parsed.length === 0) return { kind: 'unsatisfiable' };
  if (parsed.length > MAX_RANGES) return { kind: 'full' };
  const ranges = parsed.map((r) => ({ start: r.start, end: r.end }));
  // One range covering the whole file is just a 200.
  if (ranges.length === 1 && ranges[0].start === 0 && ranges[0].end === size - 1) return { kind: 'full' };
  return { kind: 'partial', ranges };
}

export function contentRange(range: ByteRange, total: number): string {
  return `bytes ${range.start}-${range.end}/${total}`;
}
