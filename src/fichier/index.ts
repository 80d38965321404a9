/** Public API of the 1fichier client library. */
export { FichierClient, DEFAULT_API_URL, MAX_UPLOAD_SIZE, UploadSourceError } from './client.js';
export type {
  FichierClientOptions,
  FichierLogEvent,
  CallOptions,
  ReadOptions,
  UploadOptions,
  UploadResult,
  DownloadResponse,
  TokenOptions,
  ChattrOptions,
  EndPollOptions,
} from './client.js';
export { Scheduler, SCHEDULER_DEFAULTS, MAX_RATE_PER_SECOND } from './scheduler.js';
export type { SchedulerOptions, Priority, Job, JobReport } from './scheduler.js';
export { TokenBucket, type TokenBucketState } from './token-bucket.js';
export { MemoryBudgetStore, escalateCooldown, NO_COOLDOWN } from './budget-store.js';
export type { BudgetStore, RatePolicy, CooldownPolicy, CooldownState, SendClaim, WindowClaim } from './budget-store.js';
export { interpretResponse } from './http.js';
export { realClock, FakeClock, type Clock } from './clock.js';
export * from './errors.js';
export type {
  FileItem,
  FolderItem,
  FolderListing,
  FileInfo,
  AccountInfo,
  UploadServer,
  EndLink,
  RemoteRequestInfo,
} from './wire.js';
export { encodeName, decodeName, decodePathName, decodeNameBytes, NameCodec, Enc, FICHIER_ENCODING, QUOTE_RUNE } from './names.js';
export { parseParisTime, tryParseParisTime, formatParisTime } from './paris-time.js';
export { whirlpoolHex, createWhirlpoolHasher, WhirlpoolPassThrough } from './whirlpool.js';
export { buildMultipart, quoteParam } from './multipart.js';
