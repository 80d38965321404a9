/**
 * One account, composed as the bridge composes it (src/cli/bridge.ts): FichierClient (with its
 * scheduler) → FichierUpstream (name codec, error translation) → FichierDrive (paths, duplicate
 * names, local state), so the CLI sees exactly what the mounted drive shows. The only addition
 * is the cross-process ledger (api-ledger.ts) in front of listings and user/info.
 */
import { join } from 'node:path';
import { FichierDrive } from '../../drive/fichier-drive.js';
import { FichierUpstream } from '../../drive/fichier-upstream.js';
import { LocalState } from '../../drive/local-state.js';
import { FichierClient, realClock, SCHEDULER_DEFAULTS, type AccountInfo, type FichierLogEvent } from '../../fichier/index.js';
import { ApiKeyError, loadApiKey } from '../api-key.js';
import { defaultStateDir } from '../bridge.js';
import { ACCOUNT_SETTING_KEYS, apiKeyFileToRead, loadSettings, type SettingValues } from '../config.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { ApiLedger } from './api-ledger.js';
import { LedgerUpstream } from './ledger-upstream.js';

export type AccountSettings = SettingValues<(typeof ACCOUNT_SETTING_KEYS)[number]>;

export interface GlobalFlags extends Record<string, unknown> {
  config?: string;
  verbose?: boolean;
  /** List again instead of reusing another command's listing from the last 30 s (waits for the window). */
  fresh?: boolean;
}

export interface Account {
  settings: AccountSettings;
  /** This account's local state directory (--state-dir, or the per-account default). */
  stateDir: string;
  client: FichierClient;
  drive: FichierDrive;
  ledger: ApiLedger;
  /** user/info, answered from the ledger inside 1fichier's 60 s window. */
  userInfo(): Promise<AccountInfo>;
  /** The last upstream call that failed after its retries (to tell a flood from an outage). */
  lastFailure(): FichierLogEvent | undefined;
  /** Seconds until the scheduler's flood cool-down ends (0 when none). */
  cooldownSeconds(): number;
  /** Marks a folder's saved listing as unknown (a server-side change we cannot patch). */
  distrustFolder(folderId: number): void;
  close(): Promise<void>;
}

/** Margin on top of a window, as the scheduler adds one (2 %, at least a few ms). */
function windowWithMargin(nominalMs: number, timeScale: number): number {
  const span = nominalMs * timeScale;
  return span + Math.max(span * SCHEDULER_DEFAULTS.windowMargin, 50);
}

export async function openAccount(flags: GlobalFlags, stderr: (line: string) => void): Promise<Account> {
  const { values: settings, origins } = await loadSettings(ACCOUNT_SETTING_KEYS, flags);
  let apiKey: string;
  try {
    apiKey = await loadApiKey(apiKeyFileToRead(settings, origins.apiKeyFile), process.env, stderr);
  } catch (error) {
    if (error instanceof ApiKeyError) throw new CliError(error.message, ExitCode.usage);
    throw error;
  }
  const stateDir = settings.stateDir ?? defaultStateDir(settings.apiUrl, apiKey);
  const ledger = await ApiLedger.open(stateDir);
  const floodUntil = ledger.floodUntil();
  if (floodUntil !== undefined) {
    throw new CliError(`1fichier is rate-limiting this account; retry in ${Math.ceil((floodUntil - Date.now()) / 1000)} s`, ExitCode.unavailable);
  }

  let lastFailure: FichierLogEvent | undefined;
  const client = new FichierClient({
    apiKey,
    apiUrl: settings.apiUrl,
    ratePerSecond: settings.rate,
    timeScale: settings.timeScale,
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
  });
  const state = await LocalState.open(stateDir);
  const upstream = new LedgerUpstream(new FichierUpstream(client), ledger, {
    listingWindowMs: windowWithMargin(SCHEDULER_DEFAULTS.listingIntervalMs, settings.timeScale),
    reuseListings: !flags.fresh,
    onWait: (ms, why) => {
      if (ms >= 1000) stderr(`waiting ${Math.ceil(ms / 1000)} s for ${why}`);
    },
  });
  // No read cache: a download is read once, sequentially, and resumes from LOCAL.part with exactly
  // the missing range; caching it in blocks would fetch from block boundaries and fill the disk twice.
  const drive = new FichierDrive({ upstream, state, spoolDir: join(stateDir, 'spool'), readCache: false });
  const userInfoWindow = windowWithMargin(SCHEDULER_DEFAULTS.userInfoIntervalMs, settings.timeScale);

  const cooldownSeconds = (): number => {
    const ms = client.scheduler.cooldownEndsAt() - realClock.now();
    return ms > 0 ? Math.ceil(ms / 1000) : 0;
  };

  return {
    settings,
    stateDir,
    client,
    drive,
    ledger,
    lastFailure: () => lastFailure,
    cooldownSeconds,
    distrustFolder: (folderId) => ledger.distrust(folderId),
    async userInfo() {
      const saved = ledger.userInfo();
      if (saved && Date.now() - saved.at >= 0 && Date.now() - saved.at < userInfoWindow) return reviveAccountInfo(saved.value);
      const info = await client.userInfo();
      ledger.recordUserInfo(storeAccountInfo(info));
      return info;
    },
    async close() {
      if (lastFailure?.errorName === 'FloodError') {
        const seconds = cooldownSeconds() || Math.ceil((SCHEDULER_DEFAULTS.floodCooldownMs * settings.timeScale) / 1000);
        ledger.recordFlood(Date.now() + seconds * 1000);
      }
      await Promise.allSettled([state.flush(), ledger.flush(), client.close()]);
    },
  };
}

function storeAccountInfo(info: AccountInfo): Record<string, unknown> {
  return { ...info, subscriptionEnd: info.subscriptionEnd?.getTime() };
}

function reviveAccountInfo(value: Record<string, unknown>): AccountInfo {
  const end = value.subscriptionEnd;
  return { ...(value as unknown as AccountInfo), subscriptionEnd: typeof end === 'number' ? new Date(end) : undefined };
}
