/**
 * The archive of a backup: a POSIX tar (node-tar, pax headers for long names) of the sources, each
 * stored under its own base name (`backup ~/Documents /etc/nginx` gives `Documents/…` and
 * `nginx/…`), compressed with zstd (zstd-napi, built from source) or gzip (node:zlib), or not at all.
 *
 * Everything streams: a file is read as the archive is consumed, so memory stays flat whatever the
 * size of the tree. Unreadable entries (permission denied, vanished while walking) are skipped
 * and reported as warnings, as tar does.
 */
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { PassThrough, Readable, Writable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { Pack, Unpack } from 'tar';
import { CompressStream, DecompressStream } from 'zstd-napi';
import { SourceError } from './errors.js';
import type { Compression } from './naming.js';

/** Longest wait (ms) for node-tar to finish the writes it began when an extraction fails. */
const UNPACK_SETTLE_MS = 10_000;


export interface ArchiveSource {
  /** Absolute local path. */
  absolute: string;
  /** Top-level name inside the archive. */
  entry: string;
}

/** Resolves and checks the sources: each must exist, and no two may share a base name. */
export async function archiveSources(paths: readonly string[]): Promise<ArchiveSource[]> {
  const sources: ArchiveSource[] = [];
  const seen = new Map<string, string>();
  for (const path of paths) {
    const absolute = resolve(path);
    const entry = basename(absolute);
    if (entry === '') throw new SourceError('the root folder "/" cannot be a backup source: name the folders to back up');
    try {
      await stat(absolute);
    } catch (error) {
      throw new SourceError(`cannot read the source ${absolute} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    const other = seen.get(entry);
    if (other !== undefined) {
      throw new SourceError(`${other} and ${absolute} would both be stored as "${entry}/" in the archive: back them up under different names`);
    }
    seen.set(entry, absolute);
    sources.push({ absolute, entry });
  }
  if (sources.length === 0) throw new SourceError('name at least one local file or folder to back up');
  return sources;
}

/** Maps `home/u/Documents/a.txt` (relative to '/') to `Documents/a.txt`. */
function archivePath(path: string, sources: readonly ArchiveSource[]): string {
  for (const source of sources) {
    const relative = source.absolute.slice(1);
    if (path === relative) return source.entry;
    if (path.startsWith(`${relative}/`)) return source.entry + path.slice(relative.length);
  }
  return path;
}

function compressor(compression: Compression): Transform | undefined {
  // The frame checksum makes a damaged archive fail to decompress instead of restoring wrong bytes.
  if (compression === 'zstd') return new CompressStream({ compressionLevel: 3, checksumFlag: true });
  if (compression === 'gzip') return createGzip();
  return undefined;
}

function decompressor(compression: Compression): Transform | undefined {
  if (compression === 'zstd') return new DecompressStream();
  if (compression === 'gzip') return createGunzip();
  return undefined;
}

/**
 * The archive of `sources` as a byte stream. `onWarning` hears each skipped entry (the stream goes
 * on); `onEntry` each stored path.
 */
export function createArchive(
  sources: readonly ArchiveSource[],
  compression: Compression,
  events: { onWarning?: (message: string) => void; onEntry?: (path: string) => void } = {},
): Readable {
  // One Pack rooted at '/' so sources from different folders share one archive; each entry's path
  // is rewritten to start at its source's base name before its header is written.
  const pack = new Pack({
    cwd: '/',
    strict: false,
    onWriteEntry: (entry) => {
      entry.path = archivePath(entry.path, sources);
      if (entry.type === 'Link' && entry.linkpath) entry.linkpath = archivePath(entry.linkpath, sources);
      events.onEntry?.(entry.path);
    },
  });
  pack.on('warn', (_code: string, message: string | Error) => events.onWarning?.(message instanceof Error ? message.message : message));
  for (const source of sources) pack.add(source.absolute.slice(1));
  pack.end();
  const tarStream = Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
  const compress = compressor(compression);
  if (!compress) return tarStream;
  const out = new PassThrough();
  pipeline(tarStream, compress, out).catch((error) => out.destroy(error as Error));
  return out;
}

/**
 * Extracts an archive stream into `dest` (which must exist). node-tar refuses absolute paths and
 * `..` segments, so an archive cannot write outside `dest`. Rejects on a damaged archive.
 *
 * Symbolic links pointing outside `dest` (an absolute target such as `/etc/ssl/cert.pem`, or a
 * relative one climbing above `dest`) are common in backed-up trees (`~/.config`), and restoring
 * them as they are could let a later entry write outside `dest` through them. They are not
 * restored: each is reported in `skippedLinks` (`path -> target`) for the user to recreate, and the
 * rest of the archive is extracted. (node-tar would otherwise fail the whole restore on the first,
 * or silently make an absolute target relative, pointing somewhere else.)
 */
export async function extractArchive(
  source: Readable,
  dest: string,
  compression: Compression,
  signal?: AbortSignal,
): Promise<{ entries: number; skippedLinks: string[] }> {
  let entries = 0;
  let failure: Error | undefined;
  const skippedLinks: string[] = [];
  const unpack = new Unpack({
    cwd: dest,
    // Warnings are ours to judge (below): a link pointing outside is skipped, anything else fails.
    strict: false,
    preserveOwner: false,
    filter: (path, entry) => {
      if (!('type' in entry) || entry.type !== 'SymbolicLink') return true;
      const link = String(entry.linkpath ?? '');
      if (link.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(link)) {
        skippedLinks.push(`${path} -> ${link}`);
        return false;
      }
      return true;
    },
    onReadEntry: () => {
      entries += 1;
    },
    onwarn: (code: string, message: string, data: Record<string, unknown>) => {
      const entry = data.entry as { type?: string; path?: string; linkpath?: string } | undefined;
      if (code === 'TAR_ENTRY_ERROR' && entry?.type === 'SymbolicLink' && data.linkpath !== undefined) {
        skippedLinks.push(`${entry.path} -> ${String(data.linkpath)}`);
        return;
      }
      failure ??= Object.assign(new Error(message), { code });
    },
  });
  unpack.on('error', (error: Error) => (failure ??= error));
  const done = new Promise<void>((resolveDone) => unpack.on('close', () => resolveDone()));
  // node-tar's Unpack is a Minipass stream: a small Writable feeds it with back-pressure.
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (failure) return callback(failure);
      if (unpack.write(chunk)) callback();
      else unpack.once('drain', () => callback(failure));
    },
    final(callback) {
      unpack.end();
      done.then(() => callback(failure), callback);
    },
  });
  const decompress = decompressor(compression);
  try {
    if (decompress) await pipeline(source, decompress, sink, { signal });
    else await pipeline(source, sink, { signal });
  } catch (error) {
    // node-tar still writes the entries it has begun: answer only once it closed, or a caller
    // that removes `dest` next (a failed restore's clean-up) races with those writes (ENOTEMPTY).
    unpack.end();
    await Promise.race([done, sleep(UNPACK_SETTLE_MS)]);
    throw error;
  }
  if (failure) throw failure;
  return { entries, skippedLinks };
}
