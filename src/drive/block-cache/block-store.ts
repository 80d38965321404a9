/**
 * The cache on disk: one file per block under `files/<file key>/<block index>.<xxHash64>`, one per
 * fragment (part of a block a small read fetched exactly) under
 * `<block index>.<offset in block>+<length>.<xxHash64>`, a `meta.json` per upstream file (its size,
 * URL group and block size), and `index.json` with each block's and fragment's last use.
 *
 * A block is written once it is whole, with one vectored write, under a name that carries the
 * checksum of its bytes; the index learns of it only after that write. Blocks are not flushed (that
 * cost more than the transfer itself on a sequential read); instead, blocks found at start are
 * checked against the checksum in their name on first read, and one that does not match (a crash
 * before the page cache reached the disk or mid-write, a disk error, an edit in place) is dropped,
 * counted, and fetched again. At start the directory itself is the truth; the index only restores
 * LRU order.
 *
 * A full disk (ENOSPC, EDQUOT) turns storing off: reads go on straight from upstream (pass-through)
 * and one line says so; storing is tried again after FULL_DISK_RETRY_MS.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { createXXHash64 } from 'hash-wasm';
import { BlockWriter } from './block-write.js';
import { BlockIndex, recordId, type BlockRecord } from './block-index.js';
import type { BlockCacheSettings } from './options.js';

interface FileMeta {
  size: number;
  urlHash: string;
  blockSize: number;
}

interface IndexFile {
  version: 1;
  blockSize: number;
  /**
   * [file key, block index, last use (ms)] in LRU order, and for fragments also [..., offset in
   * the block, length] (a reader of the three-element form only loses a fragment's recency).
   */
  blocks: Array<[string, number, number] | [string, number, number, number, number]>;
}

const INDEX_VERSION = 1;
const BLOCK_NAME = /^(\d+)\.([0-9a-f]{16})$/;
const FRAGMENT_NAME = /^(\d+)\.(\d+)\+(\d+)\.([0-9a-f]{16})$/;
const INDEX_TEMP = /^index\.json\.[0-9a-f]{8}\.tmp$/;
/** How long storing stays off after the disk was found full. */
export const FULL_DISK_RETRY_MS = 60_000;
const SAVE_DELAY_MS = 1000;
/** One file may hold at most this share of the cache (a long stream must not evict every probe). */
const FILE_SHARE = 0.5;

export class BlockStore {
  readonly index = new BlockIndex();
  /** Writes units to disk (direct I/O for whole blocks where the file system takes it). */
  readonly writer: BlockWriter;
  private readonly readyDirs = new Map<string, Promise<void>>();
  private readonly pending = new Set<Promise<unknown>>();
  /** Blocks a live reader is about to read: eviction skips them (the bound may be exceeded meanwhile). */
  private readonly pins = new Map<string, number>();
  private saveTimer: NodeJS.Timeout | undefined;
  private saving: Promise<void> | undefined;
  private dirty = false;
  /** Called with each batch of evicted blocks (for stats). */
  onEvict: (blocks: BlockRecord[]) => void = () => {};
  /** Called for each block found corrupt (checksum mismatch) and dropped. */
  onCorrupt: (block: BlockRecord) => void = () => {};
  /** Called once when the disk is found full (storing turns off) and once when storing works again. */
  onNotice: (message: string, error?: unknown) => void = () => {};
  /** Until when storing is off because the disk was full (ms, from `now`). */
  private fullUntil = 0;
  private fullReported = false;

  private constructor(
    private readonly settings: BlockCacheSettings,
    private readonly now: () => number,
    private readonly onError: (error: unknown) => void,
  ) {
    this.writer = new BlockWriter(settings.blockSize, settings.directIo ?? true);
  }

  static async open(settings: BlockCacheSettings, now: () => number, onError: (error: unknown) => void): Promise<BlockStore> {
    const store = new BlockStore(settings, now, onError);
    await store.load();
    return store;
  }

  get blockSize(): number {
    return this.settings.blockSize;
  }

  blockPath(key: string, index: number, sum: string): string {
    return join(this.fileDir(key), `${index}.${sum}`);
  }

  /** Where a block or a fragment lives. */
  recordPath(record: BlockRecord): string {
    if (record.offset === undefined) return this.blockPath(record.key, record.index, record.sum);
    return join(this.fileDir(record.key), `${record.index}.${record.offset}+${record.bytes}.${record.sum}`);
  }

