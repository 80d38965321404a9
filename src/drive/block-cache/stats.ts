/**
 * Counters of the read cache (exported to Prometheus by a later issue). Block counts are per block
 * a reader touched; byte counts are exact.
 */
export interface CacheStats {
  /** Blocks a reader found on disk. */
  hits: number;
  /** Blocks a reader had to wait for from upstream (its own fetch or another one's). */
  misses: number;
  /** Of the misses, blocks that another request was already fetching (coalesced, no extra GET). */
  coalesced: number;
  /** Blocks dropped for size or age. */
  evictions: number;
  /** Bytes served from disk instead of upstream ("bytes saved"). */
  bytesFromCache: number;
  /** Bytes received from upstream by the cache. */
  bytesFetched: number;
  /** Upstream ranged GETs the cache started (client misses, read-ahead, warming). */
  upstreamRequests: number;
  /** Of those, background ones (tail warming, probe prefetch). */
  backgroundRequests: number;
  /** Read-ahead transfers stopped because the reader left or seeked elsewhere. */
  readAheadCancelled: number;
  /** Parallel streams: doublings of a reader's connections tried, and of those kept (the reader got faster). */
  parallelTrials: number;
  parallelKept: number;
  /** Blocks found on disk whose bytes no longer matched their checksum: dropped and fetched again. */
  corruptBlocks: number;
  /** 1 while a full disk keeps the cache from storing (reads pass through to upstream), else 0. */
  passThrough: number;
  /** Blocks (fragments included: parts of blocks that small reads fetched exactly) and bytes on disk now. */
  storedBlocks: number;
  storedBytes: number;
  /** Pooled block buffers (block-memory.ts): how many, in use now, and fills that found none free. */
  memoryBuffers: number;
  memoryInUse: number;
  memoryMisses: number;
}

export function emptyStats(): CacheStats {
  return {
    hits: 0,
    misses: 0,
    coalesced: 0,
    evictions: 0,
    bytesFromCache: 0,
    bytesFetched: 0,
    upstreamRequests: 0,
    backgroundRequests: 0,
    readAheadCancelled: 0,
    parallelTrials: 0,
    parallelKept: 0,
    corruptBlocks: 0,
    passThrough: 0,
    storedBlocks: 0,
    storedBytes: 0,
    memoryBuffers: 0,
    memoryInUse: 0,
    memoryMisses: 0,
  };
}
