import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseLitmusOutput, problems } from './litmus-output.js';

// Real output of litmus 0.13 (`TESTS="basic locks" litmus -k`) against a server answering every
// request with an empty 201, captured with stdout piped (the '\r' redraws included).
const broken = readFileSync(new URL('./fixtures/litmus-broken-server.txt', import.meta.url), 'utf8');

describe('parseLitmusOutput', () => {
  const report = parseLitmusOutput(broken);

  it('finds both suites and their summaries', () => {
    expect(report.suites.map((s) => s.name)).toEqual(['basic', 'locks']);
    expect(report.suites[0].summary).toEqual({ run: 16, passed: 10, failed: 6 });
    expect(report.suites[1].summary).toEqual({ run: 13, passed: 8, failed: 5 });
  });

  it('sees every test once, including the one whose name litmus did not print', () => {
    expect(report.suites[0].tests.map((t) => t.index)).toEqual([...Array(16).keys()]);
    expect(report.suites[1].tests.map((t) => t.index)).toEqual([...Array(41).keys()]);
    expect(report.suites[0].tests[4].name).toBe('(name not printed)');
  });

  it('counts verdicts as litmus does', () => {
    for (const suite of report.suites) {
      const passed = suite.tests.filter((t) => t.verdict === 'pass').length;
      const failed = suite.tests.filter((t) => t.verdict === 'fail').length;
      expect({ passed, failed }).toEqual({ passed: suite.summary?.passed, failed: suite.summary?.failed });
    }
    expect(report.suites[1].tests.filter((t) => t.verdict === 'skipped')).toHaveLength(28);
  });

  it('keeps warnings and failure reasons with their test', () => {
    const basic = report.suites[0].tests;
    expect(basic[3]).toMatchObject({ name: 'put_get', verdict: 'pass', warnings: ['length mismatch: 0 vs 41'] });
    expect(basic[4]).toMatchObject({ verdict: 'pass', warnings: ['length mismatch: 0 vs 41'] });
    expect(basic[9].warnings).toHaveLength(1);
    expect(basic[8]).toMatchObject({ name: 'delete_null', verdict: 'fail', reason: 'DELETE nonexistent resource succeeded' });
    expect(report.suites[1].tests[6]).toMatchObject({ name: 'lock_excl', verdict: 'fail' });
  });

  it('lists every problem, one line each', () => {
    const lines = problems(report);
    expect(lines).toContain('basic/08 delete_null: FAIL (DELETE nonexistent resource succeeded)');
    expect(lines).toContain('basic/03 put_get: WARNING length mismatch: 0 vs 41');
    expect(lines).toContain('locks/07 discover: SKIPPED');
    expect(lines.filter((l) => l.includes('FAIL'))).toHaveLength(11);
  });

  it('reports nothing for a clean run', () => {
    const clean = '-> running `basic\':\n\r 0. init.................. \r 0. init.................. pass\n<- summary for `basic\': of 1 tests run: 1 passed, 0 failed. 100.0%\n';
    expect(problems(parseLitmusOutput(clean))).toEqual([]);
  });

  it('flags a suite that never printed its summary', () => {
    expect(problems(parseLitmusOutput('-> running `basic\':\n\r 0. init.................. pass\n'))).toEqual([
      'basic: no summary (litmus stopped early)',
    ]);
  });
});
