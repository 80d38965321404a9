/**
 * What the drive keeps locally because 1fichier cannot hold it:
 *
 * - virtual empty files (1fichier refuses 0-byte uploads, yet every OS creates files empty first);
 * - OS housekeeping files (`._*`, `.DS_Store`, `Thumbs.db`, `desktop.ini`) that are never uploaded;
 * - dead properties set with PROPPATCH (Windows' Win32* times, Finder's tags, ...).
 *
 * Everything lives in one state directory: `state.json` (rewritten atomically: temp file, fsync,
 * rename, so a crash leaves either the old or the new state, never half of one) and a `blobs/`
 * folder for the bytes of housekeeping files. Keys are drive paths; MOVE, COPY and DELETE carry
 * them along through moveTree/copyTree/removeTree.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { resourceBytes } from './dead-property-limits.js';
import { isWithin } from './paths.js';
import { DriveError, type DeadProperty, type PropertyPatch } from './types.js';

export interface LocalFile {
  /** 'empty': a 0-byte file waiting for content; 'system': an OS housekeeping file kept locally. */
  kind: 'empty' | 'system';
  size: number;
  created: string;
  modified: string;
  /** Blob file name under blobs/ for 'system' files with content. */
  blob?: string;
}

interface StateFile {
  version: 1;
  files: Record<string, LocalFile>;
  properties: Record<string, DeadProperty[]>;
}

export interface LocalStateOptions {
  /** Largest housekeeping file kept, in bytes. */
  maxSystemFileBytes?: number;
}

export class LocalState {
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  private constructor(
    private readonly dir: string,
    private state: StateFile,
    private readonly options: Required<LocalStateOptions>,
  ) {}

