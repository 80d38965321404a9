import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatParisTime, parseParisTime, tryParseParisTime } from '../../src/fichier/paris-time.js';

const iso = (d: Date) => d.toISOString().replace('.000Z', 'Z');

describe('Paris time ↔ UTC', () => {
  it('uses UTC+1 in winter and UTC+2 in summer (the RI-5421 dump: 14:57 Paris = 12:57 GMT in June)', () => {
    expect(iso(parseParisTime('2021-06-22 14:57:25'))).toBe('2021-06-22T12:57:25Z');
    expect(iso(parseParisTime('2024-01-15 10:00:00'))).toBe('2024-01-15T09:00:00Z');
  });

  // Last Sunday of March at 02:00 → 03:00; last Sunday of October at 03:00 → 02:00.
  const transitions: Array<{ year: number; march: string; october: string }> = [
    { year: 2021, march: '2021-03-28', october: '2021-10-31' },
    { year: 2023, march: '2023-03-26', october: '2023-10-29' },
    { year: 2024, march: '2024-03-31', october: '2024-10-27' },
    { year: 2025, march: '2025-03-30', october: '2025-10-26' },
    { year: 2026, march: '2026-03-29', october: '2026-10-25' },
  ];

  for (const { year, march, october } of transitions) {
    it(`March change ${year}: around the skipped hour, and the missing hour shifts forward`, () => {
      expect(iso(parseParisTime(`${march} 01:59:59`))).toBe(`${march}T00:59:59Z`);
      expect(iso(parseParisTime(`${march} 03:00:00`))).toBe(`${march}T01:00:00Z`);
      // 02:30 does not exist: read as 03:30 summer time
      expect(iso(parseParisTime(`${march} 02:30:00`))).toBe(`${march}T01:30:00Z`);
      expect(formatParisTime(parseParisTime(`${march} 02:30:00`))).toBe(`${march} 03:30:00`);
      expect(iso(parseParisTime(`${march} 02:00:00`))).toBe(`${march}T01:00:00Z`);
    });

    it(`October change ${year}: the repeated hour resolves to its first occurrence`, () => {
      expect(iso(parseParisTime(`${october} 01:59:59`))).toBe(`${october}T23:59:59Z`.replace(october, prevDay(october)));
      // 02:30 happens twice: first at 00:30Z (summer, +2), then at 01:30Z (winter, +1)
      expect(iso(parseParisTime(`${october} 02:30:00`))).toBe(`${october}T00:30:00Z`);
      expect(iso(parseParisTime(`${october} 03:00:00`))).toBe(`${october}T02:00:00Z`);
      // Both UTC instants format to the same Paris text
      expect(formatParisTime(new Date(`${october}T00:30:00Z`))).toBe(`${october} 02:30:00`);
      expect(formatParisTime(new Date(`${october}T01:30:00Z`))).toBe(`${october} 02:30:00`);
    });
  }

  it('formats and parses back every instant outside the repeated hour (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1990, 0, 1) / 1000, max: Date.UTC(2060, 0, 1) / 1000 }), (sec) => {
        const d = new Date(sec * 1000);
        const back = parseParisTime(formatParisTime(d));
        const diff = d.getTime() - back.getTime();
        // equal, or (inside the October repeated hour) the first occurrence, one hour earlier
        expect(diff === 0 || diff === 3_600_000).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('rejects malformed dates clearly', () => {
    expect(() => parseParisTime('2024-02-30 10:00:00')).toThrow(RangeError);
    expect(() => parseParisTime('yesterday')).toThrow(RangeError);
    expect(() => parseParisTime('2024-01-01 24:00:00')).toThrow(RangeError);
    expect(tryParseParisTime('')).toBeUndefined();
    expect(tryParseParisTime(null)).toBeUndefined();
    expect(tryParseParisTime(12)).toBeUndefined();
  });
});

function prevDay(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}
