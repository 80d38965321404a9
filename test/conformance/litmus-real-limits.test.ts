/**
 * litmus `copymove` against the product (bridge + simulator) at 1fichier's REAL limits (time scale 1:
 * one listing per folder per 30 s, about 3 calls/s). A write must never wait a listing window out
 * into an error: the drive answers from listings it holds fresh, patched by its own writes. Takes
 * about a minute or two; skipped locally without litmus, failed on CI without it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Logger } from '../../src/webdav/handler.js';
import { startStack } from '../integration/helpers.js';
import { findExecutable, runLitmus } from './litmus-run.js';
import { parseLitmusOutput, problems } from './litmus-output.js';

const litmus = findExecutable('litmus');

describe('litmus copymove against the bridge at real limits (time scale 1)', () => {
  it('passes every test without warnings and without a logged error', async (ctx) => {
    if (!litmus) {
      if (process.env.CI) throw new Error('litmus is not installed (CI must run `apt-get install -y litmus`)');
      return ctx.skip('litmus binary not found on PATH');
    }
    const errors: string[] = [];
    const logger: Logger = { info: () => {}, warn: () => {}, error: (message, fields) => errors.push(`${message} ${JSON.stringify(fields ?? {})}`) };
    const stack = await startStack({ timeScale: 1 }, { logger, client: { timeScale: 1 } });
    const cwd = mkdtempSync(join(tmpdir(), 'litmus-real-'));
    try {
      const run = await runLitmus(litmus, `${stack.url}/`, 'copymove', cwd, 280_000);
      const report = parseLitmusOutput(run.output);
      const found = report.suites.find((s) => s.name === 'copymove');
      const issues = problems(report);
      if (!found) issues.push(`copymove did not run (exit ${run.code}):\n${run.output.slice(-2000)}`);
      expect(issues, run.output.slice(-3000)).toEqual([]);
      expect(run.code).toBe(0);
      expect(errors).toEqual([]);
    } finally {
      await stack.close();
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 300_000);
});
