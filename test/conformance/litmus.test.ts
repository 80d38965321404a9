/**
 * The litmus WebDAV compliance suites (basic, copymove, props, locks, http) against the server over
 * the in-memory drive, one fresh server per suite. Any FAIL, SKIPPED or WARNING fails the test,
 * with the offending test names in the message (the README, "WebDAV conformance", explains the expected results).
 *
 * `TESTS="locks props"` picks suites (litmus' own variable). Without the litmus binary the tests
 * skip locally, and fail when CI is set: CI must install it (`apt-get install -y litmus`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryDrive } from '../../src/drive/memory-drive.js';
import { LockManager } from '../../src/webdav/lock-manager.js';
import { startWebDavServer } from '../../src/webdav/server.js';
import type { Logger } from '../../src/webdav/handler.js';
import { parseLitmusOutput, problems } from './litmus-output.js';
import { findExecutable, runLitmus } from './litmus-run.js';
import { startStack } from '../integration/helpers.js';

const ALL_SUITES = ['basic', 'copymove', 'props', 'locks', 'http'];
const suites = (process.env.TESTS ?? ALL_SUITES.join(' ')).split(/\s+/).filter(Boolean);
const litmus = findExecutable('litmus');
if (!litmus && !process.env.CI) {
  console.warn('litmus not installed: skipping the WebDAV compliance suites (apt-get install -y litmus)');
}

const errors: string[] = [];
const logger: Logger = {
  info: () => {},
  warn: () => {},
  error: (message, fields) => errors.push(`${message} ${JSON.stringify(fields ?? {})}`),
};

/** What litmus runs against: the WebDAV layer alone, and the product (bridge + 1fichier simulator). */
const targets: Array<{ name: string; start: () => Promise<{ url: string; close(): Promise<void> }> }> = [
  {
    name: 'memory drive',
    start: async () => {
      const server = await startWebDavServer({ drive: new MemoryDrive(), locks: new LockManager(), logger });
      return { url: server.url, close: () => server.close() };
    },
  },
  {
    name: 'bridge over the 1fichier simulator',
    start: async () => {
      const stack = await startStack({}, { logger });
      return { url: stack.url, close: () => stack.close() };
    },
  },
];

describe.each(targets)('litmus against the $name', ({ start }) => {
  for (const suite of suites) {
    it(`suite ${suite}: every test passes without warnings`, async (ctx) => {
      if (!litmus) {
        if (process.env.CI) throw new Error('litmus is not installed (CI must run `apt-get install -y litmus`)');
        return ctx.skip('litmus binary not found on PATH: `apt-get install -y litmus` to run the compliance suites');
      }
      const server = await start();
      const cwd = mkdtempSync(join(tmpdir(), 'litmus-'));
      errors.length = 0;
      try {
        const run = await runLitmus(litmus, `${server.url}/`, suite, cwd);
        const report = parseLitmusOutput(run.output);
        const found = report.suites.find((s) => s.name === suite);
        const issues = problems(report);
        if (!found) issues.push(`suite ${suite} did not run (exit ${run.code}):\n${run.output.slice(-2000)}`);
        const summary = found?.summary;
        expect(issues, `litmus ${suite}: ${summary ? `${summary.passed}/${summary.run} passed` : 'no summary'}`).toEqual([]);
        expect(run.code).toBe(0);
        expect(errors, 'server logged unexpected errors').toEqual([]);
      } finally {
        await server.close();
        rmSync(cwd, { recursive: true, force: true });
      }
    }, 120_000);
  }

});

describe('litmus harness', () => {
  // The harness itself must be able to fail: against a class-1 server (no lock manager) litmus
  // warns and skips the rest of the locks suite yet prints "3 passed, 0 failed": both must surface.
  it('reports skipped tests as problems (harness self-check)', async (ctx) => {
    if (!litmus) {
      if (process.env.CI) throw new Error('litmus is not installed (CI must run `apt-get install -y litmus`)');
      return ctx.skip('litmus binary not found on PATH');
    }
    const server = await startWebDavServer({ drive: new MemoryDrive(), logger });
    const cwd = mkdtempSync(join(tmpdir(), 'litmus-'));
    try {
      const run = await runLitmus(litmus, `${server.url}/`, 'locks', cwd);
      const issues = problems(parseLitmusOutput(run.output));
      expect(issues).toEqual([
        'locks/02 options: WARNING server does not claim Class 2 compliance',
        'locks/03 precond: SKIPPED',
      ]);
    } finally {
      await server.close();
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 120_000);
});
