/**
 * Composes the product: 1fichier client → drive → WebDAV server. `serve`, `demo` and the
 * integration tests all start the bridge through here, so they run the same wiring.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FichierDrive, type FichierDriveOptions } from '../drive/fichier-drive.js';
import { FichierUpstream } from '../drive/fichier-upstream.js';
import { LocalState } from '../drive/local-state.js';
import { FichierClient, type FichierClientOptions, type FichierLogEvent } from '../fichier/index.js';
import { createAccessGuard, loadHtpasswd, UserStore, WRITE_METHODS, type BackoffOptions, type PlainUser } from '../webdav/auth/index.js';
import type { Logger } from '../webdav/handler.js';
import { trackInFlight } from '../webdav/in-flight.js';
import { LockManager } from '../webdav/lock-manager.js';
import { applyConnectionLimits, serverOptions, type ServerLimits } from '../webdav/server-limits.js';
import { createWebDavHandler, listenOn } from '../webdav/server.js';
import { assertSafeExposure } from './exposure.js';
import type { BridgeMetrics } from './metrics.js';
import { redactingLogger } from './redacting-logger.js';
import { observeRequests } from './request-observer.js';

export interface BridgeOptions {
  apiKey: string;
  apiUrl?: string;
  host?: string;
  /** 0 = ephemeral. */
  port?: number;
  /** Local state (empty files, dead properties, housekeeping files). Default: per account under the cache dir. */
  stateDir?: string;
  /** Spool for uploads of unknown length. Default: under the state dir. */
  spoolDir?: string;
  downloads?: 'stream' | 'redirect';
  logger?: Logger;
  /** Client and scheduler settings (rate, concurrency, time scale...). */
  client?: Omit<FichierClientOptions, 'apiKey' | 'apiUrl'>;
  drive?: Omit<FichierDriveOptions, 'upstream' | 'state' | 'spoolDir'>;
  /** HTTP Basic users; absent or empty = anonymous access (refused off loopback without allowAnonymous). */
  auth?: AuthOptions;
  /** Serve a non-loopback host without authentication anyway. */
  allowAnonymous?: boolean;
  /** Refuse every method that could change the account (403). */
  readOnly?: boolean;
  /** HTTPS with this certificate and key (PEM). */
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** Slow-client timeouts and the connection cap. */
  limits?: ServerLimits;
  /** Real ms an API call made for a waiting client may take before it gets 503 (default 20 000). */
  upstreamDeadlineMs?: number;
  /** Counters fed by every request and upstream call (served by `--metrics-port`). */
  metrics?: BridgeMetrics;
  /** Log one line per WebDAV request (method, path, status, bytes, ms) at info level. Default true. */
  logRequests?: boolean;
}

export interface AuthOptions {
  users?: PlainUser[];
  htpasswdFile?: string;
  realm?: string;
  backoff?: BackoffOptions;
}

export interface CloseOptions {
  /** How long in-flight writes (uploads, moves...) may take to finish; reads are cut at once. Default 0. */
  graceMs?: number;
}

