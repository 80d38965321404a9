/**
 * What the drive keeps locally because 1fichier cannot hold it:
 *
 * - virtual empty files (1fichier refuses 0-byte uploads, yet every OS creates files empty first);
 * - OS housekeeping files (`._*`, `.DS_Store`, `Thumbs.db`, `desktop.ini`) that are never uploaded;
 * - dead properties set with PROPPATCH (Windows' Win32* times, Finder's tags, ...).
 *
 * The records live in the account's state database (two tables, declared here): each change is
 * one transaction, durable when the method resolves, and visible at once to every process of the
 * account (a CLI next to a running serve). The bytes of housekeeping files stay files under
 * `blobs/` beside the database, named by a random id the record points to. Keys are drive paths;
 * MOVE, COPY and DELETE carry them along through moveTree/copyTree/removeTree.
 *
 * A `state.json` left by an earlier version is imported once, then renamed `state.json.imported`.
 */
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { openAccountDb, type AccountDb, type Db } from '../state/account-db.js';
import { resourceBytes } from './dead-property-limits.js';
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

export interface LocalStateOptions {
  /** Largest housekeeping file kept, in bytes. */
  maxSystemFileBytes?: number;
}

export const LOCAL_STATE_SCHEMA = {
  name: 'local-state',
  version: 1,
  migrate(db: Db): void {
    db.exec(`
      CREATE TABLE IF NOT EXISTS local_files (
        path TEXT PRIMARY KEY, kind TEXT NOT NULL, size INTEGER NOT NULL,
        created TEXT NOT NULL, modified TEXT NOT NULL, blob TEXT);
      CREATE TABLE IF NOT EXISTS dead_properties (path TEXT PRIMARY KEY, properties TEXT NOT NULL);
    `);
  },
};

/** The legacy JSON file (before the state database). */
const LEGACY_FILE = 'state.json';

/** SQL for "path is @from or lies under it" (isWithin). */
const WITHIN = "(@from = '/' OR path = @from OR substr(path, 1, length(@from) + 1) = @from || '/')";

interface FileRow {
  path: string;
  kind: 'empty' | 'system';
  size: number;
  created: string;
  modified: string;
  blob: string | null;
}

function toFile(row: FileRow): LocalFile {
  const file: LocalFile = { kind: row.kind, size: row.size, created: row.created, modified: row.modified };
  if (row.blob) file.blob = row.blob;
  return file;
}

export class LocalState {
  private readonly sql;
  /** `PRAGMA data_version`: changes when another connection (another process) commits. */
  private readonly dataVersion;
  /** Write statements run through this connection (our own commits leave data_version alone). */
  private writes = 0;

  private constructor(
    private readonly account: AccountDb,
    private readonly ownsDb: boolean,
    private readonly options: Required<LocalStateOptions>,
  ) {
    const db = account.db;
    this.sql = {
      file: db.prepare('SELECT * FROM local_files WHERE path = ?'),
      filesIn: db.prepare(
        "SELECT * FROM local_files WHERE substr(path, 1, length(@prefix)) = @prefix AND length(path) > length(@prefix) AND instr(substr(path, length(@prefix) + 1), '/') = 0",
      ),
      putFile: db.prepare(
        'INSERT INTO local_files (path, kind, size, created, modified, blob) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET kind = excluded.kind, size = excluded.size, created = excluded.created, modified = excluded.modified, blob = excluded.blob',
      ),
      removeFile: db.prepare('DELETE FROM local_files WHERE path = ?'),
      properties: db.prepare('SELECT properties FROM dead_properties WHERE path = ?'),
      putProperties: db.prepare('INSERT INTO dead_properties (path, properties) VALUES (?, ?) ON CONFLICT(path) DO UPDATE SET properties = excluded.properties'),
      removeProperties: db.prepare('DELETE FROM dead_properties WHERE path = ?'),
      filesWithin: db.prepare(`SELECT * FROM local_files WHERE ${WITHIN}`),
      propertiesWithin: db.prepare(`SELECT path, properties FROM dead_properties WHERE ${WITHIN}`),
      removeFilesWithin: db.prepare(`DELETE FROM local_files WHERE ${WITHIN}`),
      removePropertiesWithin: db.prepare(`DELETE FROM dead_properties WHERE ${WITHIN}`),
      moveFilesWithin: db.prepare(`UPDATE local_files SET path = @to || substr(path, length(@from) + 1) WHERE ${WITHIN}`),
      movePropertiesWithin: db.prepare(`UPDATE dead_properties SET path = @to || substr(path, length(@from) + 1) WHERE ${WITHIN}`),
    };
    // Every statement that writes bumps `writes` when it runs, so version() cannot miss a write
    // added later to this class (a rolled-back one only costs a cache miss).
    for (const statement of Object.values(this.sql)) {
      if (statement.reader) continue;
      const run = statement.run.bind(statement);
      statement.run = ((...args: Parameters<typeof run>) => {
        try {
          return run(...args);
        } finally {
          this.writes += 1;
        }
      }) as typeof statement.run;
    }
    this.dataVersion = db.prepare('PRAGMA data_version').pluck();
  }

