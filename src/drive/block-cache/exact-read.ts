/**
 * Small closed reads served exactly: a cold seek's 64 KiB, a probe's tail or middle. Such a read
 * fetches from upstream only the bytes it asks for (one ranged GET over the part not on disk) and
 * stores what arrives as *fragments* of the blocks it touches, rather than moving and writing
 * whole blocks for it: through whole blocks, a 64 KiB seek into a 1 MiB block cost the rest of
 * the block and a second GET for its head, and on a busy machine that work delayed the next seek
 * (bench row C2a). A repeat of the same read (a media server's rescan) is served from the
 * fragments; a read elsewhere in such a block fetches the block whole, which replaces them.
 *
 * Which reads qualify is decided by `planExactRead`; everything else (sequential and open-ended
 * reads, reads that join a transfer in flight, reads that are a large share of their blocks) goes
 * through CachedRangeStream and whole blocks.
 */
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { resumableReadWhenOpen, type ResumableReadOptions } from '../resumable-read.js';
import type { BlockRecord } from './block-index.js';
import type { BlockStore } from './block-store.js';
import type { FetchPriority } from './span-fetch.js';
import type { CacheStats } from './stats.js';

/** A read qualifies when the whole blocks it would fetch are at least this many times its own missing bytes. */
export const EXACT_SHARE = 4;
/** Largest exact fetch (bytes): its bytes are held in memory until they are stored (large blocks would allow more). */
export const EXACT_MAX = 2 * 1024 * 1024;
const PIECE = 256 * 1024;

export interface ExactReadContext {
  key: string;
  meta: { size: number; urlHash: string };
  blockSize: number;
  store: BlockStore;
  stats: CacheStats;
  /** One upstream ranged GET of the file (bytes [start, end], inclusive). */
  open(range: { start: number; end: number }, context: { attempt: number; signal: AbortSignal; priority: FetchPriority }): Promise<Readable>;
  maxResumes: number;
  parking?: ResumableReadOptions['parking'];
  /** False once the cache is closed: what arrives after that is not stored. */
  storing?: () => boolean;
}

/** Bytes [from, to] (inclusive) of the file, from a stored block or fragment, or (no record) from upstream. */
interface Part {
  from: number;
  to: number;
  record?: BlockRecord;
}

/**
 * The parts of a read of bytes [start, end] of the file, when it qualifies for an exact read:
 * no block it touches is being fetched (`inFlight`), and either every byte is on disk with at
 * least one fragment involved (any read, sequential too), or the read may fetch exactly
 * (`mayFetch`: it is not sequential) and the whole blocks it lacks are at least EXACT_SHARE times the
 * bytes it would fetch, and none of those blocks has a fragment already (a second miss in a block
 * fetches it whole: a client that keeps reading in one block is served from disk from then on).
 * Undefined otherwise (the read goes through whole blocks).
 */
export function planExactRead(
  context: Pick<ExactReadContext, 'key' | 'meta' | 'blockSize' | 'store'>,
  start: number,
  end: number,
  inFlight: (index: number) => boolean,
  mayFetch: boolean,
): Part[] | undefined {
  const { key, blockSize, store, meta } = context;
  const first = Math.floor(start / blockSize);
  const last = Math.floor(end / blockSize);
  const parts: Part[] = [];
  let missingFrom = -1;
  let missingTo = -1;
  let missingBlockBytes = 0;
  let fragments = 0;
  for (let index = first; index <= last; index += 1) {
    if (inFlight(index)) return undefined;
    const base = index * blockSize;
    const from = Math.max(start, base);
    const to = Math.min(end, base + blockSize - 1);
    const record = store.index.get(key, index) ?? store.index.fragmentCovering(key, index, from - base, to - base + 1);
    if (record) {
      if (record.offset !== undefined) fragments += 1;
      parts.push({ from, to, record });
      continue;
    }
    // A second miss in a block that has fragments fetches it whole: reads keep landing there.
    if (!mayFetch || store.index.hasFragments(key, index)) return undefined;
    if (missingFrom < 0) missingFrom = from;
    missingTo = to;
    missingBlockBytes += Math.min(blockSize, meta.size - base);
  }
  if (missingFrom < 0) return fragments > 0 ? parts : undefined;
  const missingBytes = missingTo - missingFrom + 1;
  if (missingBytes * EXACT_SHARE > missingBlockBytes || missingBytes > EXACT_MAX) return undefined;
  // One GET over everything from the first missing byte to the last (stored bits between are fetched again).
  return [...parts.filter((part) => part.to < missingFrom), { from: missingFrom, to: missingTo }, ...parts.filter((part) => part.from > missingTo)].sort(
    (a, b) => a.from - b.from,
  );
}

/**
 * The stream of bytes [parts[0].from, last part's to] and a promise that settles once its upstream
 * GET (if it needs one) has answered: it rejects with the upstream's error (no link, flood
 * cool-down, vanished file) so the client gets a status rather than a cut 206. Destroying the
 * stream, or aborting `signal`, stops the GET; what had arrived is still stored.
 */
