/**
 * The read-cache settings of `serve` (declared in config.ts's SETTINGS) and their translation
 * into the drive's ReadCacheOptions. Sizes accept 10G, 512M, 4MiB, 1.5G or plain bytes (binary
 * units); durations accept 7d, 12h, 30m, 45s, 2w or ms.
 */
import { InvalidArgumentError } from 'commander';
import type { ReadCacheOptions } from '../drive/block-cache/drive-options.js';

export interface CacheFlags {
  cacheDir?: string;
  cacheMaxSize?: number;
  cacheMaxAge?: number;
  cacheBlockSize?: number;
  readAhead?: number;
  parallelStreams?: number;
  /** commander sets false for --no-read-cache. */
  readCache?: boolean;
  /** commander sets false for --no-cache-direct-io. */
  cacheDirectIo?: boolean;
  prefetchProbes?: boolean;
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "10G", "512M", "4MiB", "1.5g", "65536" → bytes. */
export function parseByteSize(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(value);
  if (!match) throw new InvalidArgumentError('must be a size like 10G, 512M, 4MiB or a number of bytes');
  const bytes = Math.floor(Number(match[1]) * SIZE_UNITS[match[2].toLowerCase()]);
  if (!Number.isSafeInteger(bytes)) throw new InvalidArgumentError('is too large');
  return bytes;
}

/** "7d", "12h", "30m", "45s", "2w", "1500ms", "60000" (ms) → milliseconds. */
export function parseDuration(value: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/i.exec(value);
  if (!match) throw new InvalidArgumentError('must be a duration like 7d, 12h, 30m or 45s');
  const ms = Math.floor(Number(match[1]) * DURATION_UNITS[(match[2] ?? 'ms').toLowerCase()]);
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new InvalidArgumentError('must be a positive duration');
  return ms;
}

/** The FichierDriveOptions subset the flags ask for (undefined = the drive's default). */
export function cacheOptionsFrom(flags: CacheFlags): ReadCacheOptions {
  const options: ReadCacheOptions = { readCache: flags.readCache !== false };
  if (flags.cacheDir !== undefined) options.cacheDir = flags.cacheDir;
  if (flags.cacheMaxSize !== undefined) options.cacheMaxBytes = flags.cacheMaxSize;
  if (flags.cacheMaxAge !== undefined) options.cacheMaxAgeMs = flags.cacheMaxAge;
  if (flags.cacheBlockSize !== undefined) options.cacheBlockSize = flags.cacheBlockSize;
  if (flags.readAhead !== undefined) options.readAheadMaxBytes = flags.readAhead;
  if (flags.parallelStreams !== undefined) options.parallelStreams = flags.parallelStreams;
  if (flags.prefetchProbes) options.prefetchProbes = true;
  if (flags.cacheDirectIo === false) options.cacheDirectIo = false;
  return options;
}

/**
 * Why `--parallel-streams N` cannot be reached with the connection caps given, or undefined when
 * it can. A reader's lanes never take the last free connection of its file or of the account (a
 * seek must not wait), so at most min(per-file cap, account cap) - 1 run: a larger N was silently
 * that smaller number. Only an N the user set is checked (the default adapts to the caps).
 */
export function parallelStreamsOutOfReach(parallelStreams: number, perFile: number, account: number): string | undefined {
  const reach = Math.max(1, Math.min(perFile, account) - 1);
  if (parallelStreams <= reach) return undefined;
  const [cap, flag] = perFile <= account ? [perFile, '--download-connections-per-file'] : [account, '--download-connections'];
  return (
    `--parallel-streams ${parallelStreams} cannot be reached: ${flag} is ${cap} and one connection is always left free for a seek, ` +
    `so a reader gets at most ${reach}; raise ${flag} to ${parallelStreams + 1} or more, or lower --parallel-streams`
  );
}