  /**
   * A token of everything this state holds (local files and dead properties): two calls return
   * the same string only when nothing was written in between, by this process or any other of
   * the account. Cheap (one pragma read), so caches of answers built from the state can check it
   * on every request. Writes to other tables of the account database by other processes also
   * change it (harmless: a cache rebuilds once).
   */
  version(): string {
    return `${String(this.dataVersion.get())}:${this.writes}`;
  }

  /**
   * Opens the local state of an account: `where` is the account's open database, or a state
   * directory (its database is opened, and closed by `close()`). Imports a legacy `state.json`.
   * Throws an Error naming the folder when it cannot hold the state.
   */
  static async open(where: string | AccountDb, options: LocalStateOptions = {}): Promise<LocalState> {
    let account: AccountDb;
    try {
      account = typeof where === 'string' ? openAccountDb(where) : where;
    } catch (error) {
      throw new Error(`cannot open the local state in ${String(where)}: ${(error as Error).message}`);
    }
    account.defineSchema(LOCAL_STATE_SCHEMA);
    await mkdir(join(account.dir, 'blobs'), { recursive: true });
    const state = new LocalState(account, typeof where === 'string', { maxSystemFileBytes: options.maxSystemFileBytes ?? 16 * 1024 * 1024 });
    await state.importLegacy();
    return state;
  }

  /** The state directory (the database and blobs/). */
  get dir(): string {
    return this.account.dir;
  }

  // ---- local files -------------------------------------------------------------------------

  file(path: string): LocalFile | undefined {
    const row = this.sql.file.get(path) as FileRow | undefined;
    return row ? toFile(row) : undefined;
  }

  /** Local files directly inside `folder`, by name. */
  filesIn(folder: string): Array<[string, LocalFile]> {
    const prefix = folder === '/' ? '/' : folder + '/';
    return (this.sql.filesIn.all({ prefix }) as FileRow[]).map((row) => [row.path.slice(prefix.length), toFile(row)]);
  }

  async putEmpty(path: string): Promise<LocalFile> {
    const now = new Date().toISOString();
    const { file, previous } = this.account.write(() => {
      const previous = this.file(path);
      const file: LocalFile = { kind: 'empty', size: 0, created: previous?.created ?? now, modified: now };
      this.saveFile(path, file);
      return { file, previous };
    });
    await this.dropBlob(previous?.blob);
    return file;
  }

