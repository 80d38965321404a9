/**
 * Settings of every command from flags, environment variables and an optional JSON config file,
 * with ONE precedence: flag > environment > config file > default.
 *
 * Every setting is declared once in SETTINGS (its flag, environment variables, config key,
 * parser and default), so the commands, the help text and the reference table in the README
 * all come from the same place (a test checks the docs against it).
 *
 * The config file holds no secret: the API key comes from FICHIER_API_KEY or a key file
 * (`apiKeyFile`), never from the config itself, so the config can be shared or committed.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { CliError, ExitCode } from './exit-codes.js';

export type Origin = 'flag' | 'env' | 'file' | 'default';

export interface Setting<T> {
  /** Option name as commander stores it (camelCase) and key in the config file. */
  key: string;
  /** Command-line flag with its placeholder, e.g. "--rate <calls>". */
  flag: string;
  /** Environment variables, first set wins. */
  env: readonly string[];
  description: string;
  default?: T;
  /** Turns a flag/env string or a config-file value into the setting; throws Error(message) when invalid. */
  parse(raw: unknown): T;
}

function text(raw: unknown): string {
  if (typeof raw === 'string') return raw.trim();
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  throw new Error('must be a string');
}

function nonEmpty(raw: unknown): string {
  const value = text(raw);
  if (!value) throw new Error('must not be empty');
  return value;
}

function number(raw: unknown): number {
  const value = typeof raw === 'number' ? raw : Number(text(raw));
  if (!Number.isFinite(value) || text(raw) === '') throw new Error('must be a number');
  return value;
}

function positive(raw: unknown): number {
  const value = number(raw);
  if (value <= 0) throw new Error('must be a positive number');
  return value;
}

function integerIn(min: number, max: number) {
  return (raw: unknown): number => {
    const value = number(raw);
    if (!Number.isInteger(value) || value < min || value > max) throw new Error(`must be an integer from ${min} to ${max}`);
    return value;
  };
}

function oneOf<T extends string>(...choices: T[]) {
  return (raw: unknown): T => {
    const value = text(raw);
    if (!(choices as string[]).includes(value)) throw new Error(`must be one of ${choices.join(', ')}`);
    return value as T;
  };
}

/** `~` and relative paths are resolved (relative to the current directory) when the setting is read. */
export function expandPath(raw: unknown): string {
  const value = nonEmpty(raw);
  const home = homedir();
  const expanded = value === '~' ? home : value.startsWith('~/') ? join(home, value.slice(2)) : value;
  return isAbsolute(expanded) ? expanded : resolve(expanded);
}

function apiUrl(raw: unknown): string {
  const value = nonEmpty(raw).replace(/\/+$/, '');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('must be an absolute http(s) URL, e.g. https://api.1fichier.com/v1');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('must be an http(s) URL');
  return value;
}

/** A byte count: a plain integer, or one with a binary unit (K, M, G, T; "GiB" and "GB" read the same). */
function byteSize(raw: unknown): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text(raw));
  if (!match) throw new Error('must be a size such as 500M, 20G or a number of bytes');
  const power = ' KMGT'.indexOf(match[2].toUpperCase() || ' ');
  const value = Math.floor(Number(match[1]) * 1024 ** power);
  if (value <= 0) throw new Error('must be more than 0 bytes');
  return value;
}

function yesNo(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  const value = text(raw).toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off'].includes(value)) return false;
  throw new Error('must be true or false');
}

function keepCount(rule: string, period: string) {
  const key = `keep${rule[0].toUpperCase()}${rule.slice(1)}` as const;
  return {
    key,
    flag: `--keep-${rule} <n>`,
    env: [`FICHIER_DAV_KEEP_${rule.toUpperCase()}`],
    description: `backup: keep the newest backup of each of the last N ${period} that have one (restic's rules)`,
    default: 0,
    parse: integerIn(0, 1_000_000),
  };
}

