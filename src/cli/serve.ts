/**
 * `fichier-dav serve`: serves a 1fichier account (or a simulator, with --api-url) over WebDAV.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { HtpasswdError, UsersFileError } from '../webdav/auth/index.js';
import { ApiKeyError, loadApiKey } from './api-key.js';
import { startBridge, type AuthOptions } from './bridge.js';
import type { BridgeNotifyOptions } from './notifications.js';
import { cacheOptionsFrom, parallelStreamsOutOfReach } from './cache-options.js';
import { addSettingOptions, apiKeyFileToRead, loadSettings, SERVE_SETTING_KEYS } from './config.js';
import { CliError } from './exit-codes.js';
import { disableCoreDumps } from './core-dumps.js';
import { assertSafeMetricsExposure, ExposureError, isLoopbackHost } from './exposure.js';
import { bridgeReadiness } from './health.js';
import { createLogger } from './logging.js';
import { BridgeMetrics, startMetricsServer } from './metrics.js';
import { mountInstructions, reachableUrls } from './mount-instructions.js';
import { onShutdown } from './shutdown.js';

interface AuthFlags {
  user?: string;
  pass?: string;
  htpasswd?: string;
  users?: string;
  realm: string;
}

/** Users from --user/--pass or FICHIER_DAV_USER/FICHIER_DAV_PASS, plus --htpasswd. */
export function authFromFlags(
  flags: AuthFlags,
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
    usersFile: flags.users,
    realm: flags.realm,
  };
}

/** A secret from its flag/environment value or its file (first line, trimmed); the file wins when both are given. */
async function secretFrom(value: string | undefined, file: string | undefined, what: string): Promise<string | undefined> {
  if (file === undefined) return value;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the ${what} file ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'}): fix the path`);
  }
  const secret = text.split(/\r?\n/)[0]?.trim();
  if (!secret) throw new Error(`the ${what} file ${file} is empty: put the ${what} alone on its first line`);
  return secret;
}

interface NotifyFlags {
  notifyWebhook?: string;
  notifyJellyfin?: string;
  notifyJellyfinKey?: string;
  notifyJellyfinKeyFile?: string;
  notifyPlex?: string;
  notifyPlexToken?: string;
  notifyPlexTokenFile?: string;
  notifyPathMap?: string[];
  notifyDelay?: number;
  watch?: string[];
  watchInterval?: number;
  strmDir?: string;
  strmSource: string;
}

/** The notification, watch and .strm settings as the bridge takes them; throws Error with a fix when one is incomplete. */
export async function notifyOptionsFrom(values: NotifyFlags): Promise<BridgeNotifyOptions | undefined> {
  const jellyfinKey = await secretFrom(values.notifyJellyfinKey, values.notifyJellyfinKeyFile, 'Jellyfin API key');
  const plexToken = await secretFrom(values.notifyPlexToken, values.notifyPlexTokenFile, 'Plex token');
  if (values.notifyJellyfin && !jellyfinKey) {
    throw new Error('--notify-jellyfin needs an API key: set FICHIER_DAV_NOTIFY_JELLYFIN_KEY or --notify-jellyfin-key-file (Jellyfin: Dashboard → API Keys)');
  }
  if (values.notifyPlex && !plexToken) throw new Error('--notify-plex needs a token: set FICHIER_DAV_NOTIFY_PLEX_TOKEN or --notify-plex-token-file');
  const any = values.notifyWebhook || values.notifyJellyfin || values.notifyPlex || values.watch?.length || values.strmDir;
  if (!any) return undefined;
  return {
    ...(values.notifyWebhook ? { webhook: values.notifyWebhook } : {}),
    ...(values.notifyJellyfin && jellyfinKey ? { jellyfin: { url: values.notifyJellyfin, apiKey: jellyfinKey } } : {}),
    ...(values.notifyPlex && plexToken ? { plex: { url: values.notifyPlex, token: plexToken } } : {}),
    ...(values.notifyPathMap ? { pathMap: values.notifyPathMap } : {}),
    ...(values.notifyDelay !== undefined ? { debounceMs: values.notifyDelay } : {}),
    ...(values.watch?.length ? { watch: values.watch } : {}),
    ...(values.watchInterval !== undefined ? { watchIntervalMs: values.watchInterval } : {}),
    ...(values.strmDir ? { strm: { dir: values.strmDir, source: values.strmSource } } : {}),
  };
}

