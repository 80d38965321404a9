/**
 * A complete in-memory `Drive`: folders and files in a tree, mtime/ctime, an etag that changes with
 * every content change, dead properties carried by move/copy and dropped by delete, quota, and the
 * error codes of the Drive contract (types.ts). It lets the WebDAV layer be tested — and litmus be
 * run — without 1fichier. Reads honour ranges and abort signals like the real drive must.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  DriveError,
  type CopyOptions,
  type DeadProperty,
  type Drive,
  type DriveEntry,
  type FileById,
  type PropertyPatch,
  type Quota,
  type ReadOptions,
  type TransferOptions,
  type TransferResult,
  type WriteOptions,
  type WriteResult,
} from './types.js';

interface FileNode {
  kind: 'file';
  /** Stable across renames and moves (as a 1fichier file's URL); a copy or an overwrite gets a new one. */
  id: string;
  data: Buffer;
  contentType?: string;
  modified: Date;
  created: Date;
  etag: string;
  props: Map<string, DeadProperty>;
}

interface FolderNode {
  kind: 'folder';
  children: Map<string, Node>;
  modified: Date;
  created: Date;
  etag: string;
  props: Map<string, DeadProperty>;
}

type Node = FileNode | FolderNode;

export interface MemoryDriveOptions {
  /** Total space in bytes (quota). Default 100 GiB. */
  capacityBytes?: number;
  /** Clock, injectable for tests. */
  now?: () => Date;
  /** When set, `directUrl` exists and answers `${directUrlBase}${encoded path}`. */
  directUrlBase?: string;
  /** Size of the chunks read streams emit (bytes). Default 64 KiB. */
  chunkSize?: number;
}

const propKey = (namespace: string, name: string) => `${namespace}\n${name}`;

export class MemoryDrive implements Drive {
  private readonly root: FolderNode;
  private readonly capacity: number;
  private readonly now: () => Date;
  private readonly chunkSize: number;
  private generation = 0;
  directUrl?: (path: string, signal?: AbortSignal) => Promise<string>;

  constructor(options: MemoryDriveOptions = {}) {
    this.capacity = options.capacityBytes ?? 100 * 1024 ** 3;
    this.now = options.now ?? (() => new Date());
    this.chunkSize = options.chunkSize ?? 64 * 1024;
    this.root = this.newFolder();
    const base = options.directUrlBase;
    if (base !== undefined) {
      this.directUrl = async (path) => {
        if (this.resolve(path).kind !== 'file') throw new DriveError('is-a-folder', 'Folders have no direct URL');
        return base + path.split('/').map(encodeURIComponent).join('/');
      };
    }
  }

  // ---- reading -------------------------------------------------------------------------------

  async stat(path: string): Promise<DriveEntry> {
    return this.entry(baseName(path), this.resolve(path));
  }

  async list(path: string): Promise<DriveEntry[]> {
    const node = this.resolve(path);
    if (node.kind !== 'folder') throw new DriveError('not-a-folder', `${path} is not a folder`);
    return [...node.children].map(([name, child]) => this.entry(name, child));
  }

