/**
 * Human-readable sizes, rates, durations and dates for the account commands. Sizes use binary
 * units (KiB = 1024 B), as `ls -h` and rclone do, so they can be compared with a file manager's.
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

export function humanSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '?';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${bytes} B`;
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${UNITS[unit]}`;
}

export function humanRate(bytesPerSecond: number): string {
  return `${humanSize(Math.round(bytesPerSecond))}/s`;
}

/** 75 → "1m15s"; undefined or infinite → "?". */
export function humanDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** "2026-11-23 13:05" in UTC (scripts compare these; time zones would make them ambiguous). */
export function shortDate(date: Date | undefined): string {
  if (!date || Number.isNaN(date.getTime()) || date.getTime() === 0) return '-';
  return date.toISOString().slice(0, 16).replace('T', ' ');
}

export function isoDate(date: Date | undefined): string | null {
  if (!date || Number.isNaN(date.getTime()) || date.getTime() === 0) return null;
  return date.toISOString();
}

/** Left-aligned columns separated by two spaces; `right` lists the columns aligned right. */
export function table(rows: string[][], right: ReadonlySet<number> = new Set()): string {
  if (rows.length === 0) return '';
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, index) => {
          if (index === row.length - 1) return cell;
          return right.has(index) ? cell.padStart(widths[index]) : cell.padEnd(widths[index]);
        })
        .join('  '),
    )
    .join('\n');
}