export const SETTINGS = {
  apiUrl: {
    key: 'apiUrl',
    flag: '--api-url <url>',
    env: ['FICHIER_DAV_API_URL'],
    description: "1fichier API base URL (a simulator's apiUrl for testing)",
    default: 'https://api.1fichier.com/v1',
    parse: apiUrl,
  } satisfies Setting<string>,
  apiKeyFile: {
    key: 'apiKeyFile',
    flag: '--api-key-file <file>',
    env: ['FICHIER_API_KEY_FILE'],
    description: 'read the API key from this file (otherwise FICHIER_API_KEY)',
    parse: expandPath,
  } satisfies Setting<string>,
  stateDir: {
    key: 'stateDir',
    flag: '--state-dir <dir>',
    env: ['FICHIER_DAV_STATE_DIR'],
    description: 'local state: empty files, properties, API windows (default: per account under ~/.cache/fichier-dav)',
    parse: expandPath,
  } satisfies Setting<string>,
  rate: {
    key: 'rate',
    flag: '--rate <calls>',
    env: ['FICHIER_DAV_RATE'],
    description: 'API calls per second (at most 3, 1fichier\'s limit)',
    default: 2,
    parse: (raw: unknown) => {
      const value = positive(raw);
      if (value > 3) throw new Error('must be at most 3: 1fichier allows about 3 calls/s');
      return value;
    },
  } satisfies Setting<number>,
  timeScale: {
    key: 'timeScale',
    flag: '--time-scale <s>',
    env: ['FICHIER_DAV_TIME_SCALE'],
    description: 'advanced: multiply every API-limit duration (only for simulators run with the same scale)',
    default: 1,
    parse: positive,
  } satisfies Setting<number>,
  retries: {
    key: 'retries',
    flag: '--retries <n>',
    env: ['FICHIER_DAV_RETRIES'],
    description: 'tries per API call, the first included, before giving up (a flood waits 30 s, then 60 s...)',
    default: 3,
    parse: integerIn(1, 10),
  } satisfies Setting<number>,
  transfers: {
    key: 'transfers',
    flag: '--transfers <n>',
    env: ['FICHIER_DAV_TRANSFERS'],
    description: 'files uploaded at once',
    default: 2,
    parse: integerIn(1, 4),
  } satisfies Setting<number>,
  progressInterval: {
    key: 'progressInterval',
    flag: '--progress-interval <s>',
    env: ['FICHIER_DAV_PROGRESS_INTERVAL'],
    description: 'seconds between plain progress lines when stderr is not a terminal',
    default: 5,
    parse: positive,
  } satisfies Setting<number>,
  host: {
    key: 'host',
    flag: '--host <host>',
    env: ['FICHIER_DAV_HOST'],
    description: 'serve: interface to listen on',
    default: '127.0.0.1',
    parse: nonEmpty,
  } satisfies Setting<string>,
  port: {
    key: 'port',
    flag: '--port <port>',
    env: ['FICHIER_DAV_PORT', 'PORT'],
    description: 'serve: port to listen on',
    default: 8080,
    parse: integerIn(0, 65535),
  } satisfies Setting<number>,
  downloads: {
    key: 'downloads',
    flag: '--downloads <mode>',
    env: ['FICHIER_DAV_DOWNLOADS'],
    description: 'serve: stream (through the bridge) or redirect (302 to the direct link)',
    default: 'stream',
    parse: oneOf('stream', 'redirect'),
  } satisfies Setting<'stream' | 'redirect'>,
  logLevel: {
    key: 'logLevel',
    flag: '--log-level <level>',
    env: ['FICHIER_DAV_LOG_LEVEL'],
    description: 'serve: error, warn, info or debug',
    default: 'info',
    parse: oneOf('error', 'warn', 'info', 'debug'),
  } satisfies Setting<'error' | 'warn' | 'info' | 'debug'>,
  keepLast: { ...keepCount('last', 'backups'), description: 'backup: keep the N newest backups' } satisfies Setting<number>,
  keepHourly: keepCount('hourly', 'hours') satisfies Setting<number>,
  keepDaily: keepCount('daily', 'days') satisfies Setting<number>,
  keepWeekly: keepCount('weekly', 'ISO weeks') satisfies Setting<number>,
  keepMonthly: keepCount('monthly', 'months') satisfies Setting<number>,
  keepYearly: keepCount('yearly', 'years') satisfies Setting<number>,
  compression: {
    key: 'compression',
    flag: '--compression <kind>',
    env: ['FICHIER_DAV_COMPRESSION'],
    description: 'backup: compress the tar archive with zstd, gzip, or none',
    default: 'zstd',
    parse: oneOf('zstd', 'gzip', 'none'),
  } satisfies Setting<'zstd' | 'gzip' | 'none'>,
  encrypt: {
    key: 'encrypt',
    flag: '--encrypt',
    env: ['FICHIER_DAV_ENCRYPT'],
    description: 'backup: encrypt the archive with age before it leaves this machine (key: --recipients-file, --passphrase-file or FICHIER_DAV_BACKUP_PASSPHRASE)',
    default: false,
    parse: yesNo,
  } satisfies Setting<boolean>,
  recipientsFile: {
    key: 'recipientsFile',
    flag: '--recipients-file <file>',
    env: ['FICHIER_DAV_RECIPIENTS_FILE'],
    description: 'backup: encrypt to the age public keys (age1…) in this file, one a line',
    parse: expandPath,
  } satisfies Setting<string>,
  passphraseFile: {
    key: 'passphraseFile',
    flag: '--passphrase-file <file>',
    env: ['FICHIER_DAV_PASSPHRASE_FILE'],
    description: 'backup, restore: read the encryption passphrase from this file (otherwise FICHIER_DAV_BACKUP_PASSPHRASE)',
    parse: expandPath,
  } satisfies Setting<string>,
  identityFile: {
    key: 'identityFile',
    flag: '--identity-file <file>',
    env: ['FICHIER_DAV_IDENTITY_FILE'],
    description: 'restore: decrypt with the age identities (AGE-SECRET-KEY-1…) in this file',
    parse: expandPath,
  } satisfies Setting<string>,
  spoolLimit: {
    key: 'spoolLimit',
    flag: '--spool-limit <size>',
    env: ['FICHIER_DAV_SPOOL_LIMIT'],
    description: "backup: largest archive spooled to disk before its upload (default: the spool disk's free space less 1 GiB)",
    parse: byteSize,
  } satisfies Setting<number>,
} as const;

