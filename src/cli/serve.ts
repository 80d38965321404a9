/**
 * `fichier-dav serve`: serves a 1fichier account (or a simulator, with --api-url) over WebDAV.
 */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { HtpasswdError } from '../webdav/auth/index.js';
import { ApiKeyError, loadApiKey } from './api-key.js';
import { startBridge, type AuthOptions } from './bridge.js';
import { addCacheOptions, cacheOptionsFrom, type CacheFlags } from './cache-options.js';
import { addSettingOptions, apiKeyFileToRead, loadSettings, SERVE_SETTING_KEYS } from './config.js';
import { CliError } from './exit-codes.js';
import { ExposureError } from './exposure.js';
import { createLogger, parseLogFormat } from './logging.js';
import { BridgeMetrics, startMetricsServer } from './metrics.js';
import { onShutdown } from './shutdown.js';

interface ServeFlags extends CacheFlags {
  config?: string;
  uploadHousekeepingFiles?: boolean;
  logFormat: string;
  metricsPort?: number;
  metricsHost: string;
  user?: string;
  pass?: string;
  htpasswd?: string;
  realm: string;
  readOnly?: boolean;
  allowAnonymous?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  headersTimeout: number;
  idleTimeout: number;
  maxConnections: number;
  upstreamDeadline: number;
  shutdownGrace: number;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number of seconds (0 or more)');
  return n;
}

function count(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError('must be a whole number of at least 1');
  return Number(value);
}

/** Users from --user/--pass or FICHIER_DAV_USER/FICHIER_DAV_PASS, plus --htpasswd. */
export function authFromFlags(
  flags: Pick<ServeFlags, 'user' | 'pass' | 'htpasswd' | 'realm'>,
  env: NodeJS.ProcessEnv = process.env,
): AuthOptions | string {
  const user = flags.user ?? env.FICHIER_DAV_USER;
  const pass = flags.pass ?? env.FICHIER_DAV_PASS;
  if ((user === undefined) !== (pass === undefined)) {
    return user === undefined
      ? 'a password was given (--pass or FICHIER_DAV_PASS) without a user: add --user NAME or FICHIER_DAV_USER'
      : 'a user was given (--user or FICHIER_DAV_USER) without a password: set FICHIER_DAV_PASS (or --pass)';
  }
  if (user !== undefined && user === '') return 'the user name is empty';
  if (user?.includes(':')) return 'the user name cannot contain ":" (HTTP Basic authentication cannot carry it)';
  if (pass !== undefined && pass === '') return 'the password is empty';
  return {
    users: user !== undefined && pass !== undefined ? [{ user, password: pass }] : [],
    htpasswdFile: flags.htpasswd,
    realm: flags.realm,
  };
}

export function portNumber(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return Number(value);
}

