/**
 * Serialised `<D:response>` fragments of PROPFIND answers, reused while nothing they depend on has
 * changed. A warm Depth 1 listing of a large folder then costs one lookup and one string compare per
 * entry instead of formatting dates, escaping names and encoding hrefs again.
 *
 * Why this is safe: a fragment is a pure function of
 *   - the answer's *context*: the requested property set (allprop + include / named props /
 *     propname), whether locking is offered, the mount prefix and the user's home (both change
 *     every href), and
 *   - the entry's *fingerprint*: its drive path, kind, name, etag, size, content type, dates, its
 *     dead properties and its active locks (the lockdiscovery XML).
 * Both are compared in full on every lookup, so any PUT, PROPPATCH, MOVE, rename, LOCK or UNLOCK
 * shows at once; there is no invalidation to forget. Properties that depend on anything else (the
 * quota properties) are never cached: the caller builds those answers afresh.
 *
 * Memory: bounded by `maxChars` (fragments + fingerprints, in UTF-16 code units); when over, whole
 * contexts are dropped oldest first.
 */
import type { DeadProperty, DriveEntry } from '../../drive/types.js';

/**
 * What an entry's fragment depends on besides the answer context (the path is the slot's key).
 * Compared field by field: building and comparing one long string per entry cost more than the
 * rest of a warm listing.
 */
export interface EntryFingerprint {
  kind: string;
  name: string;
  etag: string;
  size: number;
  contentType: string | undefined;
  modified: number;
  created: number | undefined;
  /** Dead properties and lockdiscovery content, serialised; '' for the usual entry with neither. */
  extra: string;
}

interface Slot {
  fingerprint: EntryFingerprint;
  xml: string;
}

/** Rough size of a slot in characters, for the memory bound. */
function slotChars(path: string, slot: Slot): number {
  return path.length + slot.xml.length + slot.fingerprint.name.length + slot.fingerprint.etag.length + slot.fingerprint.extra.length + 64;
}

export function sameFingerprint(a: EntryFingerprint, b: EntryFingerprint): boolean {
  return (
    a.etag === b.etag &&
    a.size === b.size &&
    a.modified === b.modified &&
    a.created === b.created &&
    a.name === b.name &&
    a.kind === b.kind &&
    a.contentType === b.contentType &&
    a.extra === b.extra
  );
}

/** Default bound: about 32 MiB of one-byte strings (a 5000-file allprop listing is ~4 MB). */
const DEFAULT_MAX_CHARS = 32 * 1024 * 1024;

export class ResponseFragmentCache {
  private readonly contexts = new Map<string, Map<string, Slot>>();
  /** Slot maps still held (a context dropped while its request runs stops being filled). */
  private readonly live = new Set<Map<string, Slot>>();
  private chars = 0;

  constructor(private readonly maxChars = DEFAULT_MAX_CHARS) {}

  /** The slots of one answer context (the caller's key of everything outside the entry); created on first use, marked recent. */
  context(key: string): Map<string, Slot> {
    let slots = this.contexts.get(key);
    if (slots) {
      this.contexts.delete(key);
    } else {
      slots = new Map();
      this.live.add(slots);
    }
    this.contexts.set(key, slots);
    return slots;
  }

  /** The cached fragment of `path` when its fingerprint is unchanged, else undefined. */
  get(slots: Map<string, Slot>, path: string, fingerprint: EntryFingerprint): string | undefined {
    const slot = slots.get(path);
    return slot !== undefined && sameFingerprint(slot.fingerprint, fingerprint) ? slot.xml : undefined;
  }

  set(slots: Map<string, Slot>, path: string, fingerprint: EntryFingerprint, xml: string): void {
    if (!this.live.has(slots)) return;
    const old = slots.get(path);
    if (old) this.chars -= slotChars(path, old);
    const slot = { fingerprint, xml };
    slots.set(path, slot);
    this.chars += slotChars(path, slot);
    while (this.chars > this.maxChars && this.contexts.size > 0) {
      const [oldestKey, oldest] = this.contexts.entries().next().value as [string, Map<string, Slot>];
      this.contexts.delete(oldestKey);
      this.live.delete(oldest);
      for (const [p, s] of oldest) this.chars -= slotChars(p, s);
    }
  }

  /** Drops every fragment (tests compare against answers built from scratch). */
  clear(): void {
    this.contexts.clear();
    this.live.clear();
    this.chars = 0;
  }

  /** Characters held (fragments, fingerprints and paths), for tests and diagnostics. */
  get size(): number {
    return this.chars;
  }
}

/**
 * Everything about an entry a fragment depends on, except the answer context and its path.
 * `lockXml` is the entry's lockdiscovery content ('' when it has no lock or the request does not
 * ask for it).
 */
export function entryFingerprint(entry: DriveEntry, dead: DeadProperty[], lockXml: string): EntryFingerprint {
  let extra = lockXml;
  for (const p of dead) extra += `\u0001${p.namespace}\u0002${p.name}\u0002${p.xml}`;
  return {
    kind: entry.kind,
    name: entry.name,
    etag: entry.etag,
    size: entry.size,
    contentType: entry.contentType,
    modified: entry.modified.getTime(),
    created: entry.created?.getTime(),
    extra,
  };
}

const caches = new WeakMap<object, ResponseFragmentCache>();

/** One cache per drive (an account): fragments never cross accounts. */
export function responseCacheFor(owner: object): ResponseFragmentCache {
  let cache = caches.get(owner);
  if (!cache) {
    cache = new ResponseFragmentCache();
    caches.set(owner, cache);
  }
  return cache;
}