  async read(path: string, options: ReadOptions = {}): Promise<Readable> {
    const node = this.resolve(path);
    if (node.kind !== 'file') throw new DriveError('is-a-folder', `${path} is a folder`);
    if (options.signal?.aborted) throw new DriveError('unavailable', 'Read aborted before it started');
    let data = node.data;
    if (options.range) {
      const { start, end } = options.range;
      if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start || end >= data.length) {
        throw new DriveError('bad-request', `Range ${start}-${end} is outside the file (${data.length} bytes)`);
      }
      data = data.subarray(start, end + 1);
    }
    const chunkSize = this.chunkSize;
    const signal = options.signal;
    let offset = 0;
    const stream = new Readable({
      read() {
        if (offset >= data.length) {
          this.push(null);
          return;
        }
        const chunk = data.subarray(offset, Math.min(offset + chunkSize, data.length));
        offset += chunk.length;
        this.push(chunk);
      },
    });
    if (signal) {
      const onAbort = () => stream.destroy(new DriveError('unavailable', 'Read aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
      stream.once('close', () => signal.removeEventListener('abort', onAbort));
    }
    return stream;
  }

  // ---- by id -----------------------------------------------------------------------------------

  async fileId(path: string): Promise<string> {
    const node = this.resolve(path);
    if (node.kind !== 'file') throw new DriveError('is-a-folder', `${path} is a folder`);
    return node.id;
  }

  async statById(id: string): Promise<FileById> {
    const found = this.findById(id);
    return { ...this.entry(baseName(found.path), found.node), path: found.path };
  }

  async readById(id: string, options: ReadOptions = {}): Promise<Readable> {
    return this.read(this.findById(id).path, options);
  }

  async directUrlById(id: string, signal?: AbortSignal): Promise<string> {
    if (!this.directUrl) throw new DriveError('not-found', 'this drive has no direct links');
    return this.directUrl(this.findById(id).path, signal);
  }

  private findById(id: string): { node: FileNode; path: string } {
    const walk = (folder: FolderNode, path: string): { node: FileNode; path: string } | undefined => {
      for (const [name, child] of folder.children) {
        const childPath = `${path}/${name}`;
        if (child.kind === 'file' && child.id === id) return { node: child, path: childPath };
        if (child.kind === 'folder') {
          const found = walk(child, childPath);
          if (found) return found;
        }
      }
      return undefined;
    };
    const found = walk(this.root, '');
    if (!found) throw new DriveError('not-found', 'no file has this id');
    return found;
  }

  // ---- writing -------------------------------------------------------------------------------

  async write(path: string, body: Readable, options: WriteOptions = {}): Promise<WriteResult> {
    const { parent, name } = this.parentOf(path);
    const existing = parent.children.get(name);
    if (existing?.kind === 'folder') throw new DriveError('is-a-folder', `${path} is a folder`);
    const data = await collect(body, options.signal);
    if (options.size !== undefined && data.length !== options.size) {
      throw new DriveError('bad-request', `Body is ${data.length} bytes, ${options.size} were announced`);
    }
    if (this.usedBytes() - (existing?.data.length ?? 0) + data.length > this.capacity) {
      throw new DriveError('insufficient-storage', 'Not enough space left');
    }
    // Re-resolve: the tree may have changed while the body streamed in.
    const target = this.parentOf(path);
    const current = target.parent.children.get(name);
    if (current?.kind === 'folder') throw new DriveError('is-a-folder', `${path} is a folder`);
    const now = this.now();
    const node: FileNode = {
      kind: 'file',
      id: newFileId(),
      data,
      contentType: options.contentType ?? current?.contentType,
      modified: now,
      created: current?.created ?? now,
      etag: this.nextEtag(data.length),
      props: current?.props ?? new Map(),
    };
    target.parent.children.set(name, node);
    this.touch(target.parent);
    return { created: current === undefined, entry: this.entry(name, node) };
  }

  async mkdir(path: string): Promise<DriveEntry> {
    const { parent, name } = this.parentOf(path);
    if (parent.children.has(name)) throw new DriveError('exists', `${path} already exists`);
    const folder = this.newFolder();
    parent.children.set(name, folder);
    this.touch(parent);
    return this.entry(name, folder);
  }

  async remove(path: string): Promise<void> {
    if (normalize(path) === '/') throw new DriveError('forbidden', 'The root cannot be removed');
    const { parent, name } = this.parentOf(path);
    if (!parent.children.delete(name)) throw new DriveError('not-found', `${path} does not exist`);
    this.touch(parent);
  }

  async move(from: string, to: string, options: TransferOptions): Promise<TransferResult> {
    const { source, destParent, destName, existed } = this.prepareTransfer(from, to, options.overwrite);
    const src = this.parentOf(from);
    src.parent.children.delete(src.name);
    destParent.children.set(destName, source);
    this.touch(src.parent);
    this.touch(destParent);
    return { created: !existed };
  }

  async copy(from: string, to: string, options: CopyOptions): Promise<TransferResult> {
    const { source, destParent, destName, existed } = this.prepareTransfer(from, to, options.overwrite);
    const copied = this.clone(source, options.depth);
    const added = sizeOf(copied);
    const replaced = existed ? sizeOf(destParent.children.get(destName) as Node) : 0;
    if (this.usedBytes() - replaced + added > this.capacity) {
      throw new DriveError('insufficient-storage', 'Not enough space left');
    }
    destParent.children.set(destName, copied);
    this.touch(destParent);
    return { created: !existed };
  }

  async quota(): Promise<Quota> {
    const used = this.usedBytes();
    return { usedBytes: used, availableBytes: Math.max(0, this.capacity - used) };
  }

  async getProperties(path: string): Promise<DeadProperty[]> {
    return [...this.resolve(path).props.values()].map((p) => ({ ...p }));
  }

  async patchProperties(path: string, patches: PropertyPatch[]): Promise<void> {
    const node = this.resolve(path);
    const next = new Map(node.props); // applied to a copy, committed at the end: all or nothing
    for (const patch of patches) {
      if (patch.op === 'set') {
        if (!patch.property.name) throw new DriveError('bad-request', 'Property without a name');
        next.set(propKey(patch.property.namespace, patch.property.name), { ...patch.property });
      } else {
        next.delete(propKey(patch.namespace, patch.name));
      }
    }
    node.props = next;
  }

  // ---- internals -----------------------------------------------------------------------------

  private prepareTransfer(from: string, to: string, overwrite: boolean) {
    const source = this.resolve(from);
    const fromPath = normalize(from);
    const toPath = normalize(to);
    if (fromPath === '/' || toPath === '/') throw new DriveError('forbidden', 'The root cannot be moved, copied or replaced');
    if (fromPath === toPath) throw new DriveError('forbidden', 'Source and destination are the same');
    if (toPath.startsWith(fromPath + '/')) throw new DriveError('forbidden', 'Destination is inside the source');
    const { parent: destParent, name: destName } = this.parentOf(toPath);
    const existed = destParent.children.has(destName);
    if (existed && !overwrite) throw new DriveError('exists', `${to} already exists`);
    return { source, destParent, destName, existed };
  }

  private clone(node: Node, depth: 0 | 'infinity'): Node {
    const now = this.now();
    const props = new Map([...node.props].map(([k, v]) => [k, { ...v }]));
    if (node.kind === 'file') {
      return { ...node, id: newFileId(), props, modified: now, created: now, etag: this.nextEtag(node.data.length) };
    }
    const children = new Map<string, Node>();
    if (depth === 'infinity') for (const [name, child] of node.children) children.set(name, this.clone(child, depth));
    return { kind: 'folder', children, props, modified: now, created: now, etag: this.nextEtag(0) };
  }

  private resolve(path: string): Node {
    let node: Node = this.root;
    for (const segment of segments(path)) {
      if (node.kind !== 'folder') throw new DriveError('not-found', `${path} does not exist`);
      const child: Node | undefined = node.children.get(segment);
      if (!child) throw new DriveError('not-found', `${path} does not exist`);
      node = child;
    }
    return node;
  }

  /** The folder that holds `path` (must exist and be a folder: 'conflict' otherwise). */
  private parentOf(path: string): { parent: FolderNode; name: string } {
    const parts = segments(path);
    const name = parts.pop();
    if (name === undefined) throw new DriveError('forbidden', 'The root has no parent');
    let node: Node = this.root;
    for (const segment of parts) {
      const child: Node | undefined = node.kind === 'folder' ? node.children.get(segment) : undefined;
      if (!child || child.kind !== 'folder') throw new DriveError('conflict', `Parent folder of ${path} does not exist`);
      node = child;
    }
    return { parent: node as FolderNode, name };
  }

  private entry(name: string, node: Node): DriveEntry {
    if (node.kind === 'folder') {
      return { name, kind: 'folder', size: 0, modified: node.modified, created: node.created, etag: node.etag };
    }
    return {
      name,
      kind: 'file',
      size: node.data.length,
      modified: node.modified,
      created: node.created,
      etag: node.etag,
      contentType: node.contentType ?? guessType(name),
    };
  }

  private newFolder(): FolderNode {
    const now = this.now();
    return { kind: 'folder', children: new Map(), modified: now, created: now, etag: this.nextEtag(0), props: new Map() };
  }

  private touch(folder: FolderNode): void {
    folder.modified = this.now();
    folder.etag = this.nextEtag(0);
  }

  private nextEtag(size: number): string {
    this.generation += 1;
    return `m${size.toString(16)}-${this.generation.toString(16)}`;
  }

  private usedBytes(): number {
    return sizeOf(this.root);
  }
}

/** 20 lowercase letters and digits, the shape of a 1fichier file id. */
function newFileId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(20)].map((byte) => alphabet[byte % alphabet.length]).join('');
}

