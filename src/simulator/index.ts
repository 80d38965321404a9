/**
 * startSimulator(): a faithful local fake of 1fichier (docs/simulator.md describes its hosts,
 * endpoints, options and faults). Imports nothing from the client code on purpose.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { apiEndpointOf, handleApi } from './api/router.js';
import { Clock } from './clock.js';
import { MemoryContent, SyntheticContent, type ContentSource } from './content.js';
import { contentTypeOf, type SimContext } from './context.js';
import { handleControl, type ControlSurface } from './control.js';
import { handleDownload } from './download-host.js';
import { runExchange } from './exchange.js';
import { FaultState, type Faults } from './faults.js';
import { loadFixture } from './fixtures.js';
import { fileIdFromUrl } from './ids.js';
import type { FloodRecord } from './flood-log.js';
import { Limits } from './limits.js';
import { resolveOptions, validateOptions, type SimOptions } from './options.js';
import { closeServer, listen, loadTls, portOf } from './server.js';
import { Stats, type LogEntry, type StatsSnapshot } from './stats.js';
import { Store } from './store.js';
import { handleUploadNode, uploadEndpointOf } from './upload-node.js';

export type { SimOptions } from './options.js';
export type { Faults, FailureRule, SlowRule } from './faults.js';
export type { LogEntry, StatsSnapshot } from './stats.js';
export { describeFlood, type CountedCall, type FloodRecord } from './flood-log.js';
export { DEFAULT_OPTIONS, FIXTURE_NAMES, type FixtureName } from './options.js';

export interface StartOptions extends Partial<SimOptions> {
  /** Faults active from the start. */
  faults?: Faults;
}

/** What `stats()` and `GET /__sim/stats` answer. */
export type SimStatsSnapshot = StatsSnapshot & { locked: string[]; floodLog: FloodRecord[] };

export interface AddFileInput {
  folderId?: number;
  name: string;
  content?: Buffer | string;
  synthetic?: { size: number; seed: number };
  contentType?: string;
  /** Upload date (defaults to now). */
  date?: Date | number;
  /** File password (get_token then needs `pass`). */
  pass?: string;
}

export interface Simulator {
  readonly apiUrl: string;
  readonly apiOrigin: string;
  readonly uploadHosts: string[];
  readonly downloadHost: string;
  readonly apiKey: string;
  options(): SimOptions;
  setFaults(faults: Faults | Record<string, unknown>): Faults;
  clearFaults(): void;
  faults(): Faults;
  setOptions(patch: Partial<SimOptions>): SimOptions;
  /** Counters, the key's flood-locked categories, and every flood answer given (`floodLog`, see flood-log.ts). */
  stats(): SimStatsSnapshot;
  /** Every flood answer given since the last reset, with the calls that decided it. */
  floodLog(): FloodRecord[];
  log(): LogEntry[];
  reset(): void;
  /** Moves the simulated clock forward (expires tokens, windows, locks, end.pl reports). */
  advanceClock(ms: number): void;
  addFolder(input: { parentId?: number; name: string; date?: Date | number }): Promise<number>;
  addFile(input: AddFileInput): Promise<string>;
  /** The file's true bytes; optionally only [start, end] inclusive. */
  contentOf(url: string, start?: number, end?: number): Readable;
  close(): Promise<void>;
}

