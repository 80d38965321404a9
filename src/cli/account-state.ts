/**
 * Opens one account as every command uses it (`serve` through bridge.ts, the account CLI through
 * commands/session.ts): finds its state directory (src/state/location.ts: by `--state-dir`, by
 * `--account`, or by the account's identity, asking user/info once for a key not seen before),
 * opens its state database and builds on it the shared API budget, the saved listings, the local
 * files and properties, and a client whose scheduler draws from that budget.
 */
import type { LocalState as LocalStateType } from '../drive/local-state.js';
import { LocalState } from '../drive/local-state.js';
import { FichierClient, FloodError, SCHEDULER_DEFAULTS, type AccountInfo, type FichierClientOptions, type ReadOptions } from '../fichier/index.js';
import { MemoryBudgetStore, type BudgetStore } from '../fichier/budget-store.js';
import { AcceptedKeys } from '../state/accepted-keys.js';
import { openAccountDb, type AccountDb } from '../state/account-db.js';
import { SqliteBudgetStore } from '../state/budget-db.js';
import { importCliLedger } from '../state/ledger-import.js';
import { ListingSnapshots } from '../state/listing-snapshots.js';
import { keyFingerprint, locateAccountState, type AccountLocation } from '../state/location.js';
import { stateOpenError } from './state-open-error.js';

export interface OpenAccountOptions {
  apiKey: string;
  apiUrl: string;
  /** `--state-dir`: wins over everything. */
  stateDir?: string;
  /** `--account NAME`: names the state folder without asking 1fichier. */
  account?: string;
  /** Client and scheduler settings (rate, time scale, retries, logger...). */
  client?: Omit<FichierClientOptions, 'apiKey' | 'apiUrl' | 'budget'>;
  env?: NodeJS.ProcessEnv;
  /** Wraps the account's budget (several bridges share it through Redis: src/state/redis). */
  shareBudget?: (local: BudgetStore) => BudgetStore;
}

export interface AccountState {
  location: AccountLocation;
  db: AccountDb;
  budget: SqliteBudgetStore;
  snapshots: ListingSnapshots;
  state: LocalStateType;
  acceptedKeys: AcceptedKeys;
  client: FichierClient;
  /** The key's fingerprint (a hash) for `acceptedKeys`. */
  keyFingerprint: string;
  /** The user/info answer received while identifying the account: the key was accepted just now. */
  identified?: AccountInfo;
  /** user/info, answered from the saved answer inside 1fichier's 60 s window. */
  userInfo(): Promise<AccountInfo>;
  /** One real user/info (waiting for its window): checks the key and saves the answer. */
  checkKey(opts?: ReadOptions): Promise<AccountInfo>;
  /** Closes the client and the database. */
  close(): Promise<void>;
}

/**
 * Applied window with the scheduler's margin (2 %, at least 50 ms, at least `jitterMs`), as the
 * scheduler applies it (real ms).
 */
export function windowWithMargin(nominalMs: number, timeScale: number, jitterMs = 0): number {
  const span = nominalMs * timeScale;
  return span + Math.max(span * SCHEDULER_DEFAULTS.windowMargin, 50, jitterMs);
}

/**
 * Opens the account. Throws what identifying the account throws (AuthError for a refused key,
 * UnreachableError, ...) and a CliError naming the folder, the problem and the fix when the state
 * cannot be opened (src/cli/state-open-error.ts).
 */
export async function openAccountState(o: OpenAccountOptions): Promise<AccountState> {
  let identified: AccountInfo | undefined;
  let probeCooldownMs = 0;
  const location = await locateAccountState({
    apiUrl: o.apiUrl,
    apiKey: o.apiKey,
    stateDir: o.stateDir,
    account: o.account,
    env: o.env,
    identify: async () => {
      // A client of its own: the account's state folder, hence its local budget, is not known yet;
      // with Redis the budget shared by the bridges is (user/info's window is the account's).
      const probe = new FichierClient({
        ...o.client,
        apiKey: o.apiKey,
        apiUrl: o.apiUrl,
        ...(o.shareBudget ? { budget: o.shareBudget(new MemoryBudgetStore()) } : {}),
      });
      try {
        identified = await probe.userInfo();
      } finally {
        probeCooldownMs = probe.scheduler.cooldownRemainingMs();
        await probe.close();
      }
      return identified;
    },
    cooldownAfter: (error) => (error instanceof FloodError ? Math.max(probeCooldownMs, 30_000 * (o.client?.timeScale ?? 1)) : undefined),
  });
  let db: AccountDb;
  try {
    db = openAccountDb(location.dir);
  } catch (error) {
    throw stateOpenError(location.dir, error);
  }
  try {
    const budget = new SqliteBudgetStore(db);
    const snapshots = new ListingSnapshots(db);
    await importCliLedger(location.dir, snapshots, budget);
    const state = await LocalState.open(db);
    const acceptedKeys = new AcceptedKeys(db);
    const client = new FichierClient({ ...o.client, apiKey: o.apiKey, apiUrl: o.apiUrl, budget: o.shareBudget ? o.shareBudget(budget) : budget });
    await client.scheduler.syncCooldown();
    const fingerprint = keyFingerprint(o.apiKey);
    const timeScale = client.scheduler.options.timeScale;
    if (identified) {
      acceptedKeys.accept(fingerprint);
      snapshots.recordUserInfo(storeAccountInfo(identified));
      await client.scheduler.recordWindowUse('user/info', client.scheduler.options.userInfoIntervalMs);
    }
    const checkKey = async (opts?: ReadOptions): Promise<AccountInfo> => {
      const info = await client.userInfo(opts);
      acceptedKeys.accept(fingerprint);
      snapshots.recordUserInfo(storeAccountInfo(info));
      return info;
    };
    return {
      location,
      db,
      budget,
      snapshots,
      state,
      acceptedKeys,
      client,
      keyFingerprint: fingerprint,
      identified,
      async userInfo() {
        const saved = snapshots.userInfo();
        const age = saved ? Date.now() - saved.at : Infinity;
        if (saved && age >= 0 && age < windowWithMargin(SCHEDULER_DEFAULTS.userInfoIntervalMs, timeScale, client.scheduler.options.jitterMs)) return reviveAccountInfo(saved.value);
        return checkKey();
      },
      checkKey,
      async close() {
        await client.close().catch(() => {});
        db.close();
      },
    };
  } catch (error) {
    db.close();
    throw error;
  }
}

function storeAccountInfo(info: AccountInfo): Record<string, unknown> {
  return { ...info, subscriptionEnd: info.subscriptionEnd?.getTime() };
}

function reviveAccountInfo(value: Record<string, unknown>): AccountInfo {
  const end = value.subscriptionEnd;
  return { ...(value as unknown as AccountInfo), subscriptionEnd: typeof end === 'number' ? new Date(end) : undefined };
}
