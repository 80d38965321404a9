/**
 * The read-cache options of FichierDriveOptions (issue 9), and how they become cache settings.
 */
import { dirname, join } from 'node:path';
import { CACHE_DEFAULTS, type BlockCacheSettings } from './options.js';

export interface ReadCacheOptions {
  /** Persistent block cache for reads. Default true; false = every read goes upstream (one GET per range). */
  readCache?: boolean;
  /** Cache directory. Default: `blocks/` next to the spool directory (the account's state dir, under ~/.cache/fichier-dav). */
  cacheDir?: string;
  /** Bytes of cached blocks at most. Default 10 GiB. */
  cacheMaxBytes?: number;
  /** A block unused this long is dropped (ms). Default 7 days. */
  cacheMaxAgeMs?: number;
  /** Block size in bytes (64 KiB to 64 MiB). Default 1 MiB. */
  cacheBlockSize?: number;
  /** How far ahead of a sequential reader to fetch (bytes); 0 = no read-ahead. Default 64 MiB. */
  readAheadMaxBytes?: number;
  /** Background fetches (tail warming, probe prefetch) at once. Default 2. */
  cacheBackgroundFetches?: number;
  /** Upstream connections one sequential reader may use when one connection is slower than the reader (1 = off). Default 4. */
  parallelStreams?: number;
  /** Write whole blocks with direct I/O (O_DIRECT) where the file system takes it. Default true. */
  cacheDirectIo?: boolean;
  /** Warm the head and tail blocks of media files of each listed folder in the background. Default false. */
  prefetchProbes?: boolean;
}

/** The cache settings, or undefined when the cache is off. */
export function cacheSettingsFrom(options: ReadCacheOptions & { spoolDir: string; maxResumes?: number }): BlockCacheSettings | undefined {
  if (options.readCache === false) return undefined;
  return {
    dir: options.cacheDir ?? join(dirname(options.spoolDir), 'blocks'),
    maxBytes: options.cacheMaxBytes ?? CACHE_DEFAULTS.maxBytes,
    maxAgeMs: options.cacheMaxAgeMs ?? CACHE_DEFAULTS.maxAgeMs,
    blockSize: options.cacheBlockSize ?? CACHE_DEFAULTS.blockSize,
    readAheadMaxBytes: options.readAheadMaxBytes ?? CACHE_DEFAULTS.readAheadMaxBytes,
    backgroundFetches: options.cacheBackgroundFetches ?? CACHE_DEFAULTS.backgroundFetches,
    warmTail: CACHE_DEFAULTS.warmTail,
    maxResumes: options.maxResumes ?? CACHE_DEFAULTS.maxResumes,
    parallelStreams: options.parallelStreams ?? CACHE_DEFAULTS.parallelStreams,
    directIo: options.cacheDirectIo ?? true,
  };
}
