/**
 * The settings `backup` and `restore` read beyond the account's, declared from the SETTINGS table
 * (config.ts), so each is also a FICHIER_DAV_* variable and a config-file key; and the test hook
 * for the clock.
 */
import type { Command } from 'commander';
import { KEEP_RULES, type KeepPolicy } from '../../backup/retention.js';
import { SETTINGS, type SettingKey, type SettingValues } from '../config.js';
import { CliError, ExitCode } from '../exit-codes.js';

export const BACKUP_SETTING_KEYS = [
  'keepLast',
  'keepHourly',
  'keepDaily',
  'keepWeekly',
  'keepMonthly',
  'keepYearly',
  'compression',
  'encrypt',
  'recipientsFile',
  'passphraseFile',
  'spoolLimit',
  'progressInterval',
] as const satisfies readonly SettingKey[];

export const RESTORE_SETTING_KEYS = ['identityFile', 'passphraseFile', 'progressInterval'] as const satisfies readonly SettingKey[];

export type BackupSettings = SettingValues<(typeof BACKUP_SETTING_KEYS)[number]>;

/** Declares the flags of `keys` (no commander defaults: loadSettings applies them). */
export function addCommandSettings(command: Command, keys: readonly SettingKey[]): Command {
  for (const key of keys) {
    const setting = SETTINGS[key];
    const fallback = 'default' in setting && setting.default !== undefined ? ` (default: ${String(setting.default)})` : '';
    command.option(setting.flag, `${setting.description}${fallback}`);
  }
  return command;
}

export function keepPolicy(values: BackupSettings): KeepPolicy {
  const policy = {} as KeepPolicy;
  for (const rule of KEEP_RULES) policy[rule] = values[`keep${rule[0].toUpperCase()}${rule.slice(1)}` as `keepLast`];
  return policy;
}

/**
 * Test hook: FICHIER_DAV_BACKUP_NOW (an ISO 8601 time) replaces the clock for the backup's
 * timestamp, so tests can make a year of backups in seconds. Not meant for production use.
 */
export const BACKUP_NOW_ENV = 'FICHIER_DAV_BACKUP_NOW';

export function backupTime(env: NodeJS.ProcessEnv = process.env): Date {
  const raw = env[BACKUP_NOW_ENV];
  if (!raw) return new Date();
  const time = new Date(raw);
  if (Number.isNaN(time.getTime())) throw new CliError(`${BACKUP_NOW_ENV} must be an ISO 8601 time, e.g. 2026-01-31T02:00:00Z`, ExitCode.usage);
  return time;
}

/** The exit codes only `backup` uses, for its --help. */
export const BACKUP_EXIT_HELP = [
  `  ${String(ExitCode.busy).padEnd(4)}another run of this backup holds its lock (nothing was done)`,
  `  ${String(ExitCode.verification).padEnd(4)}the upload failed verification; the bad copy was removed, nothing else`,
  `  ${String(ExitCode.retention).padEnd(4)}the backup is made and verified, but removing old backups failed`,
].join('\n');
