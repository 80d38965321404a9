/**
 * Dates as 1fichier writes them: `YYYY-MM-DD HH:MM:SS` in Europe/Paris local time, no zone marker
 * (fichier-api.md §2.3). Written from Intl on purpose: the simulator must not share date code with
 * the client, or a shared bug would go unnoticed.
 */
const formatter = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Paris',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});

function parts(epochMs: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of formatter.formatToParts(new Date(epochMs))) {
    if (p.type !== 'literal') out[p.type] = Number(p.value);
  }
  return out;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

export function formatParis(epochMs: number): string {
  const p = parts(epochMs);
  return `${pad(p.year!, 4)}-${pad(p.month!)}-${pad(p.day!)} ${pad(p.hour!)}:${pad(p.minute!)}:${pad(p.second!)}`;
}

/** Offset of Paris local time from UTC at an instant, in ms (3 600 000 in winter, 7 200 000 in summer). */
function parisOffset(epochMs: number): number {
  const p = parts(epochMs);
  const asUtc = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!);
  return asUtc - Math.floor(epochMs / 1000) * 1000;
}

/** Parses a Paris local `YYYY-MM-DD HH:MM:SS` (time optional) into epoch ms; undefined if malformed. */
export function parseParis(text: unknown): number | undefined {
  if (typeof text !== 'string') return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0'] = m;
  const local = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  if (Number.isNaN(local)) return undefined;
  // Two passes settle the offset around DST changes.
  let guess = local - parisOffset(local);
  guess = local - parisOffset(guess);
  return guess;
}
