/**
 * Composes the product: 1fichier client → drive → WebDAV server. `serve`, `demo` and the
 * integration tests all start the bridge through here, so they run the same wiring.
 */
import http from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { isDiskFull } from '../drive/disk-full.js';
import { FichierDrive, LINK_REUSE_MS, type FichierDriveOptions } from '../drive/fichier-drive.js';
import { ACCOUNT_DOWNLOAD_CONNECTIONS } from '../drive/connection-budget.js';
import { FichierUpstream } from '../drive/fichier-upstream.js';
import type { LocalState } from '../drive/local-state.js';
import { SnapshotUpstream } from '../drive/snapshot-upstream.js';
import { prepareSpoolDir, SpoolUnusableError } from '../drive/spool.js';
import { SqliteWriteJournal } from '../drive/write-journal.js';
import type { FolderPatch } from '../drive/folder-cache.js';
import type { Upstream } from '../drive/upstream.js';
import { IdentifyCooldownError, keyFingerprint } from '../state/location.js';
import { holdOwnerLock, TwinOwnerError } from '../state/owner-lock.js';
import { hostTag } from '../state/process-owner.js';
import type { RedisStatus } from '../state/redis/coordination.js';
import { ApiUrlError, AuthError, FloodError, NotPremiumError, SCHEDULER_DEFAULTS, UnreachableError, type FichierClient, type FichierClientOptions, type FichierLogEvent } from '../fichier/index.js';
import { openAccountState, windowWithMargin } from './account-state.js';
import { CliError, ExitCode } from './exit-codes.js';
import { describeKeyRefusal, KEY_CHECK_ERRORS } from './key-check.js';
import { createAccessGuard, loadHtpasswd, loadUsersFile, UserStore, UsersFileError, WRITE_METHODS, type LoginThrottleOptions, type PlainUser } from '../webdav/auth/index.js';
import type { Logger } from '../webdav/handler.js';
import { trackInFlight } from '../webdav/in-flight.js';
import { LockManager } from '../webdav/lock-manager.js';
import { applyConnectionLimits, serverOptions, type ServerLimits } from '../webdav/server-limits.js';
import { createWebDavHandler, listenOn, type AnsweredWrite } from '../webdav/server.js';
import { assertSafeExposure } from './exposure.js';
import { bridgeReadiness, withHealthEndpoints } from './health.js';
import { linkSecret } from '../links/secret.js';
import { withPublicRoutes, type PublicRoute } from '../public/routes.js';
import { streamRoute } from '../public/stream-route.js';
import { shareEndpoint } from '../public/share-endpoint.js';
import { shareRoute } from '../public/share-route.js';
import { ShareStore } from '../links/shares.js';
import { changesOfWrite } from '../notify/webdav-changes.js';
import { createNotifications, type BridgeNotifyOptions, type Notifications } from './notifications.js';
import type { BridgeMetrics } from './metrics.js';
import { redactingLogger } from './redacting-logger.js';
import { observeRequests } from './request-observer.js';

export interface BridgeOptions {
  apiKey: string;
  apiUrl?: string;
  host?: string;
  /** 0 = ephemeral. */
  port?: number;
  /**
   * The account's state (API windows, saved listings, empty files, dead properties, housekeeping
   * files). Default: the account's folder in the platform's state directory (src/state/location.ts).
   */
  stateDir?: string;
  /** Names the account's state folder instead of asking 1fichier who the key belongs to. */
  account?: string;
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
  /**
   * Share the API budget, WebDAV locks, write ordering and cache changes with the other bridges of
   * the account through this Redis (`--redis-url`); `bridges` of them (`--redis-bridges`, default 3).
   */
  /**
   * Bridges sharing one account through Redis. `journalLeaseMs`: how long a dead bridge's unfinished
   * writes wait before another bridge claims and settles them (default 15 000; tests shorten it).
   */
  redis?: {
    url: string;
    bridges?: number;
    journalLeaseMs?: number;
    /** Download connections of the whole account at once, across bridges (default 30, 1fichier's cap). */
    maxDownloadConnections?: number;
  };
  /**
   * The bridge's address as media servers and browsers reach it (`--public-url`): the origin of
   * `.strm` and share links. Default: the bridge's own URL.
   */
  publicUrl?: string;
  /** Change notifications to media servers, `--watch` refreshes and a `.strm` library (docs/media-servers.md). */
  notify?: BridgeNotifyOptions;
}