  static async open(dir: string, options: LocalStateOptions = {}): Promise<LocalState> {
    await mkdir(join(dir, 'blobs'), { recursive: true });
    let state: StateFile = { version: 1, files: {}, properties: {} };
    try {
      const parsed = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as Partial<StateFile>;
      if (parsed.version === 1) state = { version: 1, files: parsed.files ?? {}, properties: parsed.properties ?? {} };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new Error(`cannot read the local state in ${dir}: ${(error as Error).message}`);
      }
    }
    return new LocalState(dir, state, { maxSystemFileBytes: options.maxSystemFileBytes ?? 16 * 1024 * 1024 });
  }

  // ---- local files -------------------------------------------------------------------------

  file(path: string): LocalFile | undefined {
    return this.state.files[path];
  }

  /** Local files directly inside `folder`, by name. */
  filesIn(folder: string): Array<[string, LocalFile]> {
    const prefix = folder === '/' ? '/' : folder + '/';
    const found: Array<[string, LocalFile]> = [];
    for (const [path, file] of Object.entries(this.state.files)) {
      if (path.startsWith(prefix) && !path.slice(prefix.length).includes('/')) found.push([path.slice(prefix.length), file]);
    }
    return found;
  }

  async putEmpty(path: string): Promise<LocalFile> {
    const now = new Date().toISOString();
    const previous = this.state.files[path];
    await this.dropBlob(previous);
    const file: LocalFile = { kind: 'empty', size: 0, created: previous?.created ?? now, modified: now };
    this.state.files[path] = file;
    await this.save();
    return file;
  }

  /** Stores a housekeeping file's bytes locally (never uploaded). */
  async putSystem(path: string, body: Readable): Promise<LocalFile> {
    const blob = randomUUID();
    const target = join(this.dir, 'blobs', blob);
    let size = 0;
    const limit = this.options.maxSystemFileBytes;
    try {
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            size += chunk.length;
            if (size > limit) throw new DriveError('too-large', `housekeeping files are kept locally up to ${limit} bytes`);
            yield chunk;
          }
        },
        createWriteStream(target),
      );
    } catch (error) {
      await rm(target, { force: true });
      throw error;
    }
    const now = new Date().toISOString();
    const previous = this.state.files[path];
    await this.dropBlob(previous);
    const file: LocalFile = { kind: 'system', size, created: previous?.created ?? now, modified: now, blob };
    this.state.files[path] = file;
    await this.save();
    return file;
  }

  readSystem(file: LocalFile, range?: { start: number; end: number }): Readable {
    if (!file.blob) throw new DriveError('not-found', 'no local content');
    return createReadStream(join(this.dir, 'blobs', file.blob), range ? { start: range.start, end: range.end } : {});
  }

  async removeFile(path: string): Promise<void> {
    const previous = this.state.files[path];
    if (!previous) return;
    delete this.state.files[path];
    await this.dropBlob(previous);
    await this.save();
  }

  // ---- dead properties -----------------------------------------------------------------------

  properties(path: string): DeadProperty[] {
    return this.state.properties[path] ?? [];
  }

  /** Bytes of every resource's dead properties (as `resourceBytes` counts them), for the account's limit. */
  deadPropertyBytes(): number {
    let total = 0;
    for (const properties of Object.values(this.state.properties)) total += resourceBytes(properties);
    return total;
  }

  /** Applies every patch in order; all or nothing (the state is only replaced at the end). */
  async patchProperties(path: string, patches: readonly PropertyPatch[]): Promise<void> {
    const current = new Map(this.properties(path).map((p) => [`${p.namespace} ${p.name}`, p]));
    for (const patch of patches) {
      if (patch.op === 'set') current.set(`${patch.property.namespace} ${patch.property.name}`, patch.property);
      else current.delete(`${patch.namespace} ${patch.name}`);
    }
    if (current.size === 0) delete this.state.properties[path];
    else this.state.properties[path] = [...current.values()];
    await this.save();
  }

  // ---- tree operations (MOVE, COPY, DELETE) --------------------------------------------------

  async moveTree(from: string, to: string): Promise<void> {
    this.removeTreeEntries(to);
    for (const table of [this.state.files, this.state.properties] as Array<Record<string, unknown>>) {
      for (const key of Object.keys(table)) {
        if (isWithin(key, from)) {
          table[to + key.slice(from.length)] = table[key];
          delete table[key];
        }
      }
    }
    await this.save();
  }

  async copyTree(from: string, to: string, depth: 0 | 'infinity'): Promise<void> {
    this.removeTreeEntries(to);
    const copies: Array<[string, LocalFile]> = [];
    for (const [key, file] of Object.entries(this.state.files)) {
      if (this.inCopy(key, from, depth)) copies.push([to + key.slice(from.length), file]);
    }
    for (const [key, file] of copies) {
      let blob: string | undefined;
      if (file.blob) {
        blob = randomUUID();
        await copyFile(join(this.dir, 'blobs', file.blob), join(this.dir, 'blobs', blob));
      }
      this.state.files[key] = { ...file, blob };
    }
    for (const [key, props] of Object.entries(this.state.properties)) {
      if (this.inCopy(key, from, depth)) this.state.properties[to + key.slice(from.length)] = props.map((p) => ({ ...p }));
    }
    await this.save();
  }

  async removeTree(path: string): Promise<void> {
    const blobs = this.removeTreeEntries(path);
    await Promise.all(blobs.map((blob) => rm(join(this.dir, 'blobs', blob), { force: true })));
    await this.save();
  }

  /** Waits until every change so far is on disk. */
  async flush(): Promise<void> {
    await this.writing;
  }

  private inCopy(key: string, from: string, depth: 0 | 'infinity'): boolean {
    if (depth === 'infinity') return isWithin(key, from);
    return key === from;
  }

  private removeTreeEntries(path: string): string[] {
    const blobs: string[] = [];
    for (const key of Object.keys(this.state.files)) {
      if (isWithin(key, path)) {
        const blob = this.state.files[key].blob;
        if (blob) blobs.push(blob);
        delete this.state.files[key];
      }
    }
    for (const key of Object.keys(this.state.properties)) {
      if (isWithin(key, path)) delete this.state.properties[key];
    }
    return blobs;
  }

  private async dropBlob(file: LocalFile | undefined): Promise<void> {
    if (file?.blob) await rm(join(this.dir, 'blobs', file.blob), { force: true });
  }

  /** Serialised, coalesced, atomic writes of state.json. */
  private save(): Promise<void> {
    this.dirty = true;
    // A failed write must not poison every later one: each save retries the whole state.
    this.writing = this.writing.catch(() => {}).then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const target = join(this.dir, 'state.json');
      const temp = `${target}.${process.pid}.tmp`;
      const handle = await open(temp, 'w');
      try {
        await handle.writeFile(JSON.stringify(this.state));
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, target);
    });
    return this.writing;
  }
}
