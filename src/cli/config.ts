/**
 * Settings of every command from flags, environment variables and an optional JSON config file,
 * with ONE precedence: flag > environment > config file > default.
 *
 * Every setting is declared once in SETTINGS (its flag, environment variables, config key,
 * parser and default), so the commands, the help text and the reference table in docs/configuration.md
 * all come from the same place (a test checks the docs against it).
 *
 * The config file holds no secret: the API key comes from FICHIER_API_KEY or a key file
 * (`apiKeyFile`), never from the config itself, so the config can be shared or committed.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { CACHE_DEFAULTS, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE } from '../drive/block-cache/options.js';
import { ACCOUNT_DOWNLOAD_CONNECTIONS, DEFAULT_DOWNLOAD_CONNECTIONS } from '../drive/connection-budget.js';
import { DEFAULT_CONNECTIONS_PER_FILE } from '../drive/upstream-connections.js';
import { parseByteSize, parseDuration } from './cache-options.js';
import { CliError, ExitCode } from './exit-codes.js';
import { parseLogFormat, type LogFormat } from './logging.js';
import { parsePathRule } from '../notify/path-map.js';
import { configDirectory } from './platform-dirs.js';

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
  /**
   * A secret (a password): flag and environment only. The config file refuses it, so the
   * config can be shared or committed; `hint` says where the secret goes instead.
   */
  secret?: { hint: string };
  /**
   * Given several times (`--watch /A --watch /B`): the flag repeats, the environment variable
   * separates values with ';', the config file holds a JSON array. The value is an array.
   */
  repeatable?: boolean;
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
  // A JSON true, list or object in the config file is not "a string" to fix: say what is wanted.
  if (typeof raw !== 'number' && typeof raw !== 'string') throw new Error('must be a number');
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

/** On/off settings: a bare flag, `true`/`false`, `1`/`0`, `yes`/`no` (env and config file). */
function boolean(raw: unknown): boolean {
  if (typeof raw === 'boolean') return raw;
  const value = text(raw).toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  throw new Error('must be true or false (or 1/0, yes/no)');
}

/**
 * The longest wait a Node timer makes (2^31 - 1 ms, about 24.8 days). A setting that becomes a
 * timer must stay below it: beyond, Node fires the timer after 1 ms with only a warning, so
 * `--watch-interval 30d` listed the folders again without pause.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;
const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/** Seconds, 0 or more (0 often means "never"), at most a timer's reach. */
function seconds(raw: unknown): number {
  const value = number(raw);
  if (value < 0) throw new Error('must be a number of seconds (0 or more)');
  if (value > MAX_TIMER_SECONDS) throw new Error(`must be at most ${MAX_TIMER_SECONDS} seconds (about 24 days, the longest wait a timer makes)`);
  return value;
}

/** Seconds above 0, at most a timer's reach. */
function positiveSeconds(raw: unknown): number {
  const value = positive(raw);
  if (value > MAX_TIMER_SECONDS) throw new Error(`must be at most ${MAX_TIMER_SECONDS} seconds (about 24 days, the longest wait a timer makes)`);
  return value;
}

/** A size such as 10G, 512M, 4MiB or a number of bytes (binary units). */
function byteSize(min: number, max = Number.MAX_SAFE_INTEGER, rangeText?: string) {
  return (raw: unknown): number => {
    const bytes = typeof raw === 'number' ? raw : parseByteSize(text(raw));
    if (!Number.isSafeInteger(bytes) || bytes < min || bytes > max) throw new Error(rangeText ?? `must be at least ${min} bytes`);
    return bytes;
  };
}

/** A duration such as 7d, 12h, 30m, 45s (a bare number is milliseconds). */
function duration(raw: unknown): number {
  return typeof raw === 'number' && raw > 0 ? raw : parseDuration(text(raw));
}