export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description('serve a 1fichier account over WebDAV (API key from FICHIER_API_KEY or --api-key-file)');
  // Every flag is a setting: flag > environment (FICHIER_DAV_*) > config file > default (config.ts).
  addSettingOptions(command, SERVE_SETTING_KEYS);
  command.action(async (flags: Record<string, unknown> & { config?: string }) => {
    // First, before the key is read: a crash must not write it into a core file.
    const coreDumps = disableCoreDumps();
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
    if (values.parallelStreams !== undefined) {
      const unreachable = parallelStreamsOutOfReach(values.parallelStreams, values.downloadConnectionsPerFile, values.downloadConnections);
      if (unreachable) program.error(`error: ${unreachable}`, { exitCode: 2 });
    }
    if (values.metricsPort !== undefined) {
      try {
        assertSafeMetricsExposure(values.metricsHost, values.metricsPublic);
      } catch (error) {
        program.error(`error: ${(error as Error).message}`, { exitCode: 2 });
      }
    }
    const auth = authFromFlags(values);
    if (typeof auth === 'string') program.error(`error: ${auth}`, { exitCode: 2 });
    if ((values.tlsCert === undefined) !== (values.tlsKey === undefined)) {
      program.error('error: HTTPS needs both --tls-cert and --tls-key', { exitCode: 2 });
    }
    let tls: { cert: Buffer; key: Buffer } | undefined;
    if (values.tlsCert && values.tlsKey) {
      try {
        tls = { cert: await readFile(values.tlsCert), key: await readFile(values.tlsKey) };
      } catch (error) {
        program.error(`error: cannot read the TLS certificate or key: ${(error as Error).message}`, { exitCode: 2 });
      }
    }
    let notify: BridgeNotifyOptions | undefined;
    try {
      notify = await notifyOptionsFrom(values);
    } catch (error) {
      program.error(`error: ${(error as Error).message}`, { exitCode: 2 });
    }
    const logger = createLogger({
      level: values.logLevel,
      format: values.logFormat,
      secrets: [apiKey, ...(auth.users ?? []).map((user) => user.password), notify?.jellyfin?.apiKey, notify?.plex?.token].filter((secret): secret is string => !!secret),
    });
    if (!coreDumps.disabled) {
      logger.warn('core dumps could not be turned off; a crash could write the API key to disk', {
        reason: coreDumps.reason,
        fix: 'set LimitCORE=0 in the systemd unit, ulimit -c 0 in the shell, or --ulimit core=0 for Docker',
      });
    }
    if (values.metricsPort !== undefined && !isLoopbackHost(values.metricsHost)) {
      logger.warn('metrics: /metrics and /healthz are served without authentication', { host: values.metricsHost });
    }
    const drive = {
      ...cacheOptionsFrom(values),
      keepSystemFilesLocal: !values.uploadHousekeepingFiles,
      downloadConnections: values.downloadConnections,
      downloadConnectionsPerFile: values.downloadConnectionsPerFile,
    };
    const metrics = values.metricsPort !== undefined ? new BridgeMetrics() : undefined;
    const bridge = await startBridge({
      apiKey,
      apiUrl: values.apiUrl,
      host: values.host,
      port: values.port,
      stateDir: values.stateDir,
      account: values.account,
      downloads: values.downloads,
      logger,
      metrics,
      drive,
      client: { ratePerSecond: values.rate, timeScale: values.timeScale, jitterMs: values.jitterMs },
      auth: { ...auth, backoff: { globalLimit: values.loginGuessesPerMinute } },
      allowAnonymous: values.allowAnonymous,
      readOnly: values.readOnly,
      tls,
      limits: {
        headersTimeoutMs: values.headersTimeout * 1000,
        idleTimeoutMs: values.idleTimeout * 1000,
        maxConnections: values.maxConnections,
        maxConnectionsPerAddress: values.maxConnectionsPerAddress,
      },
      upstreamDeadlineMs: values.upstreamDeadline * 1000,
      ...(values.publicUrl ? { publicUrl: values.publicUrl } : {}),
      ...(notify ? { notify } : {}),
      ...(values.redisUrl ? { redis: { url: values.redisUrl, bridges: values.redisBridges } } : {}),
    }).catch((error: NodeJS.ErrnoException) => {
      // A refused key (4), a wrong API URL (2), an account that cannot be identified (5).
      if (error instanceof CliError) program.error(`error: ${error.message}`, { exitCode: error.exitCode });
      if (error.code === 'EADDRINUSE') program.error(`error: port ${values.port} is in use; choose another with --port`, { exitCode: 2 });
      if (error instanceof ExposureError || error instanceof HtpasswdError || error instanceof UsersFileError) program.error(`error: ${error.message}`, { exitCode: 2 });
      if (error.code === 'ERR_OSSL_PEM_NO_START_LINE' || /PEM|certificate|key values mismatch/i.test(error.message)) {
        program.error(`error: the TLS certificate or key is not usable: ${error.message}`, { exitCode: 2 });
      }
      throw error;
    });
    const metricsServer =
      metrics && values.metricsPort !== undefined
        ? await startMetricsServer(metrics, { host: values.metricsHost, port: values.metricsPort, readiness: () => bridgeReadiness(bridge) })
        : undefined;
    if (metrics) {
      metrics.sources.queueDepth = () => bridge.client.scheduler.queueDepth();
      metrics.sources.coolDownMs = () => bridge.client.scheduler.cooldownRemainingMs();
      if (bridge.redisStatus) metrics.sources.redis = bridge.redisStatus;
      metrics.sources.cache = () => {
        const blocks = bridge.drive.cacheStats();
        return {
          blocks: {
            hits: blocks.hits,
            misses: blocks.misses,
            evictions: blocks.evictions,
            bytesSaved: blocks.bytesFromCache,
            corrupt: blocks.corruptBlocks,
            parallelTrials: blocks.parallelTrials,
            parallelKept: blocks.parallelKept,
          },
          folders: bridge.drive.folders.stats(),
        };
      };
    }
    logger.info('serving', {
      url: bridge.url,
      api: values.apiUrl,
      auth: auth.users?.length || auth.htpasswdFile || auth.usersFile ? 'basic' : 'none',
      readOnly: values.readOnly,
      ...(metricsServer ? { metrics: `${metricsServer.url}/metrics` } : {}),
    });
    // Handlers first: a supervisor may signal as soon as it reads the line below.
    const graceMs = values.shutdownGrace * 1000;
    onShutdown(async () => {
      await bridge.close({ graceMs });
      await metricsServer?.close();
    }, { graceMs });
    // SIGHUP re-reads the users and htpasswd files; a bad file keeps the old users (logged).
    process.on('SIGHUP', () => void bridge.reloadUsers());
    const urls = reachableUrls(values.host, bridge.port, tls !== undefined);
    process.stdout.write(`fichier-dav: serving ${values.apiUrl} at ${urls[0]}\n`);
    if (urls.length > 1) process.stdout.write(`also at: ${urls.slice(1).join(' ')}\n`);
    // Clients must log in: the commands carry the user name (the one of --user, else a placeholder).
    const login = auth.users?.length === 1 && !auth.htpasswdFile ? auth.users[0]!.user : auth.users?.length || auth.htpasswdFile ? 'NAME' : undefined;
    process.stdout.write(`${mountInstructions(urls[0], login)}\n`);
  });
}
