/**
 * The retention planner: which backups a keep policy keeps and which it removes, with restic's
 * semantics ("Removing snapshots according to a policy" in restic's documentation), in UTC:
 *
 * - Backups are taken newest first. Each rule (last, hourly, daily, weekly, monthly, yearly) has
 *   a count N and a period: a backup is kept by the rule when it is the newest one of its period
 *   (hour, day, ISO week, month, year; for `last`, every backup is its own period) and the rule
 *   has kept fewer than N so far. Periods without a backup do not count.
 * - When a rule still has counts left after the newest backup of each period it saw, it also keeps
 *   the oldest backup of all (restic does this since 0.14: it keeps the longest history the
 *   counts allow).
 * - A backup kept by several rules is kept once; the rules' counts are consumed independently.
 * - An empty policy (every count 0) keeps everything, as restic does.
 * - ISO weeks start on Monday; week 1 holds the year's first Thursday.
 *
 * Pure: no clock, no I/O. The caller also passes the backup just made, which is never removed.
 */

export interface KeepPolicy {
  last: number;
  hourly: number;
  daily: number;
  weekly: number;
  monthly: number;
  yearly: number;
}

export type KeepRule = keyof KeepPolicy;

export const KEEP_RULES: readonly KeepRule[] = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'];

export interface Dated {
  name: string;
  time: Date;
}

export interface RetentionPlan<T extends Dated> {
  /** Newest first, each with the rules that keep it. */
  keep: Array<{ backup: T; reasons: string[] }>;
  /** Newest first. */
  remove: T[];
}

/** The ISO 8601 week of a UTC date as year*100 + week (the ISO year may differ from the calendar year). */
export function isoWeek(time: Date): number {
  const day = new Date(Date.UTC(time.getUTCFullYear(), time.getUTCMonth(), time.getUTCDate()));
  const weekday = day.getUTCDay() || 7; // Monday 1 … Sunday 7
  day.setUTCDate(day.getUTCDate() + 4 - weekday); // the Thursday of this week decides the year
  const year = day.getUTCFullYear();
  const week = Math.ceil(((day.getTime() - Date.UTC(year, 0, 1)) / 86_400_000 + 1) / 7);
  return year * 100 + week;
}

/** The period a backup falls in for each rule; `last` gives every backup its own. */
function periodOf(rule: KeepRule, time: Date, index: number): number {
  const y = time.getUTCFullYear();
  const m = time.getUTCMonth() + 1;
  const d = time.getUTCDate();
  switch (rule) {
    case 'last':
      return index;
    case 'hourly':
      return ((y * 100 + m) * 100 + d) * 100 + time.getUTCHours();
    case 'daily':
      return (y * 100 + m) * 100 + d;
    case 'weekly':
      return isoWeek(time);
    case 'monthly':
      return y * 100 + m;
    case 'yearly':
      return y;
  }
}

export function isEmptyPolicy(policy: KeepPolicy): boolean {
  return KEEP_RULES.every((rule) => policy[rule] === 0);
}

/** "keep 7 daily, 4 weekly" (for logs and the JSON summary). */
export function describePolicy(policy: KeepPolicy): string {
  const parts = KEEP_RULES.filter((rule) => policy[rule] > 0).map((rule) => `${policy[rule]} ${rule}`);
  return parts.length === 0 ? 'keep everything (no --keep-* rule given)' : `keep ${parts.join(', ')}`;
}

/**
 * Splits `backups` into kept and removed by `policy`. `protect` names backups that stay whatever
 * the policy says (the one just made), with the reason "just made".
 */
export function planRetention<T extends Dated>(backups: readonly T[], policy: KeepPolicy, protect: ReadonlySet<string> = new Set()): RetentionPlan<T> {
  for (const rule of KEEP_RULES) {
    if (!Number.isInteger(policy[rule]) || policy[rule] < 0) throw new RangeError(`keep-${rule} must be a non-negative integer, got ${policy[rule]}`);
  }
  // Newest first; equal times keep the caller's order (a stable sort), as restic's does.
  const sorted = [...backups].sort((a, b) => b.time.getTime() - a.time.getTime());
  const plan: RetentionPlan<T> = { keep: [], remove: [] };
  if (isEmptyPolicy(policy)) {
    plan.keep = sorted.map((backup) => ({ backup, reasons: ['no policy'] }));
    return plan;
  }
  const left = { ...policy };
  const lastPeriod = new Map<KeepRule, number>();
  sorted.forEach((backup, index) => {
    const reasons: string[] = [];
    for (const rule of KEEP_RULES) {
      if (left[rule] <= 0) continue;
      const period = periodOf(rule, backup.time, index);
      const oldest = index === sorted.length - 1;
      if (period !== lastPeriod.get(rule) || oldest) {
        lastPeriod.set(rule, period);
        left[rule] -= 1;
        reasons.push(rule);
      }
    }
    if (protect.has(backup.name)) reasons.push('just made');
    if (reasons.length > 0) plan.keep.push({ backup, reasons });
    else plan.remove.push(backup);
  });
  return plan;
}
