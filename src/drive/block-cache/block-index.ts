/**
 * The in-memory account of which blocks are on disk: per file, its blocks with their size and
 * last use, kept in least-recently-used order so eviction is O(evicted). Pure bookkeeping: the
 * store does the disk work for what this decides.
 *
 * Besides whole blocks, a block may have *fragments*: byte ranges of it that a small closed read
 * fetched exactly (a cold seek, a probe's tail or middle; exact-read.ts), each a unit of its own
 * (file, checksum, last use) that serves a repeat of that read. A whole block replaces them.
 */
export interface BlockRecord {
  key: string;
  index: number;
  /** Fragments only: where the fragment starts inside its block (bytes). Whole blocks have none. */
  offset?: number;
  bytes: number;
  lastUsed: number;
  /** xxHash64 of the block's bytes (16 hex digits), as written; part of the block's file name. */
  sum: string;
  /** False for blocks found on disk at start: their bytes are checked against `sum` on first read. */
  verified: boolean;
}

export interface FileRecord {
  size: number;
  urlHash: string;
  blocks: Map<number, BlockRecord>;
  /** Fragments per block index (never for a block that is whole in `blocks`). */
  fragments: Map<number, BlockRecord[]>;
  /** Bytes of this file's cached blocks and fragments. */
  bytes: number;
}

/**
 * Fragments one block may have at once: enough for a rescan's few probe reads per block, few
 * enough that scattered seeks into one block do not pile up files (the least recently used go).
 */
export const MAX_FRAGMENTS = 4;

export class BlockIndex {
  /** Insertion order = least recently used first (touch re-inserts). */
  private readonly lru = new Map<string, BlockRecord>();
  private readonly files = new Map<string, FileRecord>();
  private total = 0;

  get bytes(): number {
    return this.total;
  }

  get blockCount(): number {
    return this.lru.size;
  }

  file(key: string): FileRecord | undefined {
    return this.files.get(key);
  }

  fileKeys(): string[] {
    return [...this.files.keys()];
  }

  /** Another version of the same URL, if any (its blocks are now useless). */
  otherVersions(key: string, urlHash: string): string[] {
    const found: string[] = [];
    for (const [other, record] of this.files) if (other !== key && record.urlHash === urlHash) found.push(other);
    return found;
  }

  ensureFile(key: string, size: number, urlHash: string): FileRecord {
    let record = this.files.get(key);
    if (!record) {
      record = { size, urlHash, blocks: new Map(), fragments: new Map(), bytes: 0 };
      this.files.set(key, record);
    }
    return record;
  }

  get(key: string, index: number): BlockRecord | undefined {
    return this.files.get(key)?.blocks.get(index);
  }

  has(key: string, index: number): boolean {
    return this.files.get(key)?.blocks.has(index) ?? false;
  }

  touch(key: string, index: number, now: number): void {
    const block = this.files.get(key)?.blocks.get(index);
    if (!block) return;
    block.lastUsed = now;
    const id = idOf(key, index);
    this.lru.delete(id);
    this.lru.set(id, block);
  }

  /** Records a whole block (its fragments are the caller's to drop); inserted in LRU position by its lastUsed when loading, else as most recent. */
  add(block: BlockRecord): void {
    const file = this.files.get(block.key);
    if (!file) throw new Error(`block of an unknown file ${block.key}`);
    const previous = file.blocks.get(block.index);
    if (previous) this.remove(block.key, block.index);
    file.blocks.set(block.index, block);
    file.bytes += block.bytes;
    this.lru.set(idOf(block.key, block.index), block);
    this.total += block.bytes;
  }

  remove(key: string, index: number): BlockRecord | undefined {
    const file = this.files.get(key);
    const block = file?.blocks.get(index);
    if (!file || !block) return undefined;
    file.blocks.delete(index);
    file.bytes -= block.bytes;
    this.lru.delete(idOf(key, index));
    this.total -= block.bytes;
    return block;
  }

  /**
   * Records a fragment of a block; one with the same place and length is replaced. Beyond
   * MAX_FRAGMENTS per block the least recently used ones go: returned, for the store to delete.
   */
  addFragment(fragment: BlockRecord): BlockRecord[] {
    const file = this.files.get(fragment.key);
    if (!file) throw new Error(`fragment of an unknown file ${fragment.key}`);
    const list = file.fragments.get(fragment.index) ?? [];
    const same = list.find((other) => other.offset === fragment.offset && other.bytes === fragment.bytes);
    if (same) this.removeRecord(same);
    const kept = file.fragments.get(fragment.index) ?? [];
    kept.push(fragment);
    file.fragments.set(fragment.index, kept);
    file.bytes += fragment.bytes;
    this.total += fragment.bytes;
    this.lru.set(recordId(fragment), fragment);
    const displaced: BlockRecord[] = [];
    while (kept.length > MAX_FRAGMENTS) {
      const oldest = kept.reduce((a, b) => (b.lastUsed < a.lastUsed ? b : a));
      this.removeRecord(oldest);
      displaced.push(oldest);
    }
    return displaced;
  }

