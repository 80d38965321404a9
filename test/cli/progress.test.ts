import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { humanDuration, humanSize, shortDate, table } from '../../src/cli/commands/format.js';
import { createProgress } from '../../src/cli/commands/progress.js';

function sink() {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      text += chunk.toString();
      callback();
    },
  }) as unknown as NodeJS.WriteStream;
  return { stream, lines: () => text.trim().split('\n') };
}

describe('plain progress lines (stderr not a terminal)', () => {
  let now = 0;
  beforeEach(() => {
    vi.useFakeTimers();
    now = 1_000_000;
  });
  afterEach(() => vi.useRealTimers());

  it('prints bytes, percentage, rate and ETA every interval, a line per finished file, and a total', () => {
    const out = sink();
    const progress = createProgress({ verb: 'upload', stream: out.stream, tty: false, intervalSeconds: 5, now: () => now });
    const a = progress.start('a.bin', 10 * 1024 * 1024);
    const b = progress.start('b.bin', 1024 * 1024);
    now += 5_000;
    a.update(5 * 1024 * 1024);
    b.update(512 * 1024);
    vi.advanceTimersByTime(5_000);
    expect(out.lines()).toEqual([
      'upload a.bin: 5.0 MiB / 10.0 MiB (50%), 1.0 MiB/s, ETA 5s',
      'upload b.bin: 512 KiB / 1.0 MiB (50%), 102 KiB/s, ETA 5s',
      'upload total so far: 2 files, 5.5 MiB / 11.0 MiB (50%) in 5s (1.1 MiB/s)',
    ]);
    now += 5_000;
    a.done();
    b.stage('verifying');
    vi.advanceTimersByTime(5_000);
    b.done();
    progress.stop();
    expect(out.lines().slice(3)).toEqual([
      'upload a.bin: done, 10.0 MiB in 10s (1.0 MiB/s)',
      'upload b.bin: 512 KiB / 1.0 MiB (50%), 51.2 KiB/s, ETA 10s, verifying',
      'upload total so far: 2 files, 10.5 MiB / 11.0 MiB (95%) in 10s (1.1 MiB/s)',
      'upload b.bin: done, 1.0 MiB in 10s (102 KiB/s)',
      'upload total: 2 files, 11.0 MiB / 11.0 MiB (100%) in 10s (1.1 MiB/s)',
    ]);
    // Nothing more once stopped.
    vi.advanceTimersByTime(60_000);
    expect(out.lines()).toHaveLength(8);
  });

  it('a resumed download counts only this run\'s bytes in its rate and says where it resumed', () => {
    const out = sink();
    const progress = createProgress({ verb: 'download', stream: out.stream, tty: false, intervalSeconds: 5, now: () => now });
    const t = progress.start('movie.mkv', 4 * 1024 * 1024, 3 * 1024 * 1024);
    now += 2_000;
    t.done();
    progress.stop();
    expect(out.lines()).toEqual(['download movie.mkv: done, 1.0 MiB in 2s (512 KiB/s), resumed at 3.0 MiB']);
  });

  it('a failure says how far it got', () => {
    const out = sink();
    const progress = createProgress({ verb: 'download', stream: out.stream, tty: false, intervalSeconds: 5, now: () => now });
    const t = progress.start('x.bin', 2048);
    t.update(1024);
    t.fail('connection reset');
    progress.stop();
    expect(out.lines()).toEqual(['download x.bin: failed at 1.0 KiB of 2.0 KiB: connection reset']);
  });

  it('--quiet prints no progress, only logged lines', () => {
    const out = sink();
    const progress = createProgress({ verb: 'upload', stream: out.stream, tty: false, intervalSeconds: 5, quiet: true });
    const t = progress.start('a', 10);
    t.update(5);
    vi.advanceTimersByTime(60_000);
    t.done();
    progress.log('uploaded a');
    progress.stop();
    expect(out.lines()).toEqual(['uploaded a']);
  });
});

describe('bars on a terminal', () => {
  it('draws a bar per file and a total, with sizes, rate and ETA', () => {
    const out = sink();
    (out.stream as { isTTY?: boolean; columns?: number }).isTTY = true;
    (out.stream as { columns?: number }).columns = 200;
    const progress = createProgress({ verb: 'upload', stream: out.stream, intervalSeconds: 5 });
    const a = progress.start('a.bin', 1000);
    const b = progress.start('b.bin', 1000);
    a.update(500);
    b.done();
    a.done();
    progress.stop();
    const text = out.lines().join('\n');
    expect(text).toMatch(/a\.bin\s+█+░*\s+\d+% /);
    expect(text).toContain('1000 B/1000 B done');
    expect(text).toMatch(/total\s+█+\s+100% 2.0 KiB\/2.0 KiB \S+ \S+\/s ETA/);
  });
});

describe('formatting', () => {
  it('sizes, durations, dates and tables', () => {
    expect([0, 1023, 1024, 1536, 10 * 1024 ** 2, 123.4 * 1024 ** 3, 5 * 1024 ** 4].map(humanSize)).toEqual([
      '0 B',
      '1023 B',
      '1.0 KiB',
      '1.5 KiB',
      '10.0 MiB',
      '123 GiB',
      '5.0 TiB',
    ]);
    expect([0, 59.4, 75, 3600 + 120, undefined, Infinity].map(humanDuration)).toEqual(['0s', '59s', '1m15s', '1h02m', '?', '?']);
    expect(shortDate(new Date('2026-11-23T13:05:59Z'))).toBe('2026-11-23 13:05');
    expect(shortDate(new Date(0))).toBe('-');
    expect(table([['a', '1', 'x'], ['bbb', '22', 'y']], new Set([1]))).toBe('a     1  x\nbbb  22  y');
  });
});