export function exactRead(parts: Part[], context: ExactReadContext, signal?: AbortSignal): { stream: Readable; prepared: Promise<void> } {
  const controller = new AbortController();
  // Like a block-path read: the caller giving up ends the stream (not only its GET), so nothing
  // waits on a stream no one will read.
  const onAbort = () => {
    controller.abort();
    stream.destroy();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) controller.abort();
  const missing = parts.find((part) => !part.record);
  const hull = missing ? openUpstream(context, missing.from, missing.to, controller.signal) : undefined;
  hull?.catch(() => {});
  const stream = Readable.from(generate(parts, context, hull, controller.signal), { objectMode: false, highWaterMark: PIECE });
  // Readable.from's destroy waits for the generator to reach its next step before 'close', and a
  // GET that stalls (or waits for a connection slot) would keep it, and the connection, there:
  // stop the GET first.
  const destroy = stream._destroy;
  stream._destroy = function (this: Readable, error: Error | null, callback: (error?: Error | null) => void): void {
    controller.abort();
    destroy.call(this, error, callback);
  };
  // Whoever reads the stream attaches its own listeners; this one only keeps a refused GET, raised
  // before that, from becoming an uncaught exception (the caller learns of it from `prepared`).
  stream.on('error', () => {});
  stream.once('close', () => {
    controller.abort();
    signal?.removeEventListener('abort', onAbort);
  });
  const prepared = hull ? hull.then(() => undefined) : Promise.resolve();
  prepared.catch(() => {});
  return { stream, prepared };
}

function openUpstream(context: ExactReadContext, start: number, end: number, signal: AbortSignal): Promise<Readable> {
  context.stats.upstreamRequests += 1;
  return resumableReadWhenOpen({
    start,
    end,
    maxResumes: context.maxResumes,
    signal,
    parking: context.parking,
    open: (part, open) => context.open(part, { attempt: open.attempt, signal: open.signal, priority: 'interactive' }),
  });
}

async function* generate(parts: Part[], context: ExactReadContext, hull: Promise<Readable> | undefined, signal: AbortSignal): AsyncGenerator<Buffer> {
  try {
    for (const part of parts) {
      let from = part.from;
      if (part.record) {
        from = yield* fromDisk(part.record, part.from, part.to, context);
        if (from > part.to) continue;
        // The unit vanished or was damaged under us. Most often a fragment that its block, stored
        // whole meanwhile, replaced: read the rest from that block; else fetch it.
        const block = context.store.index.get(context.key, part.record.index);
        if (block && block !== part.record) from = yield* fromDisk(block, from, part.to, context);
        if (from > part.to) continue;
      }
      const stream = part.record || from !== part.from ? await openUpstream(context, from, part.to, signal) : await hull!;
      // Misses count blocks a reader touched (as on the block path), not GETs.
      context.stats.misses += Math.floor(part.to / context.blockSize) - Math.floor(from / context.blockSize) + 1;
      yield* fromUpstream(stream, from, context);
    }
  } finally {
    // Nothing the generator did not take is left running (a client that left, an error).
    void hull?.then((stream) => stream.destroy(), () => {});
  }
}

/** Yields bytes [from, to] of a stored unit; returns the byte reached (to + 1 when all were read). */
async function* fromDisk(record: BlockRecord, from: number, to: number, context: ExactReadContext): AsyncGenerator<Buffer, number> {
  const { store, stats, blockSize } = context;
  const handle: FileHandle | undefined = await store.openRecord(record);
  if (!handle) return from;
  const base = record.index * blockSize + (record.offset ?? 0);
  stats.hits += 1;
  try {
    while (from <= to) {
      const length = Math.min(PIECE, to - from + 1);
      const buffer = Buffer.allocUnsafe(length);
      const { bytesRead } = await handle.read(buffer, 0, length, from - base);
      if (bytesRead !== length) {
        // Shorter than it was stored: forget it.
        store.index.removeRecord(record);
        return from;
      }
      stats.bytesFromCache += length;
      from += length;
      yield buffer;
    }
    return from;
  } finally {
    await handle.close().catch(() => {});
  }
}

/** Yields an upstream GET's bytes (starting at byte `from`), then stores what arrived as fragments. */
async function* fromUpstream(stream: Readable, from: number, context: ExactReadContext): AsyncGenerator<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      received += chunk.length;
      context.stats.bytesFetched += chunk.length;
      yield chunk;
    }
  } finally {
    stream.destroy();
    if (received > 0) storeFragments(context, from, chunks, received);
  }
}

/** Stores bytes [from, from + bytes) as one fragment per block they touch (unless that block or range is on disk already). */
function storeFragments(context: ExactReadContext, from: number, chunks: Buffer[], bytes: number): void {
  const { key, meta, blockSize, store } = context;
  if (context.storing && !context.storing()) return;
  const end = from + bytes;
  for (let index = Math.floor(from / blockSize); index * blockSize < end; index += 1) {
    const base = index * blockSize;
    const start = Math.max(from, base);
    const stop = Math.min(end, base + blockSize);
    if (store.index.has(key, index) || store.index.fragmentCovering(key, index, start - base, stop - base)) continue;
    void store.storeFragment(key, index, start - base, meta, slice(chunks, start - from, stop - start));
  }
}

/** `length` bytes of `chunks` from `skip` on, as views (no copy). */
export function slice(chunks: Buffer[], skip: number, length: number): Buffer[] {
  const out: Buffer[] = [];
  for (const chunk of chunks) {
    if (length <= 0) break;
    if (skip >= chunk.length) {
      skip -= chunk.length;
      continue;
    }
    const piece = chunk.subarray(skip, skip + length);
    out.push(piece);
    length -= piece.length;
    skip = 0;
  }
  return out;
}
