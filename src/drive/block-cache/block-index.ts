/**
 * The in-memory account of which blocks are on disk: per file, its blocks with their size and
 * last use, kept in least-recently-used order so eviction is O(evicted). Pure bookkeeping: the
 * store does the disk work for what this decides.
 */
export interface BlockRecord {
  key: string;
  index: number;
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
  /** Bytes of this file's cached blocks. */
  bytes: number;
}

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
      record = { size, urlHash, blocks: new Map(), bytes: 0 };
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

  /** Records a block; inserted in LRU position by its lastUsed when loading, else as most recent. */
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

  removeFile(key: string): BlockRecord[] {
    const file = this.files.get(key);
    if (!file) return [];
    const removed = [...file.blocks.keys()].map((index) => this.remove(key, index)!);
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
      this.remove(block.key, block.index);
      evicted.push(block);
      touchedFiles.add(block.key);
    }
    for (const key of touchedFiles) if (this.files.get(key)?.blocks.size === 0) this.files.delete(key);
    return evicted;
  }

  /**
   * Keeps one file within `maxBytes` by dropping its own least recently used blocks, except the
   * `protect`ed ones (its head and tail, which probes read): one long stream must not flush the
   * probe blocks of a whole library out of the cache.
   */
  evictWithinFile(key: string, maxBytes: number, protect: (index: number) => boolean): BlockRecord[] {
    const file = this.files.get(key);
    const evicted: BlockRecord[] = [];
    while (file && file.bytes > maxBytes) {
      let oldest: BlockRecord | undefined;
      for (const block of file.blocks.values()) {
        if (!protect(block.index) && (!oldest || block.lastUsed < oldest.lastUsed)) oldest = block;
      }
      if (!oldest) break;
      this.remove(key, oldest.index);
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