function hostLiteral(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function publicHostOf(opts: SimOptions): string {
  if (opts.publicHost) return opts.publicHost;
  if (opts.host === '0.0.0.0' || opts.host === '::' || opts.host === '') return '127.0.0.1';
  return opts.host;
}

function secretFree(opts: SimOptions): Record<string, unknown> {
  const { apiKey: _a, freeApiKey: _f, tlsKey: _k, tlsCert: _c, ...rest } = opts;
  return { ...rest, tls: opts.tlsCert !== undefined };
}

export async function startSimulator(input: StartOptions = {}): Promise<Simulator> {
  const { faults: initialFaults, ...optionInput } = input;
  const opts = resolveOptions(optionInput);
  const tls = loadTls(opts.tlsCert, opts.tlsKey);
  const ownDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'fichier-dav-sim-')));
  if (!ownDataDir) await mkdir(dataDir, { recursive: true });

  const clock = new Clock(opts.timeScale);
  const faults = new FaultState();
  if (initialFaults) faults.set(initialFaults);
  const ctx: SimContext = {
    opts,
    clock,
    store: new Store(clock.now()),
    limits: new Limits(clock, () => ctx.opts),
    faults,
    stats: new Stats(() => clock.now()),
    dataDir,
    addresses: { scheme: tls ? 'https' : 'http', apiOrigin: '', uploadHosts: [], downloadHost: '' },
    uploads: new Map(),
    tokens: new Map(),
    activeDownloads: new Map(),
    line: { freeAt: 0 },
    remoteJobs: new Map(),
    nextNode: 0,
    background: new Set(),
  };

  const surface: ControlSurface = {
    stats: (): SimStatsSnapshot => ({ ...ctx.stats.snapshot(), locked: ctx.limits.lockedCategories(`key:${ctx.opts.apiKey}`), floodLog: ctx.limits.floods.list() }),
    log: () => ctx.stats.log(),
    reset: () => {
      ctx.stats.reset();
      ctx.limits.reset();
    },
    faults: () => ctx.faults.current,
    setFaults: (patch) => ctx.faults.set(patch),
    clearFaults: () => ctx.faults.clear(),
    publicOptions: () => secretFree(ctx.opts),
    setOptions: (patch) => {
      const checked = validateOptions(patch, true);
      ctx.opts = { ...ctx.opts, ...checked };
      if (checked.timeScale !== undefined) clock.setTimeScale(checked.timeScale);
      return secretFree(ctx.opts);
    },
    advanceClock: (ms) => clock.advance(ms),
  };

  const onApi = (req: IncomingMessage, res: ServerResponse): void => {
    const pathname = new URL(req.url ?? '/', 'http://sim.invalid').pathname;
    if (pathname.startsWith('/__sim/')) {
      handleControl(surface, req, res, pathname).catch(() => {
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
      return;
    }
    void runExchange(ctx, 'api', 'api', apiEndpointOf(pathname), req, res, handleApi);
  };
  const onUpload = (index: number) => (req: IncomingMessage, res: ServerResponse): void => {
    const pathname = new URL(req.url ?? '/', 'http://sim.invalid').pathname;
    void runExchange(ctx, 'upload', `up${index + 1}`, uploadEndpointOf(pathname), req, res, (x) => handleUploadNode(x, index));
  };
  const onDownload = (req: IncomingMessage, res: ServerResponse): void => {
    void runExchange(ctx, 'download', 'download', 'download', req, res, handleDownload);
  };

  const servers: Server[] = [];
  const port = (offset: number): number => (opts.port === 0 ? 0 : opts.port + offset);
  try {
    servers.push(await listen(onApi, opts.host, port(0), tls));
    for (let i = 0; i < opts.uploadNodes; i++) servers.push(await listen(onUpload(i), opts.host, port(1 + i), tls));
    servers.push(await listen(onDownload, opts.host, port(1 + opts.uploadNodes), tls));
  } catch (err) {
    await Promise.all(servers.map(closeServer));
    if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    throw err;
  }

  const pub = hostLiteral(publicHostOf(opts));
  const scheme = ctx.addresses.scheme;
  ctx.addresses.apiOrigin = `${scheme}://${pub}:${portOf(servers[0]!)}`;
  ctx.addresses.uploadHosts = servers.slice(1, 1 + opts.uploadNodes).map((s) => `${pub}:${portOf(s)}`);
  ctx.addresses.downloadHost = `${pub}:${portOf(servers[servers.length - 1]!)}`;

  await loadFixture(ctx, opts.fixture);

  let closed = false;
  const sim: Simulator = {
    apiUrl: `${ctx.addresses.apiOrigin}/v1`,
    apiOrigin: ctx.addresses.apiOrigin,
    uploadHosts: [...ctx.addresses.uploadHosts],
    downloadHost: ctx.addresses.downloadHost,
    apiKey: opts.apiKey,
    options: () => ({ ...ctx.opts }),
    setFaults: (f) => ctx.faults.set(f),
    clearFaults: () => ctx.faults.clear(),
    faults: () => ctx.faults.current,
    setOptions: (patch) => {
      surface.setOptions(patch as Record<string, unknown>);
      return { ...ctx.opts };
    },
    stats: () => surface.stats() as SimStatsSnapshot,
    floodLog: () => ctx.limits.floods.list(),
    log: () => ctx.stats.log(),
    reset: () => surface.reset(),
    advanceClock: (ms) => clock.advance(ms),
    async addFolder({ parentId = 0, name, date }) {
      if (!ctx.store.folder(parentId)) throw new Error(`addFolder: no folder ${parentId}`);
      const at = date === undefined ? clock.now() : +date;
      return ctx.store.addFolder(parentId, name, at).id;
    },
    async addFile({ folderId = 0, name, content, synthetic, contentType, date, pass }) {
      if (!ctx.store.folder(folderId)) throw new Error(`addFile: no folder ${folderId}`);
      let source: ContentSource;
      if (synthetic) source = await SyntheticContent.of(synthetic.size, synthetic.seed);
      else if (content !== undefined) source = await MemoryContent.of(Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8'));
      else throw new Error('addFile: give content or synthetic');
      const at = date === undefined ? clock.now() : +date;
      const rec = ctx.store.addFile({ name, folderId, content: source, contentType: contentType ?? contentTypeOf(name), now: at, visibleAt: at });
      if (pass) rec.pass = pass;
      return rec.url;
    },
    contentOf(url, start, end) {
      const id = fileIdFromUrl(url);
      const f = id ? ctx.store.files.get(id) : undefined;
      if (!f) throw new Error(`contentOf: no file ${url}`);
      return f.content.read(start, end);
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(servers.map(closeServer));
      await Promise.race([Promise.allSettled([...ctx.background]), new Promise((r) => setTimeout(r, 2000).unref())]);
      ctx.store.clear();
      if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return sim;
}
