/**
 * The account as the simulator holds it, read through its own API with the listing limits lifted
 * for the look (so the check never waits a window or shifts the bridge's): every folder, every
 * file's true bytes, and the names held by more than one file (duplicates upstream).
 */
import type { Simulator } from '../../src/simulator/index.js';
import { streamToBuffer } from './helpers.js';

export interface AccountView {
  /** '/a/b.txt' → bytes, for every upstream file (the first one when a name is duplicated). */
  files: Map<string, Buffer>;
  /** '/a', for every upstream folder. */
  folders: Set<string>;
  /** Paths held by more than one upstream file (or by a file and a folder). */
  duplicates: string[];
}

interface Listing {
  items?: Array<{ url: string; filename: string }>;
  sub_folders?: Array<{ id: number; name: string }>;
}

async function list(sim: Simulator, folderId: number): Promise<Listing> {
  const response = await fetch(`${sim.apiUrl}/folder/ls.cgi`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${sim.apiKey}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ folder_id: folderId, files: 1 }),
  });
  if (!response.ok) throw new Error(`folder/ls.cgi ${folderId}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as Listing;
}

/** The account now; a file or folder removed between a listing and the next read makes it look again. */
export async function accountView(sim: Simulator): Promise<AccountView> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await viewOnce(sim);
    } catch (error) {
      if (attempt >= 5 || !/contentOf: no file|Resource not found/.test(String(error))) throw error;
    }
  }
}

async function viewOnce(sim: Simulator): Promise<AccountView> {
  const limits = sim.options().limitsEnabled;
  const faults = sim.faults();
  sim.setOptions({ limitsEnabled: false });
  sim.clearFaults();
  try {
    const view: AccountView = { files: new Map(), folders: new Set(), duplicates: [] };
    const walk = async (folderId: number, prefix: string) => {
      const listing = await list(sim, folderId);
      const seen = new Set<string>();
      for (const folder of listing.sub_folders ?? []) {
        const path = `${prefix}/${folder.name}`;
        if (seen.has(path)) view.duplicates.push(path);
        seen.add(path);
        view.folders.add(path);
        await walk(folder.id, path);
      }
      for (const item of listing.items ?? []) {
        const path = `${prefix}/${item.filename}`;
        if (seen.has(path)) {
          view.duplicates.push(path);
          continue;
        }
        seen.add(path);
        view.files.set(path, await streamToBuffer(sim.contentOf(item.url)));
      }
    };
    await walk(0, '');
    return view;
  } finally {
    sim.setOptions({ limitsEnabled: limits });
    sim.setFaults(faults);
  }
}

/** Waits until `check` holds (polling), or fails with what it last saw. */
export async function eventually<T>(probe: () => Promise<T>, check: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last = await probe();
  while (!check(last)) {
    if (Date.now() > until) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
    last = await probe();
  }
  return last;
}