  /** Whether block `index` has fragments (parts of it that small reads fetched exactly). */
  hasFragments(key: string, index: number): boolean {
    return this.files.get(key)?.fragments.has(index) ?? false;
  }

  /** A fragment of block `index` holding bytes [from, to) of the block, if any. */
  fragmentCovering(key: string, index: number, from: number, to: number): BlockRecord | undefined {
    return this.files.get(key)?.fragments.get(index)?.find((fragment) => fragment.offset! <= from && fragment.offset! + fragment.bytes >= to);
  }

  /** Removes every fragment of block `index` (the block is now whole); returns them. */
  removeFragments(key: string, index: number): BlockRecord[] {
    const list = this.files.get(key)?.fragments.get(index);
    if (!list) return [];
    const removed = [...list];
    for (const fragment of removed) this.removeRecord(fragment);
    return removed;
  }

  /** Removes one record, block or fragment, if it is still the one indexed. */
  removeRecord(record: BlockRecord): boolean {
    if (record.offset === undefined) {
      if (this.get(record.key, record.index) !== record) return false;
      this.remove(record.key, record.index);
      return true;
    }
    const file = this.files.get(record.key);
    const list = file?.fragments.get(record.index);
    const at = list?.indexOf(record) ?? -1;
    if (!file || !list || at < 0) return false;
    list.splice(at, 1);
    if (list.length === 0) file.fragments.delete(record.index);
    file.bytes -= record.bytes;
    this.total -= record.bytes;
    this.lru.delete(recordId(record));
    return true;
  }

  /** Marks a record used now (most recently used). */
  touchRecord(record: BlockRecord, now: number): void {
    if (record.offset === undefined) return this.touch(record.key, record.index, now);
    const id = recordId(record);
    if (this.lru.get(id) !== record) return;
    record.lastUsed = now;
    this.lru.delete(id);
    this.lru.set(id, record);
  }

  removeFile(key: string): BlockRecord[] {
    const file = this.files.get(key);
    if (!file) return [];
    const removed = [...file.blocks.keys()].map((index) => this.remove(key, index)!);
    for (const index of [...file.fragments.keys()]) removed.push(...this.removeFragments(key, index));
    this.files.delete(key);
    return removed;
  }

  /**
   * Picks the blocks to drop: older than `maxAgeMs`, then least recently used until the total fits
   * `maxBytes`. Blocks for which `keep` answers true (being read right now) are skipped.
   */
  evict(maxBytes: number, maxAgeMs: number, now: number, keep: (key: string, index: number) => boolean = () => false): BlockRecord[] {
    const evicted: BlockRecord[] = [];
    const touchedFiles = new Set<string>();
    // Deleting the entry being visited is safe while iterating a Map: no copy of the whole LRU.
    for (const block of this.lru.values()) {
      const tooOld = now - block.lastUsed > maxAgeMs;
      if (!tooOld && this.total <= maxBytes) break;
      if (keep(block.key, block.index)) continue;
      this.removeRecord(block);
      evicted.push(block);
      touchedFiles.add(block.key);
    }
    for (const key of touchedFiles) {
      const file = this.files.get(key);
      if (file && file.blocks.size === 0 && file.fragments.size === 0) this.files.delete(key);
    }
    return evicted;
  }

  /**
   * Keeps one file within `maxBytes` by dropping its own least recently used blocks and fragments,
   * except those of the `protect`ed blocks (its head and tail, which probes read): one long stream
   * must not flush the probe blocks of a whole library out of the cache. Fragments count in the
   * file's bytes, so they are candidates too (else the blocks a stream just stored went first).
   */
  evictWithinFile(key: string, maxBytes: number, protect: (index: number) => boolean): BlockRecord[] {
    const file = this.files.get(key);
    const evicted: BlockRecord[] = [];
    while (file && file.bytes > maxBytes) {
      let oldest: BlockRecord | undefined;
      for (const block of file.blocks.values()) {
        if (!protect(block.index) && (!oldest || block.lastUsed < oldest.lastUsed)) oldest = block;
      }
      for (const fragments of file.fragments.values()) {
        for (const fragment of fragments) {
          if (!protect(fragment.index) && (!oldest || fragment.lastUsed < oldest.lastUsed)) oldest = fragment;
        }
      }
      if (!oldest) break;
      this.removeRecord(oldest);
      evicted.push(oldest);
    }
    return evicted;
  }

  /** Blocks in least-recently-used order (for persisting). */
  records(): BlockRecord[] {
    return [...this.lru.values()];
  }

  filesWithRecords(): Array<[string, FileRecord]> {
    return [...this.files.entries()];
  }
}

function idOf(key: string, index: number): string {
  return `${key}:${index}`;
}

/** LRU id of a block (`key:index`) or a fragment (`key:index@offset+bytes`). */
export function recordId(record: Pick<BlockRecord, 'key' | 'index' | 'offset' | 'bytes'>): string {
  return record.offset === undefined ? idOf(record.key, record.index) : `${idOf(record.key, record.index)}@${record.offset}+${record.bytes}`;
}