  /** Stores a housekeeping file's bytes locally (never uploaded). */
  async putSystem(path: string, body: Readable): Promise<LocalFile> {
    const blob = randomUUID();
    const target = join(this.dir, 'blobs', blob);
    let size = 0;
    const limit = this.options.maxSystemFileBytes;
    // The file is opened before the body flows: a stream opened lazily could create the file after
    // a failed pipeline's clean-up had removed it, leaving a partial blob behind.
    const handle = await open(target, 'wx');
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
        handle.createWriteStream(),
      );
    } catch (error) {
      await handle.close().catch(() => {});
      await rm(target, { force: true });
      throw error;
    }
    const now = new Date().toISOString();
    const { file, previous } = this.account.write(() => {
      const previous = this.file(path);
      const file: LocalFile = { kind: 'system', size, created: previous?.created ?? now, modified: now, blob };
      this.saveFile(path, file);
      return { file, previous };
    });
    await this.dropBlob(previous?.blob);
    return file;
  }

  readSystem(file: LocalFile, range?: { start: number; end: number }): Readable {
    if (!file.blob) throw new DriveError('not-found', 'no local content');
    return createReadStream(join(this.dir, 'blobs', file.blob), range ? { start: range.start, end: range.end } : {});
  }

  async removeFile(path: string): Promise<void> {
    const previous = this.account.write(() => {
      const previous = this.file(path);
      if (previous) this.sql.removeFile.run(path);
      return previous;
    });
    await this.dropBlob(previous?.blob);
  }

  // ---- dead properties -----------------------------------------------------------------------

  properties(path: string): DeadProperty[] {
    const row = this.sql.properties.get(path) as { properties: string } | undefined;
    return row ? (JSON.parse(row.properties) as DeadProperty[]) : [];
  }

  /**
   * Dead properties of `folder` and everything inside it, by stored path (one query; the total is
   * bounded by the account's dead-property limit).
   */
  propertiesWithin(folder: string): Map<string, DeadProperty[]> {
    const found = new Map<string, DeadProperty[]>();
    for (const row of this.sql.propertiesWithin.all({ from: folder }) as Array<{ path: string; properties: string }>) {
      found.set(row.path, JSON.parse(row.properties) as DeadProperty[]);
    }
    return found;
  }

  /** Bytes of every resource's dead properties (as `resourceBytes` counts them), for the account's limit. */
  deadPropertyBytes(): number {
    let total = 0;
    for (const row of this.account.db.prepare('SELECT properties FROM dead_properties').iterate() as Iterable<{ properties: string }>) {
      total += resourceBytes(JSON.parse(row.properties) as DeadProperty[]);
    }
    return total;
  }

  /** Applies every patch in order; all or nothing (one transaction). */
  async patchProperties(path: string, patches: readonly PropertyPatch[]): Promise<void> {
    this.account.write(() => {
      const current = new Map(this.properties(path).map((p) => [`${p.namespace} ${p.name}`, p]));
      for (const patch of patches) {
        if (patch.op === 'set') current.set(`${patch.property.namespace} ${patch.property.name}`, patch.property);
        else current.delete(`${patch.namespace} ${patch.name}`);
      }
      if (current.size === 0) this.sql.removeProperties.run(path);
      else this.sql.putProperties.run(path, JSON.stringify([...current.values()]));
    });
  }

  // ---- tree operations (MOVE, COPY, DELETE) --------------------------------------------------

  async moveTree(from: string, to: string): Promise<void> {
    const replaced = this.account.write(() => {
      const blobs = this.removeTreeEntries(to);
      this.sql.moveFilesWithin.run({ from, to });
      this.sql.movePropertiesWithin.run({ from, to });
      return blobs;
    });
    await Promise.all(replaced.map((blob) => this.dropBlob(blob)));
  }

  async copyTree(from: string, to: string, depth: 0 | 'infinity'): Promise<void> {
    const inCopy = (path: string) => depth === 'infinity' || path === from;
    const files = (this.sql.filesWithin.all({ from }) as FileRow[]).filter((row) => inCopy(row.path));
    // Blobs are copied first, outside the transaction; the records then point at the copies.
    const copies: Array<[string, LocalFile]> = [];
    for (const row of files) {
      const file = toFile(row);
      if (file.blob) {
        const blob = randomUUID();
        await copyFile(join(this.dir, 'blobs', file.blob), join(this.dir, 'blobs', blob));
        file.blob = blob;
      }
      copies.push([to + row.path.slice(from.length), file]);
    }
    const replaced = this.account.write(() => {
      const blobs = this.removeTreeEntries(to);
      for (const [path, file] of copies) this.saveFile(path, file);
      for (const row of this.sql.propertiesWithin.all({ from }) as Array<{ path: string; properties: string }>) {
        if (inCopy(row.path)) this.sql.putProperties.run(to + row.path.slice(from.length), row.properties);
      }
      return blobs;
    });
    await Promise.all(replaced.map((blob) => this.dropBlob(blob)));
  }

  async removeTree(path: string): Promise<void> {
    const blobs = this.account.write(() => this.removeTreeEntries(path));
    await Promise.all(blobs.map((blob) => this.dropBlob(blob)));
  }

  /** Every change is durable when its method resolves; kept for callers that wait for it. */
  async flush(): Promise<void> {}

  /** Closes the database when this state opened it. */
  close(): void {
    if (this.ownsDb) this.account.close();
  }

  private saveFile(path: string, file: LocalFile): void {
    this.sql.putFile.run(path, file.kind, file.size, file.created, file.modified, file.blob ?? null);
  }

  /** Drops the records under `path` (inside the caller's transaction); returns their blobs. */
  private removeTreeEntries(path: string): string[] {
    const blobs = (this.sql.filesWithin.all({ from: path }) as FileRow[]).map((row) => row.blob).filter((blob): blob is string => !!blob);
    this.sql.removeFilesWithin.run({ from: path });
    this.sql.removePropertiesWithin.run({ from: path });
    return blobs;
  }

  private async dropBlob(blob: string | undefined): Promise<void> {
    if (blob) await rm(join(this.dir, 'blobs', blob), { force: true });
  }

  /** Imports `state.json` of an earlier version once (records already present are kept). */
  private async importLegacy(): Promise<void> {
    const legacy = join(this.dir, LEGACY_FILE);
    let parsed: { version?: unknown; files?: Record<string, LocalFile>; properties?: Record<string, DeadProperty[]> };
    try {
      parsed = JSON.parse(await readFile(legacy, 'utf8')) as typeof parsed;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new Error(`cannot read the local state ${legacy}: ${(error as Error).message}`);
    }
    if (parsed.version !== 1) throw new Error(`the local state ${legacy} has an unknown version; move it away to start afresh`);
    const db = this.account.db;
    const insertFile = db.prepare('INSERT OR IGNORE INTO local_files (path, kind, size, created, modified, blob) VALUES (?, ?, ?, ?, ?, ?)');
    const insertProps = db.prepare('INSERT OR IGNORE INTO dead_properties (path, properties) VALUES (?, ?)');
    this.account.write(() => {
      for (const [path, f] of Object.entries(parsed.files ?? {})) insertFile.run(path, f.kind, f.size, f.created, f.modified, f.blob ?? null);
      for (const [path, props] of Object.entries(parsed.properties ?? {})) if (props.length > 0) insertProps.run(path, JSON.stringify(props));
    });
    this.writes += 1;
    // Another process may have imported and renamed it first.
    await rename(legacy, `${legacy}.imported`).catch(() => {});
  }
}