  /** True while a full disk keeps the cache from storing (reads pass through). */
  get passThrough(): boolean {
    return this.now() < this.fullUntil;
  }

  /**
   * Opens a stored block for reading, or undefined when it is not (or no longer) on disk, or when
   * its bytes no longer match the checksum they were stored with (then it is dropped and counted).
   */
  async openBlock(key: string, index: number): Promise<FileHandle | undefined> {
    const block = this.index.get(key, index);
    return block ? this.openRecord(block) : undefined;
  }

  /**
   * Opens a stored block or fragment for reading (offsets relative to its own start), or
   * undefined when it is gone or its bytes no longer match their checksum (dropped and counted).
   */
  async openRecord(record: BlockRecord): Promise<FileHandle | undefined> {
    let handle: FileHandle | undefined;
    try {
      handle = await open(this.recordPath(record), 'r');
      if (!record.verified && !(await this.verify(handle, record))) {
        await handle.close().catch(() => {});
        this.dropCorrupt(record);
        return undefined;
      }
      this.index.touchRecord(record, this.now());
      this.scheduleSave();
      return handle;
    } catch (error) {
      await handle?.close().catch(() => {});
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(error);
      this.index.removeRecord(record);
      return undefined;
    }
  }

  /** Reads the whole block and compares its checksum with the one it was stored with. */
  private async verify(handle: FileHandle, block: BlockRecord): Promise<boolean> {
    const hasher = await createXXHash64();
    hasher.init();
    const buffer = Buffer.allocUnsafe(Math.min(block.bytes, 1024 * 1024));
    let position = 0;
    while (position < block.bytes) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, block.bytes - position), position);
      if (bytesRead === 0) return false;
      hasher.update(buffer.subarray(0, bytesRead));
      position += bytesRead;
    }
    if (hasher.digest('hex') !== block.sum) return false;
    block.verified = true;
    return true;
  }

  private dropCorrupt(block: BlockRecord): void {
    if (!this.index.removeRecord(block)) return;
    this.onCorrupt(block);
    this.track(unlink(this.recordPath(block)).catch(ignoreMissing(this.onError)));
    this.scheduleSave();
  }

  /**
   * Stores one whole block (its bytes as `chunks`, in order; `aligned`: the pooled buffer they are
   * in, if any, written from without a copy). Resolves true once it is on disk and indexed; false
   * when it was not stored (full disk: pass-through, or a disk error, reported). Either way the
   * chunks are no longer used once it resolves (a pooled buffer may be reused then).
   */
  storeBlock(key: string, index: number, meta: { size: number; urlHash: string }, chunks: Buffer[], aligned?: Buffer): Promise<boolean> {
    if (this.passThrough) return Promise.resolve(false);
    return this.track(writeBlock(this, { key, index }, meta, this.prepareFile(key, meta), chunks, aligned));
  }

  /**
   * Stores bytes [offset, offset + their length) of block `index` as a fragment (a small read's
   * exact range). Resolves true once on disk and indexed (or when the block is whole already).
   */
  storeFragment(key: string, index: number, offset: number, meta: { size: number; urlHash: string }, chunks: Buffer[]): Promise<boolean> {
    if (this.passThrough) return Promise.resolve(false);
    if (this.index.has(key, index)) return Promise.resolve(true);
    return this.track(writeBlock(this, { key, index, offset }, meta, this.prepareFile(key, meta), chunks));
  }

  /**
   * A disk failure while storing a block: the block is just not cached. A full disk turns storing
   * off for a while (reads pass through) with one clear line; other failures go to onError.
   */
  report(error: unknown): void {
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    if (code === 'ENOSPC' || code === 'EDQUOT') {
      const wasOn = !this.passThrough;
      this.fullUntil = this.now() + FULL_DISK_RETRY_MS;
      if (wasOn && !this.fullReported) {
        this.fullReported = true;
        this.onNotice(
          `read cache: the disk of ${this.settings.dir} is full (${code}); reads now go straight to 1fichier without caching; ` +
            'free space or lower --cache-max-size; caching is tried again every minute',
          error,
        );
      }
      return;
    }
    this.onError(error);
  }

  /** A block was stored again after a full disk: say so once. */
  private noteStored(): void {
    if (!this.fullReported) return;
    this.fullReported = false;
    this.onNotice(`read cache: the disk of ${this.settings.dir} has room again; caching reads again`);
  }

  /** Called by a writer whose block is complete on disk under its final name. */
  registerBlock(key: string, index: number, bytes: number, meta: { size: number; urlHash: string }, sum: string): void {
    this.noteStored();
    const file = this.index.ensureFile(key, meta.size, meta.urlHash);
    const previous = this.index.get(key, index);
    if (previous && previous.sum !== sum) this.track(unlink(this.blockPath(key, index, previous.sum)).catch(ignoreMissing(this.onError)));
    // The whole block makes its fragments useless.
    for (const fragment of this.index.removeFragments(key, index)) this.track(unlink(this.recordPath(fragment)).catch(ignoreMissing(this.onError)));
    this.index.add({ key, index, bytes, lastUsed: this.now(), sum, verified: true });
    if (file.bytes > this.settings.maxBytes * FILE_SHARE) {
      const last = Math.floor((meta.size - 1) / this.settings.blockSize);
      const protect = (block: number) => block === 0 || block === last || block === index || this.isPinned(key, block);
      this.dropBlocks(this.index.evictWithinFile(key, this.settings.maxBytes * FILE_SHARE, protect));
    }
    this.enforceBounds();
    this.scheduleSave();
  }

  /** Called by a writer whose fragment is complete on disk under its final name. */
  registerFragment(key: string, index: number, offset: number, bytes: number, meta: { size: number; urlHash: string }, sum: string): void {
    this.noteStored();
    if (this.index.has(key, index)) {
      // The block became whole while the fragment was written.
      this.track(unlink(this.recordPath({ key, index, offset, bytes, sum, lastUsed: 0, verified: true })).catch(ignoreMissing(this.onError)));
      return;
    }
    this.index.ensureFile(key, meta.size, meta.urlHash);
    this.dropBlocks(this.index.addFragment({ key, index, offset, bytes, lastUsed: this.now(), sum, verified: true }));
    this.enforceBounds();
    this.scheduleSave();
  }

  /** Drops blocks beyond the size and age bounds. */
  enforceBounds(): void {
    this.dropBlocks(this.index.evict(this.settings.maxBytes, this.settings.maxAgeMs, this.now(), this.isPinned));
  }

  pin(key: string, index: number): void {
    const id = `${key}:${index}`;
    this.pins.set(id, (this.pins.get(id) ?? 0) + 1);
  }

  unpin(key: string, index: number): void {
    const id = `${key}:${index}`;
    const count = (this.pins.get(id) ?? 0) - 1;
    if (count > 0) {
      this.pins.set(id, count);
      return;
    }
    this.pins.delete(id);
    // Pins may have held the cache above its bound: catch up now that one is gone.
    if (this.index.bytes > this.settings.maxBytes) this.enforceBounds();
  }

  private readonly isPinned = (key: string, index: number): boolean => this.pins.has(`${key}:${index}`);

  private dropBlocks(evicted: BlockRecord[]): void {
    if (evicted.length === 0) return;
    this.onEvict(evicted);
    for (const block of evicted) this.track(unlink(this.recordPath(block)).catch(ignoreMissing(this.onError)));
    this.scheduleSave();
  }

  track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    void promise.finally(() => this.pending.delete(promise)).catch(() => {});
    return promise;
  }

  /** Waits for every disk operation in progress, then writes the index. */
  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
    await this.flush();
  }

  async flush(): Promise<void> {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    while (this.saving) await this.saving;
    if (!this.dirty) return;
    this.dirty = false;
    this.saving = this.writeIndex()
      .catch((error: unknown) => {
        this.dirty = true;
        this.onError(error);
      })
      .finally(() => (this.saving = undefined));
    await this.saving;
  }

  /** Stops the save timer (the caller flushes first if it wants the index on disk). */
  close(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
  }

  private scheduleSave(): void {
    this.dirty = true;
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      // Reads alone never store a block: let the age bound act here too.
      this.enforceBounds();
      void this.flush();
    }, SAVE_DELAY_MS);
    this.saveTimer.unref();
  }

  private fileDir(key: string): string {
    return join(this.settings.dir, 'files', key);
  }

  /** Creates the file's folder and meta.json once; a new version of a URL drops the old version's blocks. */
  private prepareFile(key: string, meta: { size: number; urlHash: string }): Promise<void> {
    let ready = this.readyDirs.get(key);
    if (!ready) {
      for (const old of this.index.otherVersions(key, meta.urlHash)) this.dropFile(old);
      this.index.ensureFile(key, meta.size, meta.urlHash);
      ready = this.track(this.writeMeta(key, { ...meta, blockSize: this.settings.blockSize }));
      ready.catch(() => this.readyDirs.delete(key));
      this.readyDirs.set(key, ready);
    }
    return ready;
  }

  private dropFile(key: string): void {
    const removed = this.index.removeFile(key);
    if (removed.length > 0) this.onEvict(removed);
    this.readyDirs.delete(key);
    this.track(rm(this.fileDir(key), { recursive: true, force: true }).catch(this.onError));
    this.scheduleSave();
  }

  private async writeMeta(key: string, meta: FileMeta): Promise<void> {
    await mkdir(this.fileDir(key), { recursive: true });
    await writeAtomically(join(this.fileDir(key), 'meta.json'), JSON.stringify(meta));
  }

  private async writeIndex(): Promise<void> {
    const content: IndexFile = {
      version: INDEX_VERSION,
      blockSize: this.settings.blockSize,
      blocks: this.index
        .records()
        .map((block) => (block.offset === undefined ? [block.key, block.index, block.lastUsed] : [block.key, block.index, block.lastUsed, block.offset, block.bytes])),
    };
    await writeAtomically(join(this.settings.dir, 'index.json'), JSON.stringify(content));
  }

  private async load(): Promise<void> {
    const filesDir = join(this.settings.dir, 'files');
    await mkdir(filesDir, { recursive: true });
    // Temporary index files of a run killed between writing one and renaming it (writeAtomically).
    for (const name of await readdir(this.settings.dir)) {
      if (INDEX_TEMP.test(name)) await rm(join(this.settings.dir, name), { force: true });
    }
    const lastUsed = await this.readIndex();
    const found: Array<BlockRecord & { urlHash: string; size: number }> = [];
    for (const key of await readdir(filesDir)) {
      const dir = join(filesDir, key);
      const meta = await readMeta(join(dir, 'meta.json'));
      if (!meta || meta.blockSize !== this.settings.blockSize) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      let kept = 0;
      for (const name of await readdir(dir)) {
        if (name === 'meta.json') continue;
        const path = join(dir, name);
        const fragment = FRAGMENT_NAME.exec(name);
        if (fragment) {
          const record = await this.foundFragment(key, path, fragment, meta);
          if (record) {
            kept += 1;
            found.push({ ...record, lastUsed: lastUsed.get(recordId(record)) ?? record.lastUsed, urlHash: meta.urlHash, size: meta.size });
          }
          continue;
        }
        const parsed = BLOCK_NAME.exec(name);
        const index = parsed ? Number(parsed[1]) : -1;
        const info = parsed ? await stat(path).catch(() => undefined) : undefined;
        const expected = Math.min(this.settings.blockSize, meta.size - index * this.settings.blockSize);
        if (!parsed || !info || expected <= 0 || info.size !== expected) {
          // Temporary .part files of an interrupted run, blocks without a checksum, anything not a whole block.
          await rm(path, { force: true });
          continue;
        }
        kept += 1;
        found.push({
          key,
          index,
          bytes: info.size,
          lastUsed: lastUsed.get(`${key}:${index}`) ?? info.mtimeMs,
          sum: parsed[2]!,
          verified: false,
          urlHash: meta.urlHash,
          size: meta.size,
        });
      }
      if (kept === 0) await rm(dir, { recursive: true, force: true });
    }
    found.sort((a, b) => a.lastUsed - b.lastUsed);
    // One pass in last-use order, so blocks and fragments share one LRU order (adding all blocks
    // first put every fragment after them: an expired fragment behind a recent block outlived the
    // age bound, and the size bound took recent blocks before old fragments). A fragment of a
    // block found whole is dropped.
    const whole = new Set(found.filter((unit) => unit.offset === undefined).map((unit) => `${unit.key}:${unit.index}`));
    for (const unit of found) {
      const record: BlockRecord = { key: unit.key, index: unit.index, offset: unit.offset, bytes: unit.bytes, lastUsed: unit.lastUsed, sum: unit.sum, verified: false };
      if (record.offset !== undefined && whole.has(`${unit.key}:${unit.index}`)) {
        await rm(this.recordPath(record), { force: true });
        continue;
      }
      this.index.ensureFile(unit.key, unit.size, unit.urlHash);
      this.readyDirs.set(unit.key, Promise.resolve());
      if (record.offset === undefined) {
        delete record.offset;
        this.index.add(record);
        continue;
      }
      for (const displaced of this.index.addFragment(record)) await rm(this.recordPath(displaced), { force: true });
    }
    this.enforceBounds();
  }

  /** A fragment file found at start: its record, or undefined (then removed) when its name and size disagree. */
  private async foundFragment(key: string, path: string, parsed: RegExpExecArray, meta: FileMeta): Promise<BlockRecord | undefined> {
    const [index, offset, bytes] = [Number(parsed[1]), Number(parsed[2]), Number(parsed[3])];
    const blockBytes = Math.min(this.settings.blockSize, meta.size - index * this.settings.blockSize);
    const info = await stat(path).catch(() => undefined);
    if (!info || bytes <= 0 || offset + bytes > blockBytes || info.size !== bytes) {
      await rm(path, { force: true });
      return undefined;
    }
    return { key, index, offset, bytes, lastUsed: info.mtimeMs, sum: parsed[4]!, verified: false };
  }

  private async readIndex(): Promise<Map<string, number>> {
    const lastUsed = new Map<string, number>();
    try {
      const parsed = JSON.parse(await readFile(join(this.settings.dir, 'index.json'), 'utf8')) as Partial<IndexFile>;
      if (parsed.version !== INDEX_VERSION || parsed.blockSize !== this.settings.blockSize || !Array.isArray(parsed.blocks)) return lastUsed;
      for (const entry of parsed.blocks) {
        if (Array.isArray(entry) && typeof entry[0] === 'string' && Number.isFinite(entry[1]) && Number.isFinite(entry[2])) {
          const offset = entry.length >= 5 && Number.isFinite(entry[3]) && Number.isFinite(entry[4]) ? entry[3] : undefined;
          lastUsed.set(recordId({ key: entry[0], index: entry[1], offset, bytes: offset === undefined ? 0 : entry[4]! }), entry[2]);
        }
      }
    } catch (error) {
      // No index yet, or a damaged one: the scan still finds every block, only recency is lost.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' && !(error instanceof SyntaxError)) this.onError(error);
    }
    return lastUsed;
  }
}