function logFormat(value: string): string {
  try {
    return parseLogFormat(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
}

export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description('serve a 1fichier account over WebDAV (API key from FICHIER_API_KEY or --api-key-file)');
  // Shared settings: flag > environment > config file > default (see config.ts).
  addSettingOptions(command, SERVE_SETTING_KEYS);
  addCacheOptions(command);
  command
    .option('--upload-housekeeping-files', 'upload ._*, .DS_Store, Thumbs.db and desktop.ini like other files (default: keep them local)')
    .option('--log-format <format>', 'json, pretty, or auto (pretty on a terminal, JSON otherwise)', logFormat, 'auto')
    .option('--metrics-port <port>', 'serve Prometheus /metrics and /healthz on this port (off when absent)', portNumber)
    .option('--metrics-host <host>', 'interface for --metrics-port', '127.0.0.1')
    .option('--user <name>', 'require HTTP Basic authentication as this user (or FICHIER_DAV_USER)')
    .option('--pass <password>', 'the password for --user (prefer FICHIER_DAV_PASS: a command line shows in ps)')
    .option('--htpasswd <file>', 'users from an Apache htpasswd file (bcrypt, apr1 MD5, SHA1 or crypt hashes)')
    .option('--realm <name>', 'the realm shown in login prompts', 'fichier-dav')
    .option('--read-only', 'refuse every write method (PUT, DELETE, MKCOL, MOVE, COPY, PROPPATCH, LOCK) with 403')
    .option('--allow-anonymous', 'serve a non-loopback --host without authentication (only on a trusted network)')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (with --tls-key)')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert')
    .option('--headers-timeout <s>', 'seconds a client has to send a request head (slow clients are cut)', seconds, 30)
    .option('--idle-timeout <s>', 'close a connection the client leaves idle this many seconds (0 = never)', seconds, 300)
    .option('--max-connections <n>', 'connections open at once; more are refused with 503', count, 1024)
    .option('--upstream-deadline <s>', 'seconds a request waits for 1fichier (flood cool-down, retries) before 503', seconds, 20)
    .option('--shutdown-grace <s>', 'on SIGTERM/SIGINT, seconds in-flight uploads and moves may take to finish', seconds, 30)
    .action(async (flags: ServeFlags & Record<string, unknown>) => {
      let settings: Awaited<ReturnType<typeof loadSettings<(typeof SERVE_SETTING_KEYS)[number]>>>;
      let apiKey: string;
      try {
        settings = await loadSettings(SERVE_SETTING_KEYS, flags);
        apiKey = await loadApiKey(apiKeyFileToRead(settings.values, settings.origins.apiKeyFile));
      } catch (error) {
        if (error instanceof ApiKeyError || error instanceof CliError) program.error(`error: ${error.message}`, { exitCode: 2 });
        throw error;
      }
      const values = settings.values;
      const auth = authFromFlags(flags);
      if (typeof auth === 'string') program.error(`error: ${auth}`, { exitCode: 2 });
      if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
        program.error('error: HTTPS needs both --tls-cert and --tls-key', { exitCode: 2 });
      }
      let tls: { cert: Buffer; key: Buffer } | undefined;
      if (flags.tlsCert && flags.tlsKey) {
        try {
          tls = { cert: await readFile(flags.tlsCert), key: await readFile(flags.tlsKey) };
        } catch (error) {
          program.error(`error: cannot read the TLS certificate or key: ${(error as Error).message}`, { exitCode: 2 });
        }
      }
      const logger = createLogger({
        level: values.logLevel,
        format: parseLogFormat(flags.logFormat),
        secrets: [apiKey, ...(auth.users ?? []).map((user) => user.password)],
      });
      let drive;
      try {
        drive = { ...cacheOptionsFrom(flags), keepSystemFilesLocal: flags.uploadHousekeepingFiles !== true };
      } catch (error) {
        program.error(`error: ${(error as Error).message}`, { exitCode: 2 });
      }
      const metrics = flags.metricsPort !== undefined ? new BridgeMetrics() : undefined;
      const bridge = await startBridge({
        apiKey,
        apiUrl: values.apiUrl,
        host: values.host,
        port: values.port,
        stateDir: values.stateDir,
        downloads: values.downloads,
        logger,
        metrics,
        drive,
        client: { ratePerSecond: values.rate, timeScale: values.timeScale },
        auth,
        allowAnonymous: flags.allowAnonymous,
        readOnly: flags.readOnly,
        tls,
        limits: {
          headersTimeoutMs: flags.headersTimeout * 1000,
          idleTimeoutMs: flags.idleTimeout * 1000,
          maxConnections: flags.maxConnections,
        },
        upstreamDeadlineMs: flags.upstreamDeadline * 1000,
      }).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRINUSE') program.error(`error: port ${values.port} is in use; choose another with --port`, { exitCode: 2 });
        if (error instanceof ExposureError || error instanceof HtpasswdError) program.error(`error: ${error.message}`, { exitCode: 2 });
        if (error.code === 'ERR_OSSL_PEM_NO_START_LINE' || /PEM|certificate|key values mismatch/i.test(error.message)) {
          program.error(`error: the TLS certificate or key is not usable: ${error.message}`, { exitCode: 2 });
        }
        throw error;
      });
      const metricsServer =
        metrics && flags.metricsPort !== undefined
          ? await startMetricsServer(metrics, {
              host: flags.metricsHost,
              port: flags.metricsPort,
              health: () => (bridge.keyAccepted() ? { ok: true } : { ok: false, reason: '1fichier refused the API key' }),
            })
          : undefined;
      if (metrics) {
        metrics.sources.queueDepth = () => bridge.client.scheduler.queueDepth();
        metrics.sources.coolDownMs = () => bridge.client.scheduler.cooldownRemainingMs();
        metrics.sources.cache = () => {
          const blocks = bridge.drive.cacheStats();
          return {
            blocks: { hits: blocks.hits, misses: blocks.misses, evictions: blocks.evictions, bytesSaved: blocks.bytesFromCache, corrupt: blocks.corruptBlocks },
            folders: bridge.drive.folders.stats(),
          };
        };
      }
      logger.info('serving', {
        url: bridge.url,
        api: values.apiUrl,
        auth: auth.users?.length || auth.htpasswdFile ? 'basic' : 'none',
        readOnly: flags.readOnly === true,
        ...(metricsServer ? { metrics: `${metricsServer.url}/metrics` } : {}),
      });
      // Handlers first: a supervisor may signal as soon as it reads the line below.
      onShutdown(async () => {
        await bridge.close({ graceMs: flags.shutdownGrace * 1000 });
        await metricsServer?.close();
      }, { graceMs: flags.shutdownGrace * 1000 });
      process.stdout.write(`fichier-dav: serving ${values.apiUrl} at ${bridge.url}\n`);
    });
}