export interface AuthOptions {
  users?: PlainUser[];
  htpasswdFile?: string;
  /** A `--users` file: users with a home folder and permissions each (users-file.ts). */
  usersFile?: string;
  realm?: string;
  backoff?: LoginThrottleOptions;
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
  /** Whether the bridge can reach 1fichier with an accepted key (for /healthz and /readyz). */
  readiness(): Readiness;
  /** The account's state directory in use. */
  stateDir: string;
  /** Whether the shared Redis is reachable (only with `redis`). */
  redisStatus?: () => RedisStatus;
  /**
   * Reads the users file and the htpasswd file again (SIGHUP). A file that cannot be read or is
   * wrong keeps the users in force and logs why; resolves whether the new users were taken.
   */
  reloadUsers(): Promise<boolean>;
  /** The origin of public links (`publicUrl`, else `url`), without a trailing slash. */
  publicUrl: string;
  /** The account's link secret (state.db): signs `.strm` and share links. */
  linkSecret: Buffer;
  /** With `notify`: the notifier, the watch and the `.strm` sync. */
  notifications?: Notifications;
}

/**
 * The bridge's readiness: `ready` when neither the API is known unreachable nor the key known
 * refused. Unknown (no answer yet since the start) counts as fine for a key accepted before.
 */
export interface Readiness {
  ready: boolean;
  /** false after a call could not reach 1fichier (connection refused, DNS, TLS), until one does. */
  apiReachable: boolean;
  /** false after 1fichier refused the key (or the account is not premium), until a call succeeds. */
  keyAccepted: boolean;
  /** Why it is not ready (or, ready, what is degraded), in words for an operator. */
  reason?: string;
  /** With `--redis-url`: false while Redis is unreachable (reads served, locked writes 503). */
  redisReachable?: boolean;
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };


