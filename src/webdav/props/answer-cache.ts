/**
 * Whole PROPFIND Depth 1 answers (the encoded 207 body), served again without touching a single
 * entry while nothing they were built from has changed. A warm listing of a 5000-file folder then
 * costs a stat, a list() that returns its memoised array, two version reads and one socket write
 * of bytes already encoded, instead of 5000 fragment lookups and 4 MB of string encoding.
 *
 * An answer is reused only when all of these are unchanged (checked on every request, so there is
 * no invalidation to forget on any write path):
 * - the answer context and the folder's path (same key: requested properties, locking offered,
 *   mount prefix, the user's home);
 * - the members: the very array Drive.list returned (a drive returns the same array only while
 *   the listing, the sub-folders' listings and the local files are unchanged; any new array is a
 *   miss);
 * - the folder's own entry (fingerprint of the stat result);
 * - the dead-property store's version (Drive.propertiesVersion), when the answer holds dead
 *   properties.
 * Answers are stored only when no member had a lock, and served only while no lock covers the
 * folder or lies under it (the caller asks the lock store each time): lockdiscovery shows a
 * countdown (`Second-N`) that no stored answer could keep right.
 *
 * Memory: bounded by `maxBytes` (bodies plus a rough size of the member arrays they pin),
 * least recently used dropped first.
 */
import { LRUCache } from 'lru-cache';
import type { DriveEntry } from '../../drive/types.js';
import { sameFingerprint, type EntryFingerprint } from './response-cache.js';

/** What a stored answer was built from (see the module comment). */
export interface AnswerInputs {
  members: readonly DriveEntry[];
  folder: EntryFingerprint;
  /** Drive.propertiesVersion() read before the dead properties were; undefined when none were read. */
  propertiesVersion: string | undefined;
}

interface StoredAnswer {
  inputs: AnswerInputs;
  /** The encoded 207 body, in the chunks it was first written in. */
  body: readonly Buffer[];
  bytes: number;
}

/** Default bound: 64 MiB (a 5000-file allprop answer is about 4 MB). */
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/** Rough bytes a member entry pins in memory (its object, name and etag strings). */
const MEMBER_BYTES = 256;

export class AnswerCache {
  private readonly answers: LRUCache<string, StoredAnswer>;
  /** Answers served from the cache, for tests and diagnostics. */
  hits = 0;

  constructor(maxBytes = DEFAULT_MAX_BYTES) {
    this.answers = new LRUCache<string, StoredAnswer>({
      maxSize: maxBytes,
      sizeCalculation: (answer) => Math.max(1, answer.bytes + answer.inputs.members.length * MEMBER_BYTES),
    });
  }

  /** The stored body for `key` when built from exactly `inputs`; undefined otherwise. */
  get(key: string, inputs: AnswerInputs): readonly Buffer[] | undefined {
    const stored = this.answers.get(key);
    if (!stored) return undefined;
    const before = stored.inputs;
    if (
      before.members === inputs.members &&
      before.propertiesVersion === inputs.propertiesVersion &&
      sameFingerprint(before.folder, inputs.folder)
    ) {
      this.hits += 1;
      return stored.body;
    }
    return undefined;
  }

  set(key: string, inputs: AnswerInputs, body: readonly Buffer[]): void {
    let bytes = 0;
    for (const chunk of body) bytes += chunk.length;
    this.answers.set(key, { inputs, body, bytes });
  }

  /** Drops every answer. */
  clear(): void {
    this.answers.clear();
  }

  /** Answers held. */
  get count(): number {
    return this.answers.size;
  }
}

const caches = new WeakMap<object, AnswerCache>();

/** One cache per drive (an account): answers never cross accounts. */
export function answerCacheFor(owner: object): AnswerCache {
  let cache = caches.get(owner);
  if (!cache) {
    cache = new AnswerCache();
    caches.set(owner, cache);
  }
  return cache;
}