export type Settings = typeof SETTINGS;
export type SettingKey = keyof Settings;
type ValueOf<S> = S extends { parse(raw: unknown): infer T } ? (S extends { default: unknown } ? T : T | undefined) : never;
export type SettingValues<K extends SettingKey> = { [P in K]: ValueOf<Settings[P]> };

/** The settings every account command reads. */
export const ACCOUNT_SETTING_KEYS = ['apiUrl', 'apiKeyFile', 'stateDir', 'rate', 'timeScale', 'retries'] as const satisfies readonly SettingKey[];
/** What `serve` can take from here (the lead wires it in serve.ts). */
export const SERVE_SETTING_KEYS = ['apiUrl', 'apiKeyFile', 'stateDir', 'rate', 'timeScale', 'host', 'port', 'downloads', 'logLevel'] as const satisfies readonly SettingKey[];

export interface ConfigFile {
  path: string;
  values: Record<string, unknown>;
}

/** The file used when neither --config nor FICHIER_DAV_CONFIG names one: $XDG_CONFIG_HOME/fichier-dav/config.json. */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'fichier-dav', 'config.json');
}

/**
 * Reads the config file: `explicit` (--config), else FICHIER_DAV_CONFIG, else the default path.
 * A file named explicitly must exist; the default one is optional.
 */
export async function readConfigFile(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<ConfigFile | undefined> {
  const named = explicit ?? (env.FICHIER_DAV_CONFIG?.trim() || undefined);
  const path = named ? expandPath(named) : defaultConfigPath(env);
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    if (!named && code === 'ENOENT') return undefined;
    throw new CliError(`cannot read the config file ${path} (${code}): fix the path given to --config or FICHIER_DAV_CONFIG`, ExitCode.usage);
  }
  return { path, values: parseConfigText(raw, path) };
}

/** Validates the JSON of a config file: an object whose keys are known settings. */
export function parseConfigText(raw: string, path: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch (error) {
    throw new CliError(`the config file ${path} is not valid JSON (${(error as Error).message})`, ExitCode.usage);
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) {
    throw new CliError(`the config file ${path} must hold a JSON object, e.g. {"apiKeyFile": "~/.config/fichier-dav/key"}`, ExitCode.usage);
  }
  const values = data as Record<string, unknown>;
  for (const key of Object.keys(values)) {
    if (key === 'apiKey' || key === 'key') {
      throw new CliError(
        `the config file ${path} must not hold the API key ("${key}"): put the key alone in a file (chmod 600) and set "apiKeyFile", or use FICHIER_API_KEY`,
        ExitCode.usage,
      );
    }
    if (key.startsWith('$') || key.startsWith('//')) continue; // "$schema" and comment keys
    if (!(key in SETTINGS)) {
      throw new CliError(`unknown setting "${key}" in the config file ${path}; known settings: ${Object.keys(SETTINGS).join(', ')}`, ExitCode.usage);
    }
  }
  return values;
}

