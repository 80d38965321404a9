/**
 * One account, composed as the bridge composes it (src/cli/bridge.ts): FichierClient (with its
 * scheduler drawing from the account's shared API budget) → FichierUpstream (name codec, error
 * translation) → FichierDrive (paths, duplicate names, local state), so the CLI sees exactly what
 * the mounted drive shows. The account's saved listings (shared with a running serve) sit in
 * front of listings, and user/info is answered from the saved answer inside its window.
 *
 * With `--redis-url` the command joins the account's bridges as `serve` does (src/cli/bridge.ts):
 * the budget, windows and flood cool-down are the shared ones in Redis, listings another bridge
 * made in the current window are reused, writes are ordered with the bridges' writes, and each
 * change a write makes to the folder cache is published, so every bridge shows it at once.
 */
import type { AccountDb } from '../../state/account-db.js';
import { join } from 'node:path';
import { FichierDrive } from '../../drive/fichier-drive.js';
import { FichierUpstream } from '../../drive/fichier-upstream.js';
import { SnapshotUpstream } from '../../drive/snapshot-upstream.js';
import { AuthError, NotPremiumError, realClock, SCHEDULER_DEFAULTS, type AccountInfo, type FichierLogEvent } from '../../fichier/index.js';
import { describeKeyRefusal } from '../key-check.js';
import type { Upstream } from '../../drive/upstream.js';
import { keyFingerprint } from '../../state/location.js';
import { ACCOUNT_DOWNLOAD_CONNECTIONS } from '../../drive/connection-budget.js';
import { linkSecret } from '../../links/secret.js';
import type { ListingSnapshots } from '../../state/listing-snapshots.js';
import { openAccountState, windowWithMargin } from '../account-state.js';
import { ApiKeyError, loadApiKey } from '../api-key.js';
import { ACCOUNT_SETTING_KEYS, apiKeyFileToRead, loadSettings, type SettingValues } from '../config.js';
import { CliError, ExitCode } from '../exit-codes.js';
import type { FichierClient } from '../../fichier/index.js';

export type AccountSettings = SettingValues<(typeof ACCOUNT_SETTING_KEYS)[number]>;

export interface GlobalFlags extends Record<string, unknown> {
  config?: string;
  verbose?: boolean;
  /** List again instead of reusing another command's listing from the last 30 s (waits for the window). */
  fresh?: boolean;
}

export interface Account {
  settings: AccountSettings;
  /** Where the API key came from, in words: "FICHIER_API_KEY" or "the key file PATH". */
  keySource: string;
  /** This account's local state directory (--state-dir, or the per-account default). */
  stateDir: string;
  /** The account's state.db (share links live there, shared with `serve`). */
  db: AccountDb;
  client: FichierClient;
  drive: FichierDrive;
  snapshots: ListingSnapshots;
  /** user/info, answered from the saved answer inside 1fichier's 60 s window. */
  userInfo(): Promise<AccountInfo>;
  /** The last upstream call that failed after its retries (to tell a flood from an outage). */
  lastFailure(): FichierLogEvent | undefined;
  /** Seconds until the account's flood cool-down ends (0 when none). */
  cooldownSeconds(): number;
  /** The account's link secret (state.db): the same one a serve given this state directory uses. */
  linkSecret(): Buffer;
  /** Marks a folder's saved listing as unknown (a server-side change we cannot patch). */
  distrustFolder(folderId: number): void;
  close(): Promise<void>;
}

