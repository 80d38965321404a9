/**
 * The retention planner against restic's documented rules ("Removing snapshots according to a
 * policy"): the newest backup of each period, counts per rule, a backup kept by several rules
 * counted once by each, the oldest kept while a rule has counts left, an empty policy keeps all.
 * Expected sets are written out by calendar, not computed by the code under test.
 */
import { describe, expect, it } from 'vitest';
import { isoWeek, planRetention, type KeepPolicy } from '../../src/backup/retention.js';

const NONE: KeepPolicy = { last: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0, yearly: 0 };

function backup(iso: string): { name: string; time: Date } {
  return { name: iso, time: new Date(iso) };
}

/** One backup a day at 02:00 UTC from `from` to `to` inclusive (YYYY-MM-DD). */
function daily(from: string, to: string, hour = '02'): Array<{ name: string; time: Date }> {
  const out = [];
  for (let t = Date.parse(`${from}T${hour}:00:00Z`); t <= Date.parse(`${to}T${hour}:00:00Z`); t += 86_400_000) {
    out.push(backup(new Date(t).toISOString()));
  }
  return out;
}

function kept(list: Array<{ name: string; time: Date }>, policy: Partial<KeepPolicy>, protect: string[] = []): string[] {
  const plan = planRetention(list, { ...NONE, ...policy }, new Set(protect));
  expect(plan.keep.length + plan.remove.length).toBe(list.length);
  return plan.keep.map((k) => k.backup.name.slice(0, 10)).sort();
}

const YEAR_2025 = daily('2025-01-01', '2025-12-31');

describe('a year of daily backups (2025, one a day at 02:00 UTC)', () => {
  it('--keep-daily 7 --keep-weekly 4 --keep-monthly 12 --keep-yearly 3 leaves exactly the calendar set', () => {
    expect(
      kept(YEAR_2025, { daily: 7, weekly: 4, monthly: 12, yearly: 3 }),
    ).toEqual(
      [
        // yearly: 2025's newest is Dec 31; 2 counts are left, so the oldest backup of all stays too
        '2025-01-01',
        // monthly: the newest of each of the 12 months (Dec 31 is also daily, weekly and yearly)
        '2025-01-31', '2025-02-28', '2025-03-31', '2025-04-30', '2025-05-31', '2025-06-30',
        '2025-07-31', '2025-08-31', '2025-09-30', '2025-10-31', '2025-11-30',
        // weekly: the Sundays ending ISO weeks 50, 51, 52 and Wednesday Dec 31 (ISO week 2026-W01)
        '2025-12-14', '2025-12-21',
        // daily: the last 7 days (Dec 28 is also weekly)
        '2025-12-25', '2025-12-26', '2025-12-27', '2025-12-28', '2025-12-29', '2025-12-30', '2025-12-31',
      ].sort(),
    );
  });

  const cases: Array<[string, Partial<KeepPolicy>, string[]]> = [
    ['--keep-last 3: the three newest', { last: 3 }, ['2025-12-29', '2025-12-30', '2025-12-31']],
    ['--keep-weekly 2: the newest of the last two ISO weeks (the year end is in 2026-W01)', { weekly: 2 }, ['2025-12-28', '2025-12-31']],
    ['--keep-monthly 2', { monthly: 2 }, ['2025-11-30', '2025-12-31']],
    ['--keep-yearly 1: one year with backups', { yearly: 1 }, ['2025-12-31']],
    ['--keep-yearly 5 with one year of history: the newest, and the oldest while counts are left', { yearly: 5 }, ['2025-01-01', '2025-12-31']],
    ['overlapping rules keep a backup once: --keep-last 2 --keep-daily 2', { last: 2, daily: 2 }, ['2025-12-30', '2025-12-31']],
    ['--keep-last 1 --keep-monthly 1: both keep Dec 31', { last: 1, monthly: 1 }, ['2025-12-31']],
  ];
  it.each(cases)('%s', (_label, policy, expected) => {
    expect(kept(YEAR_2025, policy)).toEqual(expected);
  });

  it('an empty policy removes nothing (restic: "no policy was specified")', () => {
    expect(kept(YEAR_2025, {})).toHaveLength(365);
  });

  it('the backup just made is never removed, whatever the policy says', () => {
    const plan = planRetention(YEAR_2025, { ...NONE, last: 1 }, new Set([YEAR_2025[100].name]));
    expect(plan.keep.map((k) => k.backup.name)).toEqual([YEAR_2025[364].name, YEAR_2025[100].name]);
    expect(plan.keep[1].reasons).toEqual(['just made']);
    expect(plan.remove).toHaveLength(363);
  });
});

describe('periods', () => {
  it('several backups a day: --keep-daily keeps the newest of each day', () => {
    const list = [backup('2026-03-01T01:00:00Z'), backup('2026-03-01T23:00:00Z'), backup('2026-03-02T05:00:00Z'), backup('2026-03-02T06:00:00Z'), backup('2026-03-03T00:30:00Z')];
    const plan = planRetention(list, { ...NONE, daily: 2 });
    expect(plan.keep.map((k) => k.backup.name)).toEqual(['2026-03-03T00:30:00Z', '2026-03-02T06:00:00Z']);
  });

  it('--keep-hourly keeps the newest of each hour; days without backups do not count', () => {
    const list = [backup('2026-03-01T10:05:00Z'), backup('2026-03-01T10:50:00Z'), backup('2026-03-01T11:10:00Z'), backup('2026-03-05T09:00:00Z')];
    const plan = planRetention(list, { ...NONE, hourly: 2 });
    expect(plan.keep.map((k) => k.backup.name)).toEqual(['2026-03-05T09:00:00Z', '2026-03-01T11:10:00Z']);
  });

  it('ISO weeks cross the new year: 2020-12-31 and 2021-01-03 are both 2020-W53', () => {
    expect(isoWeek(new Date('2020-12-31T12:00:00Z'))).toBe(202053);
    expect(isoWeek(new Date('2021-01-03T12:00:00Z'))).toBe(202053);
    expect(isoWeek(new Date('2021-01-04T00:00:00Z'))).toBe(202101);
    expect(isoWeek(new Date('2024-12-30T00:00:00Z'))).toBe(202501);
    const list = [backup('2020-12-30T00:00:00Z'), backup('2020-12-31T00:00:00Z'), backup('2021-01-03T00:00:00Z'), backup('2021-01-04T00:00:00Z')];
    expect(planRetention(list, { ...NONE, weekly: 2 }).keep.map((k) => k.backup.name)).toEqual(['2021-01-04T00:00:00Z', '2021-01-03T00:00:00Z']);
  });

  it('a rule with counts left also keeps the oldest backup (restic 0.14 and later)', () => {
    const list = daily('2026-01-01', '2026-02-10');
    expect(kept(list, { monthly: 3 })).toEqual(['2026-01-01', '2026-01-31', '2026-02-10']);
  });

  it('refuses a negative or fractional count', () => {
    expect(() => planRetention(YEAR_2025, { ...NONE, daily: -1 })).toThrow(/keep-daily/);
    expect(() => planRetention(YEAR_2025, { ...NONE, last: 1.5 })).toThrow(/keep-last/);
  });
});
