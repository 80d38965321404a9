/**
 * Reads litmus' console output. litmus prints, per suite:
 *
 *   -> running `locks':
 *    0. init.................. pass
 *   18. cond_put_corrupt_token WARNING: PUT failed with 412 not 423
 *       ...................... pass (with 1 warning)
 *   19. something............. FAIL (reason)
 *   20. other................. SKIPPED
 *   <- summary for `locks': of 41 tests run: 40 passed, 1 failed. 97.6%
 *
 * A warning line carries the test name and the message; the verdict follows on the next line.
 */
export type LitmusVerdict = 'pass' | 'fail' | 'skipped';

export interface LitmusTest {
  suite: string;
  index: number;
  name: string;
  verdict: LitmusVerdict;
  /** FAIL reason, when litmus gave one. */
  reason?: string;
  warnings: string[];
}

export interface LitmusSuite {
  name: string;
  /** From the summary line; undefined when litmus stopped before printing it. */
  summary?: { run: number; passed: number; failed: number };
  tests: LitmusTest[];
}

export interface LitmusReport {
  suites: LitmusSuite[];
}

const SUITE_START = /^-> running `([^']+)':/;
const SUMMARY = /^<- summary for `([^']+)': of (\d+) tests run: (\d+) passed, (\d+) failed/;
const TEST_HEADER = /^\s*(\d+)\.\s*([A-Za-z0-9_]+)\.*\s*(.*)$/;
const CONTINUATION = /^\s+\.+\s*(.*)$/;

/**
 * litmus redraws each test line with '\r' (name, then '\r' + name + verdict), so the output is read
 * as '\r'/'\n'-separated segments. After a test that warned, litmus 0.13 prints the next test's
 * line as bare dots without its number or name; such a verdict is given to the next index with the
 * name unknown, so the failure is still reported and counted.
 */
export function parseLitmusOutput(output: string): LitmusReport {
  // Not coloured when not on a terminal, but strip ANSI escapes in case it ever is.
  const segments = output.replace(/\x1b\[[0-9;]*m/g, '').split(/\r\n|\r|\n/);
  const suites: LitmusSuite[] = [];
  let suite: LitmusSuite | undefined;
  let current: LitmusTest | undefined;
  let settled = new Set<LitmusTest>();

  const apply = (rest: string) => {
    const text = rest.trim();
    if (!suite || text === '') return;
    if (!current || settled.has(current)) {
      const index = current ? current.index + 1 : 0;
      current = { suite: suite.name, index, name: '(name not printed)', verdict: 'fail', warnings: [] };
      suite.tests.push(current);
    }
    const warn = /^WARNING:\s*(.*)$/.exec(text);
    if (warn) {
      current.warnings.push(warn[1]);
      return;
    }
    const fail = /^FAIL\b\s*(?:\((.*)\))?/.exec(text);
    if (fail) {
      current.verdict = 'fail';
      if (fail[1] !== undefined) current.reason = fail[1];
    } else if (/^SKIPPED\b/.test(text)) {
      current.verdict = 'skipped';
    } else if (/^pass\b/.test(text)) {
      current.verdict = 'pass';
    } else {
      current.reason = current.reason ? `${current.reason} ${text}` : text;
      return;
    }
    settled.add(current);
  };

  for (const segment of segments) {
    const start = SUITE_START.exec(segment);
    if (start) {
      suite = { name: start[1], tests: [] };
      suites.push(suite);
      current = undefined;
      settled = new Set();
      continue;
    }
    const summary = SUMMARY.exec(segment);
    if (summary && suite) {
      suite.summary = { run: Number(summary[2]), passed: Number(summary[3]), failed: Number(summary[4]) };
      continue;
    }
    if (!suite || /^->|^<-/.test(segment)) continue;
    const header = TEST_HEADER.exec(segment);
    if (header) {
      const index = Number(header[1]);
      let test = suite.tests.find((t) => t.index === index);
      if (test) {
        if (test.name === '(name not printed)') test.name = header[2];
      } else {
        test = { suite: suite.name, index, name: header[2], verdict: 'fail', warnings: [] };
        suite.tests.push(test);
      }
      current = test;
      apply(header[3]);
      continue;
    }
    const cont = CONTINUATION.exec(segment);
    if (cont) apply(cont[1]);
  }
  return { suites };
}

/** One line per test that did not cleanly pass: "suite/NN name: FAIL (reason)" etc. */
export function problems(report: LitmusReport): string[] {
  const out: string[] = [];
  for (const suite of report.suites) {
    for (const t of suite.tests) {
      const id = `${suite.name}/${String(t.index).padStart(2, '0')} ${t.name}`;
      if (t.verdict === 'fail') out.push(`${id}: FAIL${t.reason ? ` (${t.reason})` : ''}`);
      if (t.verdict === 'skipped') out.push(`${id}: SKIPPED`);
      for (const w of t.warnings) out.push(`${id}: WARNING ${w}`);
    }
    if (suite.summary === undefined) out.push(`${suite.name}: no summary (litmus stopped early)`);
    else if (suite.summary.failed > 0 && !suite.tests.some((t) => t.verdict === 'fail')) {
      out.push(`${suite.name}: summary reports ${suite.summary.failed} failure(s)`);
    }
  }
  return out;
}