export async function openAccount(flags: GlobalFlags, stderr: (line: string) => void): Promise<Account> {
  const { values: settings, origins } = await loadSettings(ACCOUNT_SETTING_KEYS, flags);
  let apiKey: string;
  const keyFile = apiKeyFileToRead(settings, origins.apiKeyFile);
  try {
    apiKey = await loadApiKey(keyFile, process.env, stderr);
  } catch (error) {
    if (error instanceof ApiKeyError) throw new CliError(error.message, ExitCode.usage);
    throw error;
  }

  let lastFailure: FichierLogEvent | undefined;
  const keySource = keyFile ? `the key file ${keyFile}` : 'FICHIER_API_KEY';
  // Said once on stderr (a command is short: no "connected" line, only trouble).
  // Loaded only when asked for: the Redis client is about 11 MB of resident memory.
  const redisUrl = settings.redisUrl;
  const redis = redisUrl
    ? new (await import('../../state/redis/coordination.js')).RedisCoordination({
        url: redisUrl,
        account: keyFingerprint(apiKey),
        bridges: settings.redisBridges,
        logger: { info: () => {}, warn: (message) => stderr(message) },
      })
    : undefined;
  if (redisUrl && redis && !(await redis.ready(2_000))) {
    const { redactUrl } = await import('../../state/redis/connection.js');
    stderr(`redis: cannot reach ${redactUrl(redisUrl)}; going on alone: reads paced at rate / ${settings.redisBridges}, no listing inside another bridge's window, no write`);
  }
  const account = await openAccountState({
    apiKey,
    apiUrl: settings.apiUrl,
    stateDir: settings.stateDir,
    account: settings.account,
    shareBudget: redis && ((local) => redis.shareBudget(local)),
    client: {
      ratePerSecond: settings.rate,
      timeScale: settings.timeScale,
      jitterMs: settings.jitterMs,
      maxAttempts: settings.retries,
      logger: (event) => {
        if (event.outcome === 'error') lastFailure = event;
        if (flags.verbose) {
          const extra = [event.retries ? `retries=${event.retries}` : '', event.floods ? `floods=${event.floods}` : '', event.errorName ?? '']
            .filter(Boolean)
            .join(' ');
          stderr(`upstream ${event.endpoint} ${event.outcome} ${event.ms}ms${extra ? ` ${extra}` : ''}`);
        }
      },
    },
  }).catch(async (error: unknown) => {
    await redis?.close();
    // Identifying the account is the first call: a refused key names where the key came from.
    if (error instanceof AuthError || error instanceof NotPremiumError) throw new CliError(describeKeyRefusal(error, keySource), ExitCode.auth);
    throw error;
  });
  if (account.location.migratedFrom) stderr(`moved the account's local state from ${account.location.migratedFrom} to ${account.location.dir}`);
  const { client, snapshots, state } = account;

  const cooldownSeconds = (): number => {
    const ms = client.scheduler.cooldownEndsAt() - realClock.now();
    return ms > 0 ? Math.ceil(ms / 1000) : 0;
  };
  // Another process of the account is cooling down after a flood: say so instead of waiting.
  if (cooldownSeconds() > 0) {
    const seconds = cooldownSeconds();
    await account.close();
    await redis?.close();
    throw new CliError(`1fichier is rate-limiting this account; retry in ${seconds} s`, ExitCode.unavailable);
  }

  const listingWindowMs = windowWithMargin(SCHEDULER_DEFAULTS.listingIntervalMs, settings.timeScale, settings.jitterMs);
  const local: Upstream = new SnapshotUpstream(new FichierUpstream(client), snapshots, {
    listingWindowMs,
    reuseListings: !flags.fresh,
    onWait: (ms, why) => {
      if (ms >= 1000) stderr(`waiting ${Math.ceil(ms / 1000)} s for ${why}`);
    },
  });
  // --fresh asks for a listing of our own: the bridges' shared one is skipped too.
  const upstream = redis && !flags.fresh ? redis.shareListings(local, listingWindowMs) : local;
  // No read cache: a download is read once, sequentially, and resumes from LOCAL.part with exactly
  // the missing range; caching it in blocks would fetch from block boundaries and fill the disk twice.
  const drive = new FichierDrive({
    upstream,
    state,
    spoolDir: join(account.location.dir, 'spool'),
    readCache: false,
    ...(redis ? { locks: redis.pathLocks, onCachePatch: (patch) => redis.publish(patch), connectionBudget: redis.connectionBudget(ACCOUNT_DOWNLOAD_CONNECTIONS) } : {}),
  });
  redis?.attach(
    (patch) => drive.applyRemoteChange(patch),
    (since) => {
      drive.folders.invalidateAll();
      snapshots.distrustBefore(since);
    },
  );

  return {
    settings,
    keySource,
    stateDir: account.location.dir,
    db: account.db,
    client,
    drive,
    snapshots,
    lastFailure: () => lastFailure,
    cooldownSeconds,
    distrustFolder: (folderId) => snapshots.distrust(folderId),
    linkSecret: () => linkSecret(account.db),
    userInfo: () => account.userInfo(),
    async close() {
      await account.close();
      // After the client: every change our writes made has been handed to Redis first (close flushes).
      await redis?.close();
    },
  };
}