export async function startBridge(options: BridgeOptions): Promise<RunningBridge> {
  const notifySecrets = [options.notify?.jellyfin?.apiKey, options.notify?.plex?.token].filter((secret): secret is string => !!secret);
  const logger = redactingLogger(options.logger ?? silentLogger, [options.apiKey, ...(options.auth?.users ?? []).map((user) => user.password), ...notifySecrets]);
  const host = options.host ?? '127.0.0.1';
  const loadUsers = async (): Promise<UserStore> => {
    const htpasswd = options.auth?.htpasswdFile ? await loadHtpasswd(options.auth.htpasswdFile) : [];
    const usersFile = options.auth?.usersFile ? await loadUsersFile(options.auth.usersFile) : undefined;
    try {
      return new UserStore({ users: options.auth?.users, htpasswd, usersFile });
    } catch (error) {
      throw usersFile ? new UsersFileError((error as Error).message) : error;
    }
  };
  let users = await loadUsers();
  assertSafeExposure(host, users.size > 0, options.allowAnonymous ?? false);
  const apiUrl = options.apiUrl ?? 'https://api.1fichier.com/v1';
  const health = { apiReachable: true, keyAccepted: true, reason: undefined as string | undefined };
  const observe = (event: FichierLogEvent): void => {
    if (event.outcome !== 'error') {
      health.apiReachable = true;
      health.keyAccepted = true;
      health.reason = undefined;
    } else if (event.errorName === UnreachableError.name) {
      health.apiReachable = false;
      health.reason = `cannot reach the 1fichier API at ${apiUrl}`;
    } else if (KEY_CHECK_ERRORS.has(event.errorName ?? '')) {
      health.keyAccepted = false;
      health.reason = '1fichier refused the API key';
    }
  };
  const userLogger = options.client?.logger;
  // Loaded only with --redis-url: the Redis client is about 11 MB of resident memory.
  const redis = options.redis
    ? new (await import('../state/redis/coordination.js')).RedisCoordination({
        url: options.redis.url,
        account: keyFingerprint(options.apiKey),
        bridges: options.redis.bridges ?? 3,
        logger,
        journalLeaseMs: options.redis.journalLeaseMs,
      })
    : undefined;
  await redis?.ready(2_000);
  let account;
  try {
    account = await openAccountState({
      apiKey: options.apiKey,
      apiUrl,
      stateDir: options.stateDir,
      account: options.account,
      shareBudget: redis && ((local) => redis.shareBudget(local)),
      client: {
        // The drive's connection budget is the download cap (with priorities and parking of idle
        // connections); the client's own FIFO cap stays at 1fichier's hard limit behind it.
        downloadConcurrency: ACCOUNT_DOWNLOAD_CONNECTIONS,
        ...options.client,
        logger: (event: FichierLogEvent) => {
          observe(event);
          if (userLogger) return userLogger(event);
          options.metrics?.upstream(event);
          logUpstream(logger, event);
        },
      },
    });
  } catch (error) {
    await redis?.close();
    throw startupError(error, apiUrl);
  }
  const { client, state } = account;
  const stateDir = account.location.dir;
  const spoolDir = options.spoolDir ?? join(stateDir, 'spool');
  // Held for the bridge's life: other processes on this state folder (another container on the
  // same volume) see it alive whatever its pid looks like from there (docs/state.md).
  let ownerLock: { locked: boolean; release: () => void };
  try {
    ownerLock = holdOwnerLock(stateDir, { pid: process.pid, tag: hostTag() });
  } catch (error) {
    await account.close();
    await redis?.close();
    throw ownerLockError(error);
  }
  if (!ownerLock.locked) logger.warn('the state folder cannot hold locks; a live bridge in another container on it would be taken for a dead one', { dir: stateDir });
  // A spool that cannot be written (a file where its folder should be, a read-only or immutable
  // folder) would fail every upload of unknown length later (507): say so at start, with the fix.
  if (!options.readOnly) {
    try {
      await prepareSpoolDir(spoolDir);
    } catch (error) {
      ownerLock.release();
      await account.close();
      await redis?.close();
      throw spoolStartupError(error);
    }
  }
  if (account.location.migratedFrom) logger.info('moved the local state to the account folder', { from: account.location.migratedFrom, to: stateDir });
  const stopChecks = new AbortController();
  try {
    await checkKeyAtStart(account, logger, stopChecks.signal);
  } catch (error) {
    ownerLock.release();
    await account.close();
    await redis?.close();
    throw startupError(error, apiUrl);
  }
  const notifications = createNotifications(options.notify, logger, options.metrics);
  const listingWindowMs = windowWithMargin(SCHEDULER_DEFAULTS.listingIntervalMs, client.scheduler.options.timeScale, client.scheduler.options.jitterMs);
  const shared = (upstream: Upstream): Upstream => (redis ? redis.shareListings(upstream, listingWindowMs) : upstream);
  const drive = new FichierDrive({
    ...options.drive,
    // Tokens live 5 minutes times the time scale: reused for 4 minutes at scale 1, they were reused
    // long after their death at a smaller scale (every read then began with a refused GET).
    linkReuseMs: options.drive?.linkReuseMs ?? LINK_REUSE_MS * client.scheduler.options.timeScale,
    // With Redis the bridges of the account share one budget of download connections (1fichier
    // counts them per account); the drive takes a slot for every upstream ranged GET.
    ...(redis
      ? { connectionBudget: redis.connectionBudget(options.redis?.maxDownloadConnections ?? options.drive?.downloadConnections ?? ACCOUNT_DOWNLOAD_CONNECTIONS) }
      : {}),
    upstream: shared(
      new SnapshotUpstream(
        new FichierUpstream(client, {
          interactiveDeadlineMs: options.upstreamDeadlineMs,
          onKeyRejected: (message) => {
            health.keyAccepted = false;
            health.reason = '1fichier refused the API key';
            account.acceptedKeys.forget(account.keyFingerprint);
            logger.error(message);
          },
        }),
        account.snapshots,
        { listingWindowMs },
      ),
    ),
    state,
    // With Redis the journal is shared, so a bridge that dies has its writes settled by another.
    journal: redis ? redis.journal : new SqliteWriteJournal(account.db),
    ...(redis ? { locks: redis.pathLocks, onCachePatch: (patch: FolderPatch) => redis.publish(patch) } : {}),
    spoolDir,
    onBackgroundError: (error) => logger.warn('background folder refresh failed', { error: String(error) }),
    ...(notifications ? { onExternalChanges: (changes: Parameters<Notifications['fromAccount']>[0]) => notifications.fromAccount(changes) } : {}),
    onReadCacheNotice: (message, error) => logger.warn(message, error === undefined ? {} : { error: String(error) }),
  });
  // A dead PUT's spool file goes before any request is taken (a CI run once saw one still there
  // right after a restart: the clean-up ran beside the first requests). Writes a crash left
  // half-done are settled next, in the background (their paths wait for it).
  const leftovers = await drive.removeSpoolLeftovers().catch((error: unknown) => {
    logger.warn('cannot list the upload spool to remove what a dead process left there; uploads of unknown length may fail', { dir: spoolDir, error: String(error) });
    return undefined;
  });
  if (leftovers && leftovers.failed.length > 0) {
    const first = leftovers.failed[0]!;
    logger.warn('some upload spool leftovers could not be removed: remove them by hand (nothing in them was acknowledged to a client)', {
      dir: spoolDir,
      count: leftovers.failed.length,
      first: `${first.name} (${first.code})`,
    });
  }
  drive.recover().catch((error: unknown) => logger.warn('settling unfinished writes failed; retrying in the background', { error: String(error) }));
  if (redis) drive.sweepOrphanWrites(redis.journalLeaseMs);
  redis?.attach(
    (patch) => drive.applyRemoteChange(patch),
    // Changes were missed beyond recall: every listing we hold may miss one; list again (within the budget).
    (since) => {
      drive.folders.invalidateAll();
      account.snapshots.distrustBefore(since);
    },
  );
  const authorize =
    users.size > 0 || options.readOnly
      ? createAccessGuard({
          users: users.size > 0 ? () => users : undefined,
          realm: options.auth?.realm,
          readOnly: options.readOnly,
          backoff: options.auth?.backoff,
          logger,
        })
      : undefined;
  const webdav = createWebDavHandler({
    drive,
    locks: new LockManager(redis ? { store: redis.locks } : {}),
    logger,
    downloads: options.downloads ?? 'stream',
    authorize,
    // Change notifications from the account's paths (a user's home included), once answered.
    ...(notifications ? { onWrite: (write: AnsweredWrite) => {
      const changes = changesOfWrite(write);
      if (changes.length > 0) notifications.fromBridge(changes);
    } } : {}),
  });
  // Signed links (/stream/ for .strm files): before authentication (the URL carries the grant),
  // inside the request log (which hides their signatures).
  const secret = linkSecret(account.db);
  const shares = new ShareStore(account.db);
  // Known once listening (the default is the bridge's own URL).
  let publicOrigin = (options.publicUrl ?? '').replace(/\/+$/, '');
  const publicRoutes: PublicRoute[] = [
    streamRoute({ drive, secret, downloads: options.downloads ?? 'stream', logger }),
    // Share links (/s/<id>) need no credentials; POST /.share authenticates like WebDAV itself.
    shareRoute({ drive, shares, secret, downloads: options.downloads ?? 'stream', secure: options.tls !== undefined || /^https:/i.test(options.publicUrl ?? ''), logger }),
    shareEndpoint({ drive, shares, publicUrl: () => publicOrigin, authorize, logger }),
  ];
  const routed = withPublicRoutes(webdav, publicRoutes, logger);
  const observed = options.logRequests === false && !options.metrics ? routed : observeRequests(routed, options.logRequests === false ? silentLogger : logger, options.metrics);
  // /healthz and /readyz: before authentication, outside the WebDAV namespace's logs (health.ts).
  const readiness = (): Readiness => {
    const ready = health.apiReachable && health.keyAccepted;
    const redisReachable = redis?.status().reachable;
    // Without Redis a bridge still serves reads, so it stays ready (a load balancer keeps it), degraded.
    const degraded = redisReachable === false ? 'Redis unreachable: reads from caches, writes needing a lock refused (503)' : undefined;
    return {
      ready,
      apiReachable: health.apiReachable,
      keyAccepted: health.keyAccepted,
      ...(health.reason && !ready ? { reason: health.reason } : degraded ? { reason: degraded } : {}),
      ...(redisReachable !== undefined ? { redisReachable } : {}),
    };
  };
  const handler = withHealthEndpoints(observed, () => bridgeReadiness({ readiness }));
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
  const url = `${options.tls ? 'https' : 'http'}://${shownHost}:${port}/`;
  publicOrigin ||= url.replace(/\/+$/, '');
  notifications?.start(drive, { publicUrl: publicOrigin, secret });
  return {
    url,
    publicUrl: publicOrigin,
    linkSecret: secret,
    ...(notifications ? { notifications } : {}),
    port,
    server,
    client,
    drive,
    state,
    stateDir,
    keyAccepted: () => health.keyAccepted,
    readiness,
    ...(redis ? { redisStatus: () => redis.status() } : {}),
    async reloadUsers() {
      try {
        const next = await loadUsers();
        if (next.size === 0 && users.size > 0) throw new Error('no users left; anonymous access needs a restart');
        users = next;
        logger.info('users reloaded', { users: next.size });
        return true;
      } catch (error) {
        logger.error('users not reloaded; the previous users stay in force', { reason: (error as Error).message });
        return false;
      }
    },
    close(closeOptions: CloseOptions = {}) {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const graceMs = closeOptions.graceMs ?? 0;
        const unfinished = await inFlight.drain(graceMs, (method) => graceMs > 0 && WRITE_METHODS.has(method));
        if (unfinished > 0) logger.warn('shutdown: writes still running after the grace period were cut', { count: unfinished });
        server.closeAllConnections();
        await closed;
        // The read cache stops its read-ahead and saves its index before the state is flushed. A
        // step that fails (a full disk) is reported and the others still run: the account is
        // closed whatever happened, and what was saved before stays as it was (atomic writes).
        stopChecks.abort();
        await notifications?.close();
        const failures: unknown[] = [];
        for (const [what, step] of [
          ['the read cache index', () => drive.closeReadCache()],
          ['the unfinished writes', () => drive.closeWrites()],
          ['the local state', () => state.flush()],
        ] as const) {
          await step().catch((error: unknown) => {
            if (isDiskFull(error)) {
              logger.error(`shutdown: cannot save ${what}: the disk is full; the last saved copy is kept`, { error: String(error) });
            } else {
              logger.error(`shutdown: cannot save ${what}`, { error: String(error) });
              failures.push(error);
            }
          });
        }
        ownerLock.release();
        await account.close();
        await redis?.close();
        if (failures.length > 0) throw failures[0];
      })();
      return closing;
    },
  };
}

