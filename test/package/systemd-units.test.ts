/**
 * The systemd units in scripts/ are hardened: `systemd-analyze security` (from Debian's systemd
 * package, installed by .ci/run) rates each at most 3.0, core dumps are off (a core would hold the
 * API key), and the template unit gives each account its own env file and state directory.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/built-cli.js';

const dir = mkdtempSync(join(tmpdir(), 'fichier-dav-units-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The exposure score systemd-analyze prints on its last line ("... exposure level for X: 1.4 OK"). */
function exposure(unitFile: string): number {
  const result = spawnSync('systemd-analyze', ['security', '--offline=true', '--no-pager', unitFile], { encoding: 'utf8' });
  const match = /exposure level for \S+: (\d+(?:\.\d+)?)/.exec(result.stdout + result.stderr);
  expect(match, result.stdout + result.stderr).not.toBeNull();
  return Number(match![1]);
}

describe('systemd units', () => {
  it('fichier-dav.service rates at most 3.0 and turns core dumps off', () => {
    const unit = join(ROOT, 'scripts', 'fichier-dav.service');
    expect(exposure(unit)).toBeLessThanOrEqual(3.0);
    expect(readFileSync(unit, 'utf8')).toMatch(/^LimitCORE=0$/m);
  });

  it('fichier-dav@ACCOUNT.service: one env file and state directory per account, at most 3.0', () => {
    const template = join(ROOT, 'scripts', 'fichier-dav@.service');
    const text = readFileSync(template, 'utf8');
    expect(text).toMatch(/^EnvironmentFile=\/etc\/fichier-dav\/%i\.env$/m);
    expect(text).toMatch(/^StateDirectory=fichier-dav\/%i$/m);
    expect(text).toMatch(/FICHIER_DAV_STATE_DIR=\/var\/lib\/fichier-dav\/%i/);
    expect(text).toMatch(/^LimitCORE=0$/m);
    const instance = join(dir, 'fichier-dav@home.service');
    copyFileSync(template, instance);
    expect(exposure(instance)).toBeLessThanOrEqual(3.0);
  });
});
