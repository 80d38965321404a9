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
import { createGunzip, createGzip } from 'node:zlib';
import { Pack, Unpack } from 'tar';
import { CompressStream, DecompressStream } from 'zstd-napi';
import { SourceError } from './errors.js';
import type { Compression } from './naming.js';


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
 */
export async function extractArchive(source: Readable, dest: string, compression: Compression, signal?: AbortSignal): Promise<{ entries: number }> {
  let entries = 0;
  let failure: Error | undefined;
  const unpack = new Unpack({
    cwd: dest,
    strict: true,
    preserveOwner: false,
    onReadEntry: () => {
      entries += 1;
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
  if (decompress) await pipeline(source, decompress, sink, { signal });
  else await pipeline(source, sink, { signal });
  if (failure) throw failure;
  return { entries };
}
