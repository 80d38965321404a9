/** One line of the table, plus the raw numbers that go to bench/results.json. */
export type Met = 'yes' | 'no' | '-';

export interface Row {
  row: string;
  measure: string;
  bridge: string;
  direct: string;
  /** bridge / direct (throughput: higher is better; time: lower is better). */
  ratio: string;
  apiCalls: string;
  target: string;
  met: Met;
  note?: string;
  values: Record<string, unknown>;
}

export function fmt(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toFixed(digits);
}

export function ratio(bridge: number, direct: number): string {
  if (!Number.isFinite(bridge) || !Number.isFinite(direct) || direct === 0) return 'n/a';
  return `${(bridge / direct).toFixed(2)}x`;
}

export function met(condition: boolean): Met {
  return condition ? 'yes' : 'no';
}
