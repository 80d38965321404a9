/**
 * The read-cache flags (src/cli/cache-options.ts) and the drive-side defaults they fall back to.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { cacheOptionsFrom, parseByteSize, parseDuration, type CacheFlags } from '../../src/cli/cache-options.js';
import { addSettingOptions, CACHE_SETTING_KEYS, resolveSettings } from '../../src/cli/config.js';
import { cacheSettingsFrom } from '../../src/drive/block-cache/drive-options.js';
import { checkSettings } from '../../src/drive/block-cache/options.js';

function parse(args: string[]): CacheFlags {
  const command = addSettingOptions(new Command().exitOverride().configureOutput({ writeErr: () => {} }), CACHE_SETTING_KEYS);
  command.parse(args, { from: 'user' });
  return resolveSettings(CACHE_SETTING_KEYS, { flags: command.opts(), env: {} }).values as CacheFlags;
}

describe('read cache flags', () => {
  it('parses sizes and durations in human forms', () => {
    expect(parseByteSize('10G')).toBe(10 * 1024 ** 3);
    expect(parseByteSize('512M')).toBe(512 * 1024 ** 2);
    expect(parseByteSize('4MiB')).toBe(4 * 1024 ** 2);
    expect(parseByteSize('1.5g')).toBe(1.5 * 1024 ** 3);
    expect(parseByteSize('65536')).toBe(65536);
    expect(parseByteSize('0')).toBe(0);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('12h')).toBe(12 * 3_600_000);
    expect(parseDuration('30m')).toBe(1_800_000);
    expect(parseDuration('45s')).toBe(45_000);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
    for (const bad of ['', 'ten', '10X', '-1G', '1e9']) expect(() => parseByteSize(bad), bad).toThrow(/size/);
    for (const bad of ['', 'soon', '0', '7y', '-2d']) expect(() => parseDuration(bad), bad).toThrow(/duration/);
  });

  it('turns flags into drive options, with defaults left to the drive', () => {
    expect(cacheOptionsFrom(parse([]))).toEqual({ readCache: true });
    expect(
      cacheOptionsFrom(
        parse(['--cache-dir', '/tmp/c', '--cache-max-size', '20G', '--cache-max-age', '12h', '--cache-block-size', '8M', '--read-ahead', '0', '--prefetch-probes']),
      ),
    ).toEqual({
      readCache: true,
      cacheDir: '/tmp/c',
      cacheMaxBytes: 20 * 1024 ** 3,
      cacheMaxAgeMs: 12 * 3_600_000,
      cacheBlockSize: 8 * 1024 ** 2,
      readAheadMaxBytes: 0,
      prefetchProbes: true,
    });
    expect(cacheOptionsFrom(parse(['--no-read-cache']))).toEqual({ readCache: false });
    expect(cacheOptionsFrom(parse(['--no-cache-direct-io']))).toEqual({ readCache: true, cacheDirectIo: false });
    expect(cacheSettingsFrom({ spoolDir: '/s/a/spool', ...cacheOptionsFrom(parse(['--no-cache-direct-io'])) })?.directIo).toBe(false);
    expect(cacheSettingsFrom({ spoolDir: '/s/a/spool' })?.directIo).toBe(true);
  });

  it('refuses bad values with a clear message', () => {
    expect(() => parse(['--cache-block-size', '1K'])).toThrow(/between 64K and 64M/);
    expect(() => parse(['--cache-max-size', '0'])).toThrow(/more than 0/);
    expect(() => parse(['--cache-max-age', 'forever'])).toThrow(/duration/);
  });

  it('defaults: on, 10 GiB, 7 days, 1 MiB blocks, 64 MiB read-ahead, blocks/ beside the spool', () => {
    const settings = cacheSettingsFrom({ spoolDir: '/state/account/spool' })!;
    expect(settings).toMatchObject({
      dir: '/state/account/blocks',
      maxBytes: 10 * 1024 ** 3,
      maxAgeMs: 7 * 86_400_000,
      blockSize: 1024 ** 2,
      readAheadMaxBytes: 64 * 1024 ** 2,
    });
    expect(checkSettings(settings)).toBe(settings);
    expect(cacheSettingsFrom({ spoolDir: '/s/spool', readCache: false })).toBeUndefined();
    expect(() => checkSettings({ ...settings, blockSize: 1000 })).toThrow(/block size/);
    expect(() => checkSettings({ ...settings, maxBytes: 10 })).toThrow(/at least one block/);
  });
});
