/**
 * `fichier-dav serve`: serves a 1fichier account (or a simulator, with --api-url) over WebDAV.
 */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { HtpasswdError } from '../webdav/auth/index.js';
import { ApiKeyError, loadApiKey } from './api-key.js';
import { startBridge, type AuthOptions } from './bridge.js';
import { consoleLogger, parseLogLevel } from './console-logger.js';
import { ExposureError } from './exposure.js';
import { onShutdown } from './shutdown.js';

interface ServeFlags {
  apiUrl: string;
  apiKeyFile?: string;
  host: string;
  port: number;
  stateDir?: string;
  downloads: 'stream' | 'redirect';
  rate: number;
  timeScale: number;
  logLevel: string;
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

function downloadsMode(value: string): 'stream' | 'redirect' {
  if (value !== 'stream' && value !== 'redirect') throw new InvalidArgumentError('must be "stream" or "redirect"');
  return value;
}

function rate(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3) throw new InvalidArgumentError('must be a number in (0, 3]: 1fichier allows about 3 calls/s');
  return n;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve a 1fichier account over WebDAV (API key from FICHIER_API_KEY or --api-key-file)')
    .option('--api-url <url>', '1fichier API base URL (a simulator\'s apiUrl for testing)', 'https://api.1fichier.com/v1')
    .option('--api-key-file <file>', 'read the API key from this file instead of FICHIER_API_KEY')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', portNumber, Number(process.env.PORT ?? 8080))
    .option('--state-dir <dir>', 'local state: empty files, properties, housekeeping files (default: under ~/.cache/fichier-dav)')
    .option('--downloads <mode>', 'stream (through the bridge) or redirect (302 to the direct link)', downloadsMode, 'stream')
    .option('--rate <calls>', 'API calls per second (at most 3)', rate, 2)
    .option('--time-scale <s>', 'multiply every API-limit duration (only for simulators run with the same scale)', positive, 1)
    .option('--log-level <level>', 'error | warn | info', 'info')
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
    .action(async (flags: ServeFlags) => {
      let apiKey: string;
      try {
        apiKey = await loadApiKey(flags.apiKeyFile);
      } catch (error) {
        if (error instanceof ApiKeyError) program.error(`error: ${error.message}`, { exitCode: 2 });
        throw error;
      }
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
      const logger = consoleLogger(parseLogLevel(flags.logLevel));
      const bridge = await startBridge({
        apiKey,
        apiUrl: flags.apiUrl,
        host: flags.host,
        port: flags.port,
        stateDir: flags.stateDir,
        downloads: flags.downloads,
        logger,
        client: { ratePerSecond: flags.rate, timeScale: flags.timeScale },
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
        if (error.code === 'EADDRINUSE') program.error(`error: port ${flags.port} is in use; choose another with --port`, { exitCode: 2 });
        if (error instanceof ExposureError || error instanceof HtpasswdError) program.error(`error: ${error.message}`, { exitCode: 2 });
        if (error.code === 'ERR_OSSL_PEM_NO_START_LINE' || /PEM|certificate|key values mismatch/i.test(error.message)) {
          program.error(`error: the TLS certificate or key is not usable: ${error.message}`, { exitCode: 2 });
        }
        throw error;
      });
      logger.info('serving', { url: bridge.url, api: flags.apiUrl, auth: auth.users?.length || auth.htpasswdFile ? 'basic' : 'none', readOnly: flags.readOnly === true });
      // Handlers first: a supervisor may signal as soon as it reads the line below.
      onShutdown(async () => {
        await bridge.close({ graceMs: flags.shutdownGrace * 1000 });
      }, { graceMs: flags.shutdownGrace * 1000 });
      process.stdout.write(`fichier-dav: serving ${flags.apiUrl} at ${bridge.url}\n`);
    });
}