function sizeOf(node: Node): number {
  if (node.kind === 'file') return node.data.length;
  let total = 0;
  for (const child of node.children.values()) total += sizeOf(child);
  return total;
}

function segments(path: string): string[] {
  if (typeof path !== 'string' || !path.startsWith('/')) throw new DriveError('bad-request', `Not an absolute path: ${path}`);
  const parts = path.split('/').filter((s) => s !== '');
  if (parts.some((s) => s === '.' || s === '..' || s.includes('\0'))) throw new DriveError('bad-request', `Invalid path: ${path}`);
  return parts;
}

function normalize(path: string): string {
  return '/' + segments(path).join('/');
}

function baseName(path: string): string {
  const parts = segments(path);
  return parts[parts.length - 1] ?? '';
}

async function collect(body: Readable, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  const onAbort = () => body.destroy(new DriveError('unavailable', 'Upload aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) onAbort();
    for await (const chunk of body) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
      chunks.push(buf);
      total += buf.length;
    }
  } catch (error) {
    if (error instanceof DriveError) throw error;
    throw new DriveError('bad-request', `Upload body failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  return Buffer.concat(chunks, total);
}

const TYPES: Record<string, string> = {
  txt: 'text/plain',
  html: 'text/html',
  json: 'application/json',
  xml: 'application/xml',
  png: 'image/png',
  jpg: 'image/jpeg',
  mp4: 'video/mp4',
  mkv: 'video/x-matroska',
  pdf: 'application/pdf',
};

function guessType(name: string): string {
  const dot = name.lastIndexOf('.');
  return (dot > 0 && TYPES[name.slice(dot + 1).toLowerCase()]) || 'application/octet-stream';
}