export interface SettingSources {
  /** Commander's option values: only the flags actually given must be present (declare no commander defaults). */
  flags: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
  file?: ConfigFile;
}

export interface ResolvedSettings<K extends SettingKey> {
  values: SettingValues<K>;
  origins: Record<K, Origin>;
}

/** Applies flag > environment > config file > default to each setting in `keys`. */
export function resolveSettings<K extends SettingKey>(keys: readonly K[], sources: SettingSources): ResolvedSettings<K> {
  const env = sources.env ?? process.env;
  const values = {} as Record<K, unknown>;
  const origins = {} as Record<K, Origin>;
  for (const key of keys) {
    const setting: Setting<unknown> = SETTINGS[key];
    const parse = (raw: unknown, where: string): unknown => {
      try {
        return setting.parse(raw);
      } catch (error) {
        throw new CliError(`${where}: ${(error as Error).message}`, ExitCode.usage);
      }
    };
    const flagValue = sources.flags[setting.key];
    if (flagValue !== undefined) {
      values[key] = parse(flagValue, setting.flag.split(' ')[0]);
      origins[key] = 'flag';
      continue;
    }
    const envName = setting.env.find((name) => env[name] !== undefined && env[name] !== '');
    if (envName) {
      values[key] = parse(env[envName], envName);
      origins[key] = 'env';
      continue;
    }
    const fileValue = sources.file?.values[setting.key];
    if (fileValue !== undefined && fileValue !== null) {
      values[key] = parse(fileValue, `"${setting.key}" in ${sources.file!.path}`);
      origins[key] = 'file';
      continue;
    }
    values[key] = setting.default;
    origins[key] = 'default';
  }
  return { values: values as SettingValues<K>, origins };
}

/** readConfigFile + resolveSettings: what a command's action calls with its commander options. */
export async function loadSettings<K extends SettingKey>(
  keys: readonly K[],
  flags: Record<string, unknown> & { config?: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedSettings<K> & { file?: ConfigFile }> {
  const file = await readConfigFile(flags.config, env);
  return { ...resolveSettings(keys, { flags, env, file }), file };
}

/**
 * Which key file to read, honouring the same precedence for the key itself:
 * --api-key-file > FICHIER_API_KEY (the key) > FICHIER_API_KEY_FILE > "apiKeyFile" in the config.
 * undefined means "use FICHIER_API_KEY" (loadApiKey then explains what is missing).
 */
export function apiKeyFileToRead(resolved: { apiKeyFile?: string }, origin: Origin, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (origin === 'flag') return resolved.apiKeyFile;
  if (env.FICHIER_API_KEY?.trim()) return undefined;
  return resolved.apiKeyFile;
}

/** Declares the flags of `keys` on a command (no commander defaults: the loader applies them). */
export function addSettingOptions(command: Command, keys: readonly SettingKey[]): Command {
  for (const key of keys) {
    const setting: Setting<unknown> = SETTINGS[key];
    const defaultText = setting.default !== undefined ? ` (default: ${String(setting.default)})` : '';
    command.option(setting.flag, `${setting.description}${defaultText}`);
  }
  command.option('--config <file>', 'JSON config file (default: ~/.config/fichier-dav/config.json when it exists; or FICHIER_DAV_CONFIG)');
  return command;
}

/** The configuration reference as a markdown table (the README carries it; a test keeps them in step). */
export function settingsReferenceMarkdown(): string {
  const rows = Object.values(SETTINGS).map((raw) => {
    const setting = raw as Setting<unknown>;
    const flag = setting.flag.split(' ')[0];
    const def = setting.default !== undefined ? `\`${String(setting.default)}\`` : '—';
    return `| \`${setting.key}\` | \`${flag}\` | ${setting.env.map((name) => `\`${name}\``).join(', ')} | ${def} | ${setting.description} |`;
  });
  return ['| config key | flag | environment | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}
