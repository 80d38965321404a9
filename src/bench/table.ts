/** Renders the rows as a fixed-width text table (also pasted into docs/performance.md). */
import type { Row } from './result.js';

const COLUMNS: [keyof Row, string][] = [
  ['row', 'row'],
  ['measure', 'measure'],
  ['bridge', 'bridge'],
  ['direct', 'direct'],
  ['ratio', 'ratio b/d'],
  ['apiCalls', 'API calls b / d'],
  ['target', 'target'],
  ['met', 'met'],
];

export function renderTable(rows: Row[]): string {
  const cells = rows.map((r) => COLUMNS.map(([key]) => String(r[key] ?? '')));
  const widths = COLUMNS.map(([, title], i) => Math.max(title.length, ...cells.map((c) => c[i]!.length)));
  const line = (values: string[]) => '| ' + values.map((v, i) => v.padEnd(widths[i]!)).join(' | ') + ' |';
  const out = [line(COLUMNS.map(([, t]) => t)), '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|', ...cells.map(line)];
  const notes = rows.filter((r) => r.note).map((r) => `  ${r.row}: ${r.note}`);
  if (notes.length) out.push('', 'Notes:', ...notes);
  return out.join('\n');
}
