/**
 * The `DriveEntry[]` of a folder listing, kept while nothing it is built from has changed, so a
 * repeated list() of a 5000-file folder returns the very same (frozen) array instead of building
 * 5000 entries again. Callers above (the PROPFIND answer cache) rely on that identity: the same
 * array means the same entries.
 *
 * What a folder's entries are built from, all compared on every lookup:
 * - its cached listing object (the folder cache never changes one in place: every patch, remote
 *   patch and refresh stores a new object);
 * - the cached listing of each sub-folder (a folder without a date shows the newest date inside it);
 * - the local state's version (virtual empty and housekeeping files live there);
 * - the path it was listed at (local files are looked up by path).
 */
import type { CachedFolder } from './folder-cache.js';
import type { DriveEntry } from './types.js';

export interface ListingInputs {
  path: string;
  listing: CachedFolder;
  /** LocalState.version() read before the local files were. */
  stateVersion: string;
  /** folders.peek() of each of `listing.folders`, in order. */
  subListings: Array<CachedFolder | undefined>;
}

interface Memo {
  inputs: ListingInputs;
  entries: readonly DriveEntry[];
}

export class ListingMemo {
  /** Keyed by the listing object: a replaced listing's memo goes with it. */
  private readonly memos = new WeakMap<CachedFolder, Memo>();

  /** The entries built from exactly these inputs, if still held. */
  get(inputs: ListingInputs): readonly DriveEntry[] | undefined {
    const memo = this.memos.get(inputs.listing);
    if (!memo) return undefined;
    const before = memo.inputs;
    if (before.path !== inputs.path || before.stateVersion !== inputs.stateVersion) return undefined;
    if (before.subListings.length !== inputs.subListings.length) return undefined;
    for (let i = 0; i < inputs.subListings.length; i += 1) if (before.subListings[i] !== inputs.subListings[i]) return undefined;
    return memo.entries;
  }

  /** Stores `entries` (frozen, with each entry: holders share them) and returns them. */
  set(inputs: ListingInputs, entries: DriveEntry[]): readonly DriveEntry[] {
    for (const entry of entries) Object.freeze(entry);
    const frozen = Object.freeze(entries);
    this.memos.set(inputs.listing, { inputs, entries: frozen });
    return frozen;
  }
}
