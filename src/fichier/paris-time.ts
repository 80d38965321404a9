/**
 * 1fichier writes dates as `YYYY-MM-DD HH:MM:SS` in Europe/Paris local time with no zone marker
 * (fichier-api.md §2.3). These helpers convert them to and from UTC instants using the runtime's
 * time-zone database (Intl), so DST rules for any year are right.
 *
 * Ambiguous local times (the repeated hour when clocks go back in October, e.g. 02:30 happens
 * twice) resolve to the FIRST occurrence, i.e. the summer-time (UTC+2) instant.
 * Non-existent local times (the skipped hour in March, e.g. 02:30) are shifted forward by the
 * gap: 02:30 is read as 03:30 summer time (the same instant as 02:30 winter time, UTC+1).
 */

const ZONE = 'Europe/Paris';
const PATTERN = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$/;
const HOUR = 3_600_000;

let formatter: Intl.DateTimeFormat | undefined;
function parisFormatter(): Intl.DateTimeFormat {
  formatter ??= new Intl.DateTimeFormat('en-GB', {
    timeZone: ZONE,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  return formatter;
}

interface Fields {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

function parisFields(utcMs: number): Fields {
  const parts = parisFormatter().formatToParts(new Date(utcMs));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return {
    year: get('year'),
    month: get('month'),
    day: get('day'),
    hour: get('hour'),
    minute: get('minute'),
    second: get('second'),
  };
}

/**
 * Offsets by UTC hour. Paris changes offset only on whole UTC hours (01:00 UTC), so one Intl call
 * per hour is enough; Intl costs tens of microseconds, which a 5 000-file listing felt.
 */
const offsetByHour = new Map<number, number>();

/** Paris UTC offset in ms (+1 h in winter, +2 h in summer) at a UTC instant. */
export function parisOffsetMs(utcMs: number): number {
  const hour = Math.floor(utcMs / HOUR);
  const known = offsetByHour.get(hour);
  if (known !== undefined) return known;
  const start = hour * HOUR;
  const f = parisFields(start);
  const offset = Date.UTC(f.year, f.month - 1, f.day, f.hour, f.minute, f.second) - start;
  if (offsetByHour.size >= 50_000) offsetByHour.clear();
  offsetByHour.set(hour, offset);
  return offset;
}

/** `YYYY-MM-DD HH:MM:SS` (Paris) → the UTC instant. Throws RangeError on a malformed value. */
export function parseParisTime(text: string): Date {
  const m = PATTERN.exec(text.trim());
  if (!m) throw new RangeError(`not a 1fichier date: ${JSON.stringify(text)}`);
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number);
  const localAsUtc = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(localAsUtc);
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    throw new RangeError(`not a valid date: ${JSON.stringify(text)}`);
  }
  // The offsets in force a day before and a day after bound every candidate (no zone changes
  // twice within two days).
  const before = parisOffsetMs(localAsUtc - 24 * HOUR);
  const after = parisOffsetMs(localAsUtc + 24 * HOUR);
  const candidates = [...new Set([before, after])]
    .map((off) => localAsUtc - off)
    .filter((utc) => utc + parisOffsetMs(utc) === localAsUtc)
    .sort((a, b) => a - b);
  if (candidates.length > 0) return new Date(candidates[0]); // first occurrence when ambiguous
  // In the gap: apply the offset in force before the change, which moves the time forward.
  return new Date(localAsUtc - before);
}

/** Like parseParisTime but returns undefined for anything that is not a valid date. */
export function tryParseParisTime(value: unknown): Date | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  try {
    return parseParisTime(value);
  } catch {
    return undefined;
  }
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** A UTC instant → `YYYY-MM-DD HH:MM:SS` in Paris time (sub-second part dropped). */
export function formatParisTime(date: Date): string {
  const ms = date.getTime();
  if (!Number.isFinite(ms)) throw new RangeError('invalid Date');
  const f = parisFields(ms);
  return `${pad(f.year, 4)}-${pad(f.month)}-${pad(f.day)} ${pad(f.hour)}:${pad(f.minute)}:${pad(f.second)}`;
}