/** The operator's message for a second process with this one's owner identity on the state folder (exit 1). */
function ownerLockError(error: unknown): unknown {
  if (!(error instanceof TwinOwnerError)) return error;
  return new CliError(
    `${error.message}: two containers with the same hostname on one volume take each other's unfinished uploads for a dead predecessor's; give each container its own volume (and hostname), or share one account's bridges through --redis-url`,
    ExitCode.failed,
  );
}

/** The operator's message for a spool directory that cannot be used (exit 1). */
function spoolStartupError(error: unknown): unknown {
  if (!(error instanceof SpoolUnusableError)) return error;
  const fix =
    error.code === 'ENOTDIR' || error.code === 'EEXIST'
      ? 'something that is not a folder stands there: move it away'
      : 'it must be a folder this user can write, on a disk not mounted read-only (check its owner, permissions and attributes such as chattr +i)';
  return new CliError(
    `the upload spool ${error.dir} cannot be used (${error.code}): ${fix}`,
    ExitCode.failed,
  );
}

/** What a failed start means for the operator: a refused key exits 4, a wrong API URL 2. */
function startupError(error: unknown, apiUrl: string): unknown {
  if (error instanceof AuthError || error instanceof NotPremiumError) return new CliError(describeKeyRefusal(error), ExitCode.auth);
  if (error instanceof ApiUrlError) return new CliError(error.message, ExitCode.usage);
  if (error instanceof IdentifyCooldownError || error instanceof FloodError) {
    return new CliError(`${error instanceof FloodError ? '1fichier is rate-limiting this account' : error.message}; the account cannot be identified meanwhile (or give --account NAME)`, ExitCode.unavailable);
  }
  if (error instanceof UnreachableError) {
    // Only reached when the account could not be identified (a key never seen before).
    return new CliError(`${error.message}; the account cannot be identified without it (or give --account NAME)`, ExitCode.unavailable);
  }
  void apiUrl;
  return error;
}