/**
 * Writes a whole block or a fragment under its final name (index + xxHash64 of its bytes), through
 * the store's BlockWriter (direct I/O for whole blocks where the disk takes it: block-write.ts).
 *
 * No temporary file and no rename: the index learns of the unit only after the write completed,
 * so no reader opens it half written, and a file a crash left short or torn is found at start
 * (wrong size: dropped) or at first read (checksum mismatch: dropped and fetched again). No flush.
 */
async function writeBlock(
  store: BlockStore,
  unit: { key: string; index: number; offset?: number },
  meta: { size: number; urlHash: string },
  ready: Promise<void>,
  chunks: Buffer[],
  aligned?: Buffer,
): Promise<boolean> {
  const { key, index, offset } = unit;
  try {
    await ready;
    await store.writer.write(
      {
        direct: offset === undefined,
        path: (sum, bytes) => store.recordPath({ key, index, offset, bytes, sum, lastUsed: 0, verified: true }),
        // A unit of this name already indexed holds these very bytes (same checksum): keep it as it
        // is, rather than truncating a file a reader may have open.
        alreadyStored: (sum, bytes) =>
          offset === undefined ? store.index.get(key, index)?.sum === sum : store.index.fragmentCovering(key, index, offset, offset + bytes)?.sum === sum,
        register: (sum, bytes) => {
          if (offset === undefined) store.registerBlock(key, index, bytes, meta, sum);
          else store.registerFragment(key, index, offset, bytes, meta, sum);
        },
      },
      chunks,
      aligned,
    );
    return true;
  } catch (error) {
    store.report(error);
    return false;
  }
}

async function readMeta(path: string): Promise<FileMeta | undefined> {
  try {
    const meta = JSON.parse(await readFile(path, 'utf8')) as Partial<FileMeta>;
    if (typeof meta.size === 'number' && typeof meta.urlHash === 'string' && typeof meta.blockSize === 'number') return meta as FileMeta;
  } catch {
    // unreadable meta: the folder is dropped
  }
  return undefined;
}

async function writeAtomically(path: string, content: string): Promise<void> {
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(content);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    // A failed save (a full disk, where the index is saved again every second while reads touch
    // blocks) left its temporary file behind, one more per attempt, never removed: gone now.
    await rm(temp, { force: true }).catch(() => {});
    throw error;
  }
}

function ignoreMissing(onError: (error: unknown) => void) {
  return (error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') onError(error);
  };
}