export interface RunningBridge {
  url: string;
  port: number;
  server: http.Server;
  client: FichierClient;
  drive: FichierDrive;
  state: LocalState;
  /** Stops accepting, lets writes finish within `graceMs`, cuts the rest, persists local state. */
  close(options?: CloseOptions): Promise<void>;
  /** false once 1fichier refused the API key (until a call succeeds again): for /healthz. */
  keyAccepted(): boolean;
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

/** ~/.cache/fichier-dav/<account> (XDG_CACHE_HOME honoured); the account part is a hash, never the key. */
export function defaultStateDir(apiUrl: string, apiKey: string): string {
  const base = process.env.XDG_CACHE_HOME || (homedir() ? join(homedir(), '.cache') : tmpdir());
  const account = createHash('sha256').update(`${apiUrl}\n${apiKey}`).digest('hex').slice(0, 16);
  return join(base, 'fichier-dav', account);
}

export async function startBridge(options: BridgeOptions): Promise<RunningBridge> {
  const logger = redactingLogger(options.logger ?? silentLogger, [options.apiKey, ...(options.auth?.users ?? []).map((user) => user.password)]);
  const host = options.host ?? '127.0.0.1';
  const htpasswd = options.auth?.htpasswdFile ? await loadHtpasswd(options.auth.htpasswdFile) : [];
  const users = new UserStore({ users: options.auth?.users, htpasswd });
  assertSafeExposure(host, users.size > 0, options.allowAnonymous ?? false);
  const apiUrl = options.apiUrl ?? 'https://api.1fichier.com/v1';
  let keyRefused = false;
  const stateDir = options.stateDir ?? defaultStateDir(apiUrl, options.apiKey);
  const state = await LocalState.open(stateDir);
  const client = new FichierClient({
    ...options.client,
    apiKey: options.apiKey,
    apiUrl,
    logger:
      options.client?.logger ??
      ((event: FichierLogEvent) => {
        if (event.outcome !== 'error') keyRefused = false;
        options.metrics?.upstream(event);
        logUpstream(logger, event);
      }),
  });
  const drive = new FichierDrive({
    ...options.drive,
    upstream: new FichierUpstream(client, {
      interactiveDeadlineMs: options.upstreamDeadlineMs,
      onKeyRejected: (message) => {
        keyRefused = true;
        logger.error(message);
      },
    }),
    state,
    spoolDir: options.spoolDir ?? join(stateDir, 'spool'),
    onBackgroundError: (error) => logger.warn('background folder refresh failed', { error: String(error) }),
    onReadCacheNotice: (message, error) => logger.warn(message, error === undefined ? {} : { error: String(error) }),
  });
  const webdav = createWebDavHandler({
    drive,
    locks: new LockManager(),
    logger,
    downloads: options.downloads ?? 'stream',
    authorize:
      users.size > 0 || options.readOnly
        ? createAccessGuard({
            users: users.size > 0 ? users : undefined,
            realm: options.auth?.realm,
            readOnly: options.readOnly,
            backoff: options.auth?.backoff,
            logger,
          })
        : undefined,
  });
  const handler = options.logRequests === false && !options.metrics ? webdav : observeRequests(webdav, options.logRequests === false ? silentLogger : logger, options.metrics);
  // Large uploads and long streams outlast Node's default 300 s request timeout (requestTimeout 0);
  // slow heads and idle sockets are cut by the limits instead.
  const server: http.Server = options.tls
    ? https.createServer({ ...serverOptions(options.limits), cert: options.tls.cert, key: options.tls.key }, handler)
    : http.createServer(serverOptions(options.limits), handler);
  applyConnectionLimits(server, options.limits, { tls: options.tls !== undefined, logger });
  const inFlight = trackInFlight(server);
  const port = await listenOn(server, options.port ?? 0, host);
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  let closing: Promise<void> | undefined;
  return {
    url: `${options.tls ? 'https' : 'http'}://${shownHost}:${port}/`,
    port,
    server,
    client,
    drive,
    state,
    keyAccepted: () => !keyRefused,
    close(closeOptions: CloseOptions = {}) {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const graceMs = closeOptions.graceMs ?? 0;
        const unfinished = await inFlight.drain(graceMs, (method) => graceMs > 0 && WRITE_METHODS.has(method));
        if (unfinished > 0) logger.warn('shutdown: writes still running after the grace period were cut', { count: unfinished });
        server.closeAllConnections();
        await closed;
        // The read cache stops its read-ahead and saves its index before the state is flushed.
        await drive.closeReadCache();
        await state.flush();
        await client.close();
      })();
      return closing;
    },
  };
}

function logUpstream(logger: Logger, event: FichierLogEvent): void {
  // A refused key is reported once, clearly, by the upstream adapter; one line per call would drown it.
  if (event.errorName === 'AuthError' || event.errorName === 'NotPremiumError') return;
  const fields = { ...event } as Record<string, unknown>;
  if (event.outcome === 'ok') logger.info('upstream', fields);
  else logger.warn('upstream', fields);
}