/** A duration that becomes a timer: at most 24 days (see MAX_TIMER_MS). */
function timerDuration(raw: unknown): number {
  const ms = duration(raw);
  if (ms > MAX_TIMER_MS) throw new Error('must be at most 24d (the longest wait a timer makes), e.g. 12h or 7d');
  return ms;
}

function logFormat(raw: unknown): LogFormat {
  return parseLogFormat(text(raw));
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
  // The API is reached with the key, never with URL credentials; a password here would be printed
  // in the banner and logs, which name the API URL.
  if (url.username || url.password) throw new Error('must not carry a user name or password: remove the "user:password@" part (1fichier is reached with the API key)');
  return value;
}

/**
 * `--public-url`: an http(s) origin with an optional path prefix (a reverse proxy's), no query,
 * fragment or credentials; kept without its trailing slash.
 */
export function publicUrl(raw: unknown): string {
  const value = nonEmpty(raw);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('must be an absolute http(s) URL such as http://192.168.1.10:8080 or https://media.example.org/dav');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('must be an http:// or https:// URL');
  if (url.username || url.password) throw new Error('must not contain a user or password (links carry their own signature)');
  if (url.search || url.hash || value.includes('?') || value.includes('#')) throw new Error('must not contain a query (?) or fragment (#): give the origin and an optional path prefix');
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/** A repeatable setting's values, each checked by `item`. */
function listOf<T>(item: (raw: unknown) => T) {
  return (raw: unknown): T[] => {
    const values = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(';') : [raw];
    const kept = values.filter((value) => !(typeof value === 'string' && value.trim() === ''));
    if (kept.length === 0) throw new Error('must not be empty');
    return kept.map(item);
  };
}

/** A drive folder: absolute, '/'-separated, kept without a trailing slash. */
function driveFolder(raw: unknown): string {
  const value = nonEmpty(raw);
  if (!value.startsWith('/')) throw new Error(`"${value}" must be a drive path starting with /, e.g. /Vidéos`);
  const parts = value.split('/').filter((part) => part !== '');
  if (parts.some((part) => part === '.' || part === '..')) throw new Error(`"${value}" must not contain . or .. segments`);
  return `/${parts.join('/')}`;
}

function pathRule(raw: unknown): string {
  const value = nonEmpty(raw);
  parsePathRule(value);
  return value;
}

function httpUrl(raw: unknown): string {
  const value = nonEmpty(raw);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('must be an absolute http(s) URL, e.g. http://127.0.0.1:8096');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('must be an http:// or https:// URL');
  return value;
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
    description: "local state: empty files, properties, API windows (default: the account's folder in the platform's state directory)",
    parse: expandPath,
  } satisfies Setting<string>,
  account: {
    key: 'account',
    flag: '--account <name>',
    env: ['FICHIER_DAV_ACCOUNT'],
    description: "name of the account's state folder (default: the account's e-mail, asked from 1fichier once per API key)",
    parse: nonEmpty,
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
  jitterMs: {
    key: 'jitterMs',
    flag: '--jitter-ms <ms>',
    env: ['FICHIER_DAV_JITTER_MS'],
    description:
      'advanced, with --time-scale: real milliseconds by which 1fichier may count a call late (a loaded machine) without a flood; windows get at least this margin and calls are at least half of it apart (no effect at scale 1 up to 600)',
    default: 0,
    parse: integerIn(0, 60_000),
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
    parse: positiveSeconds,
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
  loginGuessesPerMinute: {
    key: 'loginGuessesPerMinute',
    flag: '--login-guesses-per-minute <n>',
    env: ['FICHIER_DAV_LOGIN_GUESSES_PER_MINUTE'],
    description: 'serve: failed logins per minute in total, whatever the addresses and names; more get 429 (see docs/hardening.md)',
    default: 60,
    parse: integerIn(1, 100_000),
  } satisfies Setting<number>,
  maxConnectionsPerAddress: {
    key: 'maxConnectionsPerAddress',
    flag: '--max-connections-per-address <n>',
    env: ['FICHIER_DAV_MAX_CONNECTIONS_PER_ADDRESS'],
    description: 'serve: connections open at once from one client address; more are refused with 503',
    default: 128,
    parse: integerIn(1, 1_000_000),
  } satisfies Setting<number>,
  redisUrl: {
    key: 'redisUrl',
    flag: '--redis-url <url>',
    env: ['FICHIER_DAV_REDIS_URL'],
    description: 'serve and the account commands: share the API budget, WebDAV locks, write ordering and cache changes with the other bridges and commands of the account through this Redis (redis://host:6379)',
    parse: (raw: unknown) => {
      const value = nonEmpty(raw);
      if (!/^rediss?:\/\/[^/]/.test(value)) throw new Error('must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379');
      return value;
    },
  } satisfies Setting<string>,
  downloadConnections: {
    key: 'downloadConnections',
    flag: '--download-connections <n>',
    env: ['FICHIER_DAV_DOWNLOAD_CONNECTIONS'],
    description: `serve: upstream download connections open at once for the account (1fichier allows ${ACCOUNT_DOWNLOAD_CONNECTIONS} per premium account; idle ones are closed for waiting readers)`,
    default: DEFAULT_DOWNLOAD_CONNECTIONS,
    parse: integerIn(1, ACCOUNT_DOWNLOAD_CONNECTIONS),
  } satisfies Setting<number>,
  downloadConnectionsPerFile: {
    key: 'downloadConnectionsPerFile',
    flag: '--download-connections-per-file <n>',
    env: ['FICHIER_DAV_DOWNLOAD_CONNECTIONS_PER_FILE'],
    description: 'serve: upstream download connections one file may hold at once (probes, seeks, parallel streams of a slow link)',
    default: DEFAULT_CONNECTIONS_PER_FILE,
    parse: integerIn(1, ACCOUNT_DOWNLOAD_CONNECTIONS),
  } satisfies Setting<number>,
  redisBridges: {
    key: 'redisBridges',
    flag: '--redis-bridges <n>',
    env: ['FICHIER_DAV_REDIS_BRIDGES'],
    description: 'serve and the account commands: bridges sharing the account; while Redis is unreachable each paces API calls at rate / n',
    default: 3,
    parse: integerIn(1, 64),
  } satisfies Setting<number>,
  logFormat: {
    key: 'logFormat',
    flag: '--log-format <format>',
    env: ['FICHIER_DAV_LOG_FORMAT'],
    description: 'serve: json, pretty, or auto (pretty on a terminal, JSON otherwise)',
    default: 'auto',
    parse: logFormat,
  } satisfies Setting<LogFormat>,
  uploadHousekeepingFiles: {
    key: 'uploadHousekeepingFiles',
    flag: '--upload-housekeeping-files',
    env: ['FICHIER_DAV_UPLOAD_HOUSEKEEPING_FILES'],
    description: 'serve: upload ._*, .DS_Store, Thumbs.db and desktop.ini like other files (default: keep them local)',
    default: false,
    parse: boolean,
  } satisfies Setting<boolean>,
  metricsPort: {
    key: 'metricsPort',
    flag: '--metrics-port <port>',
    env: ['FICHIER_DAV_METRICS_PORT'],
    description: 'serve: serve Prometheus /metrics on this port (off when absent)',
    parse: integerIn(0, 65535),
  } satisfies Setting<number>,
  metricsHost: {
    key: 'metricsHost',
    flag: '--metrics-host <host>',
    env: ['FICHIER_DAV_METRICS_HOST'],
    description: 'serve: interface for --metrics-port',
    default: '127.0.0.1',
    parse: nonEmpty,
  } satisfies Setting<string>,
  metricsPublic: {
    key: 'metricsPublic',
    flag: '--metrics-public',
    env: ['FICHIER_DAV_METRICS_PUBLIC'],
    description: 'serve: allow a non-loopback --metrics-host (/metrics has no authentication)',
    default: false,
    parse: boolean,
  } satisfies Setting<boolean>,
  user: {
    key: 'user',
    flag: '--user <name>',
    env: ['FICHIER_DAV_USER'],
    description: 'serve: require HTTP Basic authentication as this user (password in FICHIER_DAV_PASS)',
    parse: text,
  } satisfies Setting<string>,
  pass: {
    key: 'pass',
    flag: '--pass <password>',
    env: ['FICHIER_DAV_PASS'],
    description: 'serve: the password for --user (prefer FICHIER_DAV_PASS: a command line shows in ps)',
    parse: text,
    secret: { hint: 'set FICHIER_DAV_PASS, or list users in an htpasswd file ("htpasswd")' },
  } satisfies Setting<string>,
  htpasswd: {
    key: 'htpasswd',
    flag: '--htpasswd <file>',
    env: ['FICHIER_DAV_HTPASSWD'],
    description: 'serve: users from an Apache htpasswd file (bcrypt, apr1 MD5, SHA1 or crypt hashes)',
    parse: expandPath,
  } satisfies Setting<string>,
  users: {
    key: 'users',
    flag: '--users <file>',
    env: ['FICHIER_DAV_USERS'],
    description: 'serve: users with a home folder and permissions each, from a YAML file (see docs/users-and-sharing.md); reloaded on SIGHUP',
    parse: expandPath,
  } satisfies Setting<string>,
  realm: {
    key: 'realm',
    flag: '--realm <name>',
    env: ['FICHIER_DAV_REALM'],
    description: 'serve: the realm shown in login prompts',
    default: 'fichier-dav',
    parse: nonEmpty,
  } satisfies Setting<string>,
  readOnly: {
    key: 'readOnly',
    flag: '--read-only',
    env: ['FICHIER_DAV_READ_ONLY'],
    description: 'serve: refuse every write method (PUT, DELETE, MKCOL, MOVE, COPY, PROPPATCH, LOCK) with 403',
    default: false,
    parse: boolean,
  } satisfies Setting<boolean>,
  allowAnonymous: {
    key: 'allowAnonymous',
    flag: '--allow-anonymous',
    env: ['FICHIER_DAV_ALLOW_ANONYMOUS'],
    description: 'serve: serve a non-loopback --host without authentication (only on a trusted network)',
    default: false,
    parse: boolean,
  } satisfies Setting<boolean>,
  tlsCert: {
    key: 'tlsCert',
    flag: '--tls-cert <file>',
    env: ['FICHIER_DAV_TLS_CERT'],
    description: 'serve: serve HTTPS with this PEM certificate (with --tls-key)',
    parse: expandPath,
  } satisfies Setting<string>,
  tlsKey: {
    key: 'tlsKey',
    flag: '--tls-key <file>',
    env: ['FICHIER_DAV_TLS_KEY'],
    description: 'serve: the PEM private key of --tls-cert',
    parse: expandPath,
  } satisfies Setting<string>,
  headersTimeout: {
    key: 'headersTimeout',
    flag: '--headers-timeout <s>',
    env: ['FICHIER_DAV_HEADERS_TIMEOUT'],
    description: 'serve: seconds a client has to send a request head (slow clients are cut)',
    default: 30,
    parse: seconds,
  } satisfies Setting<number>,
  idleTimeout: {
    key: 'idleTimeout',
    flag: '--idle-timeout <s>',
    env: ['FICHIER_DAV_IDLE_TIMEOUT'],
    description: 'serve: close a connection the client leaves idle this many seconds (0 = never)',
    default: 300,
    parse: seconds,
  } satisfies Setting<number>,
  maxConnections: {
    key: 'maxConnections',
    flag: '--max-connections <n>',
    env: ['FICHIER_DAV_MAX_CONNECTIONS'],
    description: 'serve: connections open at once; more are refused with 503',
    default: 1024,
    parse: integerIn(1, 1_000_000),
  } satisfies Setting<number>,
  upstreamDeadline: {
    key: 'upstreamDeadline',
    flag: '--upstream-deadline <s>',
    env: ['FICHIER_DAV_UPSTREAM_DEADLINE'],
    description: 'serve: seconds a request waits for 1fichier (flood cool-down, retries) before 503 (a listing a write needs: at least 45)',
    default: 20,
    parse: seconds,
  } satisfies Setting<number>,
  shutdownGrace: {
    key: 'shutdownGrace',
    flag: '--shutdown-grace <s>',
    env: ['FICHIER_DAV_SHUTDOWN_GRACE'],
    description: 'serve: on SIGTERM/SIGINT, seconds in-flight uploads and moves may take to finish',
    default: 30,
    parse: seconds,
  } satisfies Setting<number>,
  cacheDir: {
    key: 'cacheDir',
    flag: '--cache-dir <dir>',
    env: ['FICHIER_DAV_CACHE_DIR'],
    description: "serve: read cache directory (default: blocks/ in the account's state dir)",
    parse: expandPath,
  } satisfies Setting<string>,
  cacheMaxSize: {
    key: 'cacheMaxSize',
    flag: '--cache-max-size <size>',
    env: ['FICHIER_DAV_CACHE_MAX_SIZE'],
    description: `serve: read cache size bound, e.g. 10G or 512M (default ${CACHE_DEFAULTS.maxBytes / 1024 ** 3}G)`,
    parse: byteSize(1, Number.MAX_SAFE_INTEGER, 'must be more than 0 bytes'),
  } satisfies Setting<number>,
  cacheMaxAge: {
    key: 'cacheMaxAge',
    flag: '--cache-max-age <duration>',
    env: ['FICHIER_DAV_CACHE_MAX_AGE'],
    description: 'serve: drop cached blocks unused this long, e.g. 7d or 12h (default 7d)',
    parse: duration,
  } satisfies Setting<number>,
  cacheBlockSize: {
    key: 'cacheBlockSize',
    flag: '--cache-block-size <size>',
    env: ['FICHIER_DAV_CACHE_BLOCK_SIZE'],
    description: `serve: read cache block size, 64K to 64M (default ${CACHE_DEFAULTS.blockSize / 1024 ** 2}M)`,
    parse: byteSize(MIN_BLOCK_SIZE, MAX_BLOCK_SIZE, 'must be between 64K and 64M'),
  } satisfies Setting<number>,
  readAhead: {
    key: 'readAhead',
    flag: '--read-ahead <size>',
    env: ['FICHIER_DAV_READ_AHEAD'],
    description: `serve: how far ahead of a sequential reader to fetch, 0 = off (default ${CACHE_DEFAULTS.readAheadMaxBytes / 1024 ** 2}M)`,
    parse: byteSize(0),
  } satisfies Setting<number>,
  parallelStreams: {
    key: 'parallelStreams',
    flag: '--parallel-streams <n>',
    env: ['FICHIER_DAV_PARALLEL_STREAMS'],
    description: `serve: upstream connections one sequential reader may use when a single connection is slower than the reader (chunks fetched ahead), 1 = off; at most --download-connections-per-file less one, a connection being kept for seeks (default ${CACHE_DEFAULTS.parallelStreams})`,
    parse: integerIn(1, ACCOUNT_DOWNLOAD_CONNECTIONS),
  } satisfies Setting<number>,
  readCache: {
    key: 'readCache',
    flag: '--no-read-cache',
    env: ['FICHIER_DAV_READ_CACHE'],
    description: 'serve: no read cache: every client range is one upstream GET (env/config: false turns it off)',
    default: true,
    parse: boolean,
  } satisfies Setting<boolean>,
  cacheDirectIo: {
    key: 'cacheDirectIo',
    flag: '--no-cache-direct-io',
    env: ['FICHIER_DAV_CACHE_DIRECT_IO'],
    description:
      'serve: write read-cache blocks through the page cache instead of with direct I/O (O_DIRECT; file systems that refuse it are detected anyway): for a cache on NFS or another network file system, where each direct write waits for the server (env/config: false turns direct I/O off)',
    default: true,
    parse: boolean,
  } satisfies Setting<boolean>,
  prefetchProbes: {
    key: 'prefetchProbes',
    flag: '--prefetch-probes',
    env: ['FICHIER_DAV_PREFETCH_PROBES'],
    description: 'serve: warm the head and tail of media files in each listed folder in the background (costs one get_token per new file)',
    default: false,
    parse: boolean,
  } satisfies Setting<boolean>,
  publicUrl: {
    key: 'publicUrl',
    flag: '--public-url <url>',
    env: ['FICHIER_DAV_PUBLIC_URL'],
    description: "serve, share, strm: the bridge's address as media servers and browsers reach it, origin of .strm and share links (default: the bridge's own URL)",
    parse: publicUrl,
  } satisfies Setting<string>,
  notifyWebhook: {
    key: 'notifyWebhook',
    flag: '--notify-webhook <url>',
    env: ['FICHIER_DAV_NOTIFY_WEBHOOK'],
    description: 'serve: POST each batch of changes as JSON to this URL (autoscan-like tools; see docs/media-servers.md)',
    parse: httpUrl,
  } satisfies Setting<string>,
  notifyJellyfin: {
    key: 'notifyJellyfin',
    flag: '--notify-jellyfin <url>',
    env: ['FICHIER_DAV_NOTIFY_JELLYFIN'],
    description: "serve: tell this Jellyfin or Emby server (e.g. http://127.0.0.1:8096) of changes, with --notify-jellyfin-key",
    parse: httpUrl,
  } satisfies Setting<string>,
  notifyJellyfinKey: {
    key: 'notifyJellyfinKey',
    flag: '--notify-jellyfin-key <key>',
    env: ['FICHIER_DAV_NOTIFY_JELLYFIN_KEY'],
    description: 'serve: the Jellyfin/Emby API key (prefer the environment variable or --notify-jellyfin-key-file: a command line shows in ps)',
    parse: nonEmpty,
    secret: { hint: 'set FICHIER_DAV_NOTIFY_JELLYFIN_KEY, or put the key alone in a file and set "notifyJellyfinKeyFile"' },
  } satisfies Setting<string>,
  notifyJellyfinKeyFile: {
    key: 'notifyJellyfinKeyFile',
    flag: '--notify-jellyfin-key-file <file>',
    env: ['FICHIER_DAV_NOTIFY_JELLYFIN_KEY_FILE'],
    description: 'serve: read the Jellyfin/Emby API key from this file',
    parse: expandPath,
  } satisfies Setting<string>,
  notifyPlex: {
    key: 'notifyPlex',
    flag: '--notify-plex <url>',
    env: ['FICHIER_DAV_NOTIFY_PLEX'],
    description: 'serve: ask this Plex server (e.g. http://127.0.0.1:32400) to scan changed folders, with --notify-plex-token',
    parse: httpUrl,
  } satisfies Setting<string>,
  notifyPlexToken: {
    key: 'notifyPlexToken',
    flag: '--notify-plex-token <token>',
    env: ['FICHIER_DAV_NOTIFY_PLEX_TOKEN'],
    description: 'serve: the X-Plex-Token (prefer the environment variable or --notify-plex-token-file)',
    parse: nonEmpty,
    secret: { hint: 'set FICHIER_DAV_NOTIFY_PLEX_TOKEN, or put the token alone in a file and set "notifyPlexTokenFile"' },
  } satisfies Setting<string>,
  notifyPlexTokenFile: {
    key: 'notifyPlexTokenFile',
    flag: '--notify-plex-token-file <file>',
    env: ['FICHIER_DAV_NOTIFY_PLEX_TOKEN_FILE'],
    description: 'serve: read the X-Plex-Token from this file',
    parse: expandPath,
  } satisfies Setting<string>,
  notifyPathMap: {
    key: 'notifyPathMap',
    flag: '--notify-path-map <rule>',
    env: ['FICHIER_DAV_NOTIFY_PATH_MAP'],
    description: 'serve: DRIVE=SERVER path mapping for notifications, e.g. /Vidéos=/mnt/fichier/Vidéos; prefix jellyfin:, plex: or webhook: for one target (repeatable)',
    parse: listOf(pathRule),
    repeatable: true,
  } satisfies Setting<string[]>,
  notifyDelay: {
    key: 'notifyDelay',
    flag: '--notify-delay <duration>',
    env: ['FICHIER_DAV_NOTIFY_DELAY'],
    description: "serve: quiet time after a folder's last change before its batch of notifications goes out (default 2s)",
    parse: timerDuration,
  } satisfies Setting<number>,
  watch: {
    key: 'watch',
    flag: '--watch <folder>',
    env: ['FICHIER_DAV_WATCH'],
    description: 'serve: list this drive folder and its sub-folders again every --watch-interval, so changes made elsewhere are notified (repeatable)',
    parse: listOf(driveFolder),
    repeatable: true,
  } satisfies Setting<string[]>,
  watchInterval: {
    key: 'watchInterval',
    flag: '--watch-interval <duration>',
    env: ['FICHIER_DAV_WATCH_INTERVAL'],
    description: 'serve: time between two listings of the --watch folders, at background priority (default 10m)',
    parse: timerDuration,
  } satisfies Setting<number>,
  strmDir: {
    key: 'strmDir',
    flag: '--strm-dir <dir>',
    env: ['FICHIER_DAV_STRM_DIR'],
    description: 'serve: keep a .strm library of --strm-source in this local folder, in step with changes (see docs/media-servers.md)',
    parse: expandPath,
  } satisfies Setting<string>,
  strmSource: {
    key: 'strmSource',
    flag: '--strm-source <folder>',
    env: ['FICHIER_DAV_STRM_SOURCE'],
    description: 'serve: the drive folder --strm-dir mirrors',
    default: '/',
    parse: driveFolder,
  } satisfies Setting<string>,
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
    parse: boolean,
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
    parse: byteSize(1),
  } satisfies Setting<number>,
} as const;

export type Settings = typeof SETTINGS;
export type SettingKey = keyof Settings;
type ValueOf<S> = S extends { parse(raw: unknown): infer T } ? (S extends { default: unknown } ? T : T | undefined) : never;
export type SettingValues<K extends SettingKey> = { [P in K]: ValueOf<Settings[P]> };

/** The settings every account command reads. */
export const ACCOUNT_SETTING_KEYS = ['apiUrl', 'apiKeyFile', 'stateDir', 'account', 'rate', 'timeScale', 'jitterMs', 'retries', 'redisUrl', 'redisBridges'] as const satisfies readonly SettingKey[];
/** The read-cache settings (serve; the drive applies its defaults to those left unset). */
export const CACHE_SETTING_KEYS = ['cacheDir', 'cacheMaxSize', 'cacheMaxAge', 'cacheBlockSize', 'readAhead', 'parallelStreams', 'readCache', 'cacheDirectIo', 'prefetchProbes'] as const satisfies readonly SettingKey[];
/** Everything `serve` reads. */
export const SERVE_SETTING_KEYS = [
  'apiUrl', 'apiKeyFile', 'stateDir', 'account', 'rate', 'timeScale', 'jitterMs', 'host', 'port', 'downloads', 'logLevel', 'logFormat',
  'uploadHousekeepingFiles', 'metricsPort', 'metricsHost', 'metricsPublic', 'user', 'pass', 'htpasswd', 'users', 'realm', 'readOnly', 'allowAnonymous',
  'tlsCert', 'tlsKey', 'headersTimeout', 'idleTimeout', 'maxConnections', 'upstreamDeadline', 'shutdownGrace',
  'loginGuessesPerMinute', 'maxConnectionsPerAddress', 'redisUrl', 'redisBridges', 'publicUrl', 'downloadConnections', 'downloadConnectionsPerFile',
  'notifyWebhook', 'notifyJellyfin', 'notifyJellyfinKey', 'notifyJellyfinKeyFile', 'notifyPlex', 'notifyPlexToken', 'notifyPlexTokenFile',
  'notifyPathMap', 'notifyDelay', 'watch', 'watchInterval', 'strmDir', 'strmSource',
  ...CACHE_SETTING_KEYS,
] as const satisfies readonly SettingKey[];
/** What `demo` reads (its log level defaults to warn: the banner is what matters there). */
export const DEMO_SETTING_KEYS = ['host', 'port', 'logLevel'] as const satisfies readonly SettingKey[];

export interface ConfigFile {
  path: string;
  values: Record<string, unknown>;
}

/**
 * The file used when neither --config nor FICHIER_DAV_CONFIG names one: config.json in the
 * platform's config directory (Linux: $XDG_CONFIG_HOME/fichier-dav, macOS: ~/Library/Application
 * Support/fichier-dav, Windows: %APPDATA%\\fichier-dav).
 */
export function defaultConfigPath(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  return join(configDirectory(env, platform), 'config.json');
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
    const secret = (SETTINGS[key as SettingKey] as Setting<unknown>).secret;
    if (secret) throw new CliError(`the config file ${path} must not hold a secret ("${key}"): ${secret.hint}`, ExitCode.usage);
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
    // A `--no-x` flag can only say false: commander's implicit `true` is not a flag given.
    const negated = setting.flag.startsWith('--no-');
    if (flagValue !== undefined && !(negated && flagValue === true)) {
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

/** The commander option of one setting (no commander default: the loader applies it). */
export function settingOption(key: SettingKey): Option {
  const setting: Setting<unknown> = SETTINGS[key];
  const shown = setting.default !== undefined && !setting.flag.startsWith('--no-') && setting.default !== false;
  const defaultText = shown ? ` (default: ${String(setting.default)})` : '';
  const option = new Option(setting.flag, `${setting.description.replace(/^serve: /, '')}${defaultText} [${setting.env[0]}]`);
  if (setting.repeatable) option.argParser((value: string, previous: unknown) => [...(Array.isArray(previous) ? previous : []), value]);
  return option;
}

/** Declares the flags of `keys` on a command, plus --config. */
export function addSettingOptions(command: Command, keys: readonly SettingKey[]): Command {
  for (const key of keys) command.addOption(settingOption(key));
  command.option('--config <file>', 'JSON config file (default: config.json in the platform config directory when it exists; or FICHIER_DAV_CONFIG)');
  return command;
}

/** The configuration reference as a markdown table (docs/configuration.md carries it; a test keeps them in step). */
export function settingsReferenceMarkdown(): string {
  const rows = Object.values(SETTINGS).map((raw) => {
    const setting = raw as Setting<unknown>;
    const flag = setting.flag.split(' ')[0];
    const def = setting.default !== undefined ? `\`${String(setting.default)}\`` : '—';
    const key = setting.secret ? `\`${setting.key}\` (refused: a secret)` : `\`${setting.key}\``;
    return `| ${key} | \`${flag}\` | ${setting.env.map((name) => `\`${name}\``).join(', ')} | ${def} | ${setting.description} |`;
  });
  return ['| config key | flag | environment | default | meaning |', '|---|---|---|---|---|', ...rows].join('\n');
}