/**
 * The key check at start: one user/info. Skipped when identifying the account just asked it;
 * deferred to the background (when the window opens) for a key accepted before; otherwise
 * awaited, waiting out the window if another process used it. A refused key throws (serve exits
 * 4); an unreachable API logs a warning and retries in the background (readiness says so).
 */
async function checkKeyAtStart(account: Awaited<ReturnType<typeof openAccountState>>, logger: Logger, stop: AbortSignal): Promise<void> {
  if (account.identified) return;
  const { client } = account;
  const known = account.acceptedKeys.has(account.keyFingerprint);
  const waitMs = Math.max(await client.scheduler.windowWaitMs('user/info'), client.scheduler.cooldownRemainingMs());
  if (known && waitMs > 0) {
    void retryCheck(account, logger, stop, 0);
    return;
  }
  if (waitMs > 0) logger.info("waiting for 1fichier's user/info window to check the API key", { seconds: Math.ceil(waitMs / 1000) });
  try {
    await account.checkKey();
  } catch (error) {
    if (!(error instanceof UnreachableError) && !isTransient(error)) throw error;
    logger.warn('cannot check the API key now; serving anyway and retrying', { error: (error as Error).message });
    void retryCheck(account, logger, stop, 2_000);
  }
}

function isTransient(error: unknown): boolean {
  return error instanceof Error && (error as { retryable?: boolean }).retryable === true;
}

