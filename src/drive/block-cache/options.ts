/**
 * Settings of the read cache, with their defaults. Sizes are bytes, durations milliseconds.
 */
export interface BlockCacheSettings {
  /** Where blocks and the index live. */
  dir: string;
  /** Total bytes of cached blocks; least recently used blocks go first beyond it. */
  maxBytes: number;
  /** A block not used for this long is dropped. */
  maxAgeMs: number;
  /** Bytes per block (the unit of fetching, storing and evicting). */
  blockSize: number;
  /** How far ahead of a sequential reader the cache may fetch; 0 turns read-ahead off. */
  readAheadMaxBytes: number;
  /** Background fetches (tail warming, probe prefetch) running at once; they share the client's download cap. */
  backgroundFetches: number;
  /** On a read of a media file's first block, also fetch its last block in the background. */
  warmTail: boolean;
  /** How many times one upstream transfer resumes after a break. */
  maxResumes: number;
  /** Upstream connections one sequential reader may use when a single one is slower than the reader; 1 = off (default 5). */
  parallelStreams?: number;
  /** Write whole blocks with direct I/O (O_DIRECT, Linux) where the disk takes it (default true). */
  directIo?: boolean;
}

export const MIB = 1024 * 1024;

export const CACHE_DEFAULTS = {
  maxBytes: 10 * 1024 * MIB,
  maxAgeMs: 7 * 24 * 3600_000,
  // 1 MiB: a cold seek into a missing block waits for the bytes from the block start, 0.5 MiB on
  // average. Measured against 4 MiB blocks: cold-seek TTFB p50 7.0 vs 10.2 ms, but cold sequential
  // reads through the cache 102 vs 168 MB/s (more per-block file work); seeks are what players feel.
  blockSize: MIB,
  readAheadMaxBytes: 64 * MIB,
  backgroundFetches: 2,
  warmTail: true,
  maxResumes: 5,
  // Up to 5 connections for one sequential reader that a single connection cannot keep fed
  // (docs/media-reads.md): within the read-ahead window, and never the last free slot of the file
  // (6 by default, so 5 is the most a reader can get) or the account (16 of the 30 downloads a
  // premium account may run). 1 turns parallel streams off. With 4, bench row M3 (20 MB/s per
  // connection) ran at 2.96-3.11x the cap; with 5, see the docs for the figures.
  parallelStreams: 5,
} as const;

/** Blocks below 64 KiB make the index and the request count explode; above 64 MiB a miss costs too much. */
export const MIN_BLOCK_SIZE = 64 * 1024;
export const MAX_BLOCK_SIZE = 64 * MIB;

export function checkSettings(settings: BlockCacheSettings): BlockCacheSettings {
  const { blockSize, maxBytes, maxAgeMs, readAheadMaxBytes, backgroundFetches } = settings;
  if (!Number.isSafeInteger(blockSize) || blockSize < MIN_BLOCK_SIZE || blockSize > MAX_BLOCK_SIZE) {
    throw new RangeError(`the cache block size must be an integer between ${MIN_BLOCK_SIZE} and ${MAX_BLOCK_SIZE} bytes`);
  }
  if (!Number.isFinite(maxBytes) || maxBytes < blockSize) throw new RangeError('the cache size must hold at least one block');
  if (!Number.isFinite(maxAgeMs) || maxAgeMs <= 0) throw new RangeError('the cache max age must be positive');
  if (!Number.isFinite(readAheadMaxBytes) || readAheadMaxBytes < 0) throw new RangeError('the read-ahead limit cannot be negative');
  if (!Number.isSafeInteger(backgroundFetches) || backgroundFetches < 1) throw new RangeError('background fetches must be at least 1');
  const parallel = settings.parallelStreams ?? CACHE_DEFAULTS.parallelStreams;
  if (!Number.isSafeInteger(parallel) || parallel < 1) throw new RangeError('parallel streams must be at least 1');
  if (settings.dir === '') throw new RangeError('the cache directory cannot be empty');
  return settings;
}
