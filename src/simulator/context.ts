/**
 * The state every listener of one simulator instance shares: options, clock, store, limits,
 * faults, stats, upload sessions and download tokens, plus the public addresses it hands out.
 */
import { lookup as mimeLookup } from 'mime-types';
import type { Clock } from './clock.js';
import type { FaultState } from './faults.js';
import type { Limits } from './limits.js';
import type { SimOptions } from './options.js';
import type { Stats } from './stats.js';
import type { FileRec, Store } from './store.js';

export interface UploadLink {
  fileId: string;
  download: string;
  filename: string;
  size: number;
  whirlpool: string;
  remove: string;
}

export interface UploadSession {
  id: string;
  /** Index of the upload node that issued it; upload.cgi and end.pl only work there. */
  node: number;
  expiresAt: number;
  state: 'issued' | 'receiving' | 'done';
  links: UploadLink[];
  incoming: 0 | 1;
  /** end.pl polls still to answer "please wait". */
  pleaseWaitLeft: number;
}

export interface DownloadToken {
  token: string;
  fileId: string;
  expiresAt: number;
  single: boolean;
  used: boolean;
  /** Who asked for it (the API key): concurrency is capped per account. */
  owner: string;
}

export interface PublicAddresses {
  scheme: 'http' | 'https';
  apiOrigin: string;
  uploadHosts: string[];
  downloadHost: string;
}

export interface RemoteResult {
  status: 'OK' | 'KO';
  url: string;
  download_link: string;
  message: string;
}

export interface RemoteJob {
  id: number;
  requestedAt: number;
  executedAt?: number;
  urls: string[];
  headers: Record<string, string>;
  folderId: number;
  results: RemoteResult[];
}

export interface SimContext {
  opts: SimOptions;
  clock: Clock;
  store: Store;
  limits: Limits;
  faults: FaultState;
  stats: Stats;
  dataDir: string;
  addresses: PublicAddresses;
  uploads: Map<string, UploadSession>;
  tokens: Map<string, DownloadToken>;
  /** Downloads in flight per account (token owner). */
  activeDownloads: Map<string, number>;
  /** When the shared download line (option downloadLineBytesPerSecond) is next free, ms since the epoch. */
  line: { freeAt: number };
  remoteJobs: Map<number, RemoteJob>;
  /** Round-robin cursor over upload nodes. */
  nextNode: number;
  /** Pending background work (remote fetches), awaited on close. */
  background: Set<Promise<unknown>>;
}

export function contentTypeOf(name: string): string {
  return mimeLookup(name) || 'application/octet-stream';
}

/** When a file created now becomes visible in listings (the eventual-consistency fault). */
export function visibleAtFor(ctx: SimContext, now: number): number {
  return now + ctx.clock.scaled(ctx.faults.current.listingDelayMs ?? 0);
}

export function isOwned(f: FileRec | undefined): f is FileRec {
  return f !== undefined && f.owner === 'account';
}