/** Asks user/info in the background until it answers (backing off to one try a minute). */
async function retryCheck(account: Awaited<ReturnType<typeof openAccountState>>, logger: Logger, stop: AbortSignal, firstDelayMs: number): Promise<void> {
  for (let delay = firstDelayMs; !stop.aborted; delay = Math.min(Math.max(delay * 2, 2_000), 60_000)) {
    if (delay > 0) {
      const waited = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), delay);
        timer.unref();
        stop.addEventListener('abort', () => (clearTimeout(timer), resolve(false)), { once: true });
      });
      if (!waited) return;
    }
    try {
      await account.checkKey({ priority: 'background', signal: stop });
      return;
    } catch (error) {
      if (stop.aborted) return;
      if (error instanceof AuthError || error instanceof NotPremiumError) {
        account.acceptedKeys.forget(account.keyFingerprint);
        logger.error(describeKeyRefusal(error));
        return;
      }
      logger.warn('1fichier still unreachable; retrying', { error: (error as Error).message, inSeconds: Math.round(Math.min(Math.max(delay * 2, 2_000), 60_000) / 1000) });
    }
  }
}

function logUpstream(logger: Logger, event: FichierLogEvent): void {
  // A refused key is reported once, clearly, by the upstream adapter; one line per call would drown it.
  if (event.errorName === 'AuthError' || event.errorName === 'NotPremiumError') return;
  const fields = { ...event } as Record<string, unknown>;
  if (event.outcome === 'ok') logger.info('upstream', fields);
  else logger.warn('upstream', fields);
}
