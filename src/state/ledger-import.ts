/**
 * Imports, once, the `cli-ledger.json` that earlier CLI versions kept in the state directory: its
 * listings (times and contents), its user/info answer and its flood cool-down become the shared
 * snapshots and API budget, so the first command after the upgrade does not list again inside a
 * window the ledger knew about. The file is then renamed `cli-ledger.json.imported`.
 */
import { readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { FolderContent } from '../drive/folder-cache.js';
import type { BudgetStore } from '../fichier/budget-store.js';
import type { ListingSnapshots } from './listing-snapshots.js';

export const LEGACY_LEDGER_FILE = 'cli-ledger.json';

interface LegacyLedger {
  version?: unknown;
  listings?: Record<string, { at: number; content?: { id: number; name: string; folders: Array<Record<string, unknown>>; files: Array<Record<string, unknown>> } }>;
  userInfo?: { at: number; value: Record<string, unknown> };
  floodUntil?: number;
}

/** Nominal windows with the scheduler's margin (the ledger did not record the time scale). */
const LISTING_WINDOW_MS = 30_600;
const USER_INFO_WINDOW_MS = 61_200;

export async function importCliLedger(dir: string, snapshots: ListingSnapshots, budget: BudgetStore, now = Date.now()): Promise<boolean> {
  const path = join(dir, LEGACY_LEDGER_FILE);
  let ledger: LegacyLedger;
  try {
    ledger = JSON.parse(await readFile(path, 'utf8')) as LegacyLedger;
  } catch (error) {
    // Missing: nothing to import. Damaged: it was best effort anyway (the worst case is one wait).
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    await rename(path, `${path}.imported`).catch(() => {});
    return false;
  }
  if (ledger.version === 1) {
    for (const [id, entry] of Object.entries(ledger.listings ?? {})) {
      if (!Number.isSafeInteger(Number(id)) || typeof entry?.at !== 'number' || entry.at < now - LISTING_WINDOW_MS) continue;
      if (entry.content) {
        const content = entry.content;
        snapshots.recordListing(
          {
            id: content.id,
            name: content.name,
            folders: content.folders.map((f) => ({ ...f, created: typeof f.created === 'number' ? new Date(f.created) : undefined })),
            files: content.files.map((f) => ({ ...f, modified: new Date(Number(f.modified)) })),
          } as FolderContent,
          entry.at,
        );
      }
      await budget.extendWindow(`ls:${id}`, entry.at + LISTING_WINDOW_MS);
    }
    if (ledger.userInfo && typeof ledger.userInfo.at === 'number' && ledger.userInfo.at > now - USER_INFO_WINDOW_MS) {
      snapshots.recordUserInfo(ledger.userInfo.value, ledger.userInfo.at);
      await budget.extendWindow('user/info', ledger.userInfo.at + USER_INFO_WINDOW_MS);
    }
    if (typeof ledger.floodUntil === 'number' && ledger.floodUntil > now) await budget.holdUntil(ledger.floodUntil, now);
  }
  await rename(path, `${path}.imported`).catch(() => {});
  return true;
}
