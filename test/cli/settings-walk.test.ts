/**
 * Every setting of every command is reachable three ways from its one definition in SETTINGS: the
 * command-line flag, each FICHIER_DAV_* environment variable, and the config-file key (a secret is
 * refused in the config file with a message naming where it goes). And every option a command
 * takes is either a setting or a per-invocation switch listed here, so a new serve flag cannot
 * skip the table.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  ACCOUNT_SETTING_KEYS,
  addSettingOptions,
  DEMO_SETTING_KEYS,
  parseConfigText,
  resolveSettings,
  SERVE_SETTING_KEYS,
  SETTINGS,
  type Setting,
  type SettingKey,
} from '../../src/cli/config.js';
import { BACKUP_SETTING_KEYS, RESTORE_SETTING_KEYS } from '../../src/cli/commands/backup-options.js';
import { buildProgram } from '../../src/cli/program.js';

/** A valid value for settings without a default (the others use their default's text). */
const SAMPLES: Partial<Record<string, string>> = {
  apiKeyFile: '/etc/fichier-dav/key',
  stateDir: '/var/lib/fichier-dav',
  metricsPort: '9464',
  user: 'alice',
  pass: 'a-long-password',
  htpasswd: '/etc/fichier-dav/htpasswd',
  users: '/etc/fichier-dav/users.yaml',
  tlsCert: '/etc/fichier-dav/cert.pem',
  tlsKey: '/etc/fichier-dav/key.pem',
  cacheDir: '/var/cache/fichier-dav',
  cacheMaxSize: '20G',
  cacheMaxAge: '3d',
  cacheBlockSize: '2M',
  readAhead: '32M',
  parallelStreams: '3',
  account: 'household',
  redisUrl: 'redis://127.0.0.1:6379',
  recipientsFile: '/etc/fichier-dav/backup.recipients',
  passphraseFile: '/etc/fichier-dav/backup.passphrase',
  identityFile: '/etc/fichier-dav/backup.identity',
  spoolLimit: '20G',
  publicUrl: 'https://media.example.org/dav',
  notifyWebhook: 'http://127.0.0.1:3030/triggers/fichier-dav',
  notifyJellyfin: 'http://127.0.0.1:8096',
  notifyJellyfinKey: '0123456789abcdef0123456789abcdef',
  notifyJellyfinKeyFile: '/etc/fichier-dav/jellyfin.key',
  notifyPlex: 'http://127.0.0.1:32400',
  notifyPlexToken: 'plex-token-0123456789',
  notifyPlexTokenFile: '/etc/fichier-dav/plex.token',
  notifyPathMap: 'jellyfin:/Vidéos=/mnt/fichier/Vidéos',
  notifyDelay: '5s',
  watch: '/Vidéos',
  watchInterval: '10m',
  strmDir: '/srv/media/strm',
  jitterMs: '200',
};

/** Options that are not settings: they say what this one invocation does, not how the program runs. */
const SWITCHES: Record<string, string[]> = {
  '*': ['--config', '--verbose', '--help', '--json'],
  ls: ['--bytes', '--long', '--fresh'],
  info: ['--bytes'],
  upload: ['--recursive', '--parents', '--force', '--quiet'],
  download: ['--force', '--no-verify', '--quiet'],
  link: ['--public-only'],
  share: ['--expires', '--max-downloads', '--password', '--list', '--revoke'],
  mkdir: ['--parents'],
  rm: ['--recursive', '--dry-run'],
  mv: ['--force'],
  'remote-upload': ['--parents', '--header', '--to'],
  backup: ['--to', '--list', '--dry-run', '--quiet'],
  restore: ['--force', '--quiet'],
  strm: ['--json'],
  // The simulator is a test tool with its own flags (its options mirror 1fichier's, not ours).
  simulate: ['*'],
};

const keys = Object.keys(SETTINGS) as SettingKey[];
const isBooleanFlag = (setting: Setting<unknown>) => !setting.flag.includes('<');

/** [the raw text for flag/env, the value a config file would hold] */
function sample(key: SettingKey): [string, unknown] {
  const setting: Setting<unknown> = SETTINGS[key];
  if (isBooleanFlag(setting)) {
    const flagValue = !setting.flag.startsWith('--no-');
    return [String(flagValue), flagValue];
  }
  const raw = SAMPLES[key] ?? (setting.default !== undefined ? String(setting.default) : undefined);
  if (raw === undefined) throw new Error(`setting ${key} has no default: add a sample value for it to SAMPLES in this test`);
  return [raw, raw];
}

describe('every setting: flag, environment variable, config key', () => {
  for (const key of keys) {
    it(key, () => {
      const setting: Setting<unknown> = SETTINGS[key];
      const [raw, fileValue] = sample(key);
      const expected = setting.parse(raw);

      const command = addSettingOptions(new Command().exitOverride().configureOutput({ writeErr: () => {} }), [key]);
      const args = isBooleanFlag(setting) ? [setting.flag] : [setting.flag.split(' ')[0], raw];
      command.parse(args, { from: 'user' });
      const byFlag = resolveSettings([key], { flags: command.opts(), env: {} });
      expect(byFlag.origins[key]).toBe('flag');
      expect(byFlag.values[key]).toEqual(expected);

      expect(setting.env.length).toBeGreaterThan(0);
      for (const name of setting.env) {
        expect(name).toMatch(/^(FICHIER_DAV_[A-Z_]+|FICHIER_API_KEY_FILE|PORT)$/);
        const byEnv = resolveSettings([key], { flags: {}, env: { [name]: raw } });
        expect(byEnv.origins[key], name).toBe('env');
        expect(byEnv.values[key], name).toEqual(expected);
      }

      const json = JSON.stringify({ [key]: fileValue });
      if (setting.secret) {
        expect(() => parseConfigText(json, 'config.json')).toThrow(/must not hold a secret/);
        return;
      }
      const byFile = resolveSettings([key], { flags: {}, env: {}, file: { path: 'config.json', values: parseConfigText(json, 'config.json') } });
      expect(byFile.origins[key]).toBe('file');
      expect(byFile.values[key]).toEqual(expected);
    });
  }
});

describe('the commands', () => {
  it('every setting is read by some command', () => {
    const read = new Set<string>(['publicUrl', ...ACCOUNT_SETTING_KEYS, ...SERVE_SETTING_KEYS, ...DEMO_SETTING_KEYS, ...BACKUP_SETTING_KEYS, ...RESTORE_SETTING_KEYS, 'transfers', 'progressInterval']);
    expect(keys.filter((key) => !read.has(key))).toEqual([]);
  });

  it('every option of every command is a setting or a per-invocation switch', () => {
    const settingFlags = new Set(Object.values(SETTINGS).map((setting) => (setting as Setting<unknown>).flag.split(' ')[0]));
    const strays: string[] = [];
    for (const command of buildProgram().commands) {
      const allowed = [...SWITCHES['*'], ...(SWITCHES[command.name()] ?? [])];
      if (allowed.includes('*')) continue;
      for (const option of command.options) {
        if (option.long && !settingFlags.has(option.long) && !allowed.includes(option.long)) strays.push(`${command.name()} ${option.long}`);
      }
    }
    expect(strays).toEqual([]);
  });
});
