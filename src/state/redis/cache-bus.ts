/**
 * Cross-bridge cache changes over Redis: every folder-cache patch made by a write on one bridge
 * (a file stored or removed, a folder made or removed) is published, and every other bridge of
 * the account applies it to its own folder cache (and drops the link cache's entry of a removed
 * file). A PUT on bridge A is then in a PROPFIND on bridge B at once, without B listing the folder
 * again (which 1fichier would allow only once per 30 s, and whose answer may lag behind the write).
 *
 * Each change gets a sequence number (INCR) and is written, in one script, to a Redis Stream
 * (`cache-log`, entry id `<seq>-0`, trimmed to about `keep` entries) and to a pub/sub channel:
 *
 * - pub/sub delivers it at once; a message is applied when it is the next one expected (`seen + 1`);
 * - anything else (a gap: messages lost while the subscription was down, or one overtaken) makes
 *   the bridge read what it missed from the stream, from its last seen number, and apply it in order;
 * - when the stream no longer holds the first missing change (trimmed, or Redis restarted empty),
 *   what was missed is unknown: `onGap` is called and the bridge drops its folder caches, so the
 *   next read lists again within the budget instead of serving a listing that misses a write.
 *
 * `catchUp()` reads the stream up to now: a write on B that takes the path lock after A's write
 * released it first applies A's change before planning, so B resolves the path with A's file in
 * its cache, never beside it.
 */
import { randomBytes } from 'node:crypto';
import type { FolderPatch } from '../../drive/folder-cache.js';
import { defineScripts } from './budget-store.js';
import type { RedisLink } from './connection.js';
import { reviveFile, reviveFolder } from './shared-listings.js';

const SCRIPTS = {
  /** KEYS: sequence, stream. ARGV: channel, body, keep. Appends `<seq>-0` and publishes `<seq>|<body>`; → seq. */
  cacheBusPublish: {
    keys: 2,
    lua: `
local seq = redis.call('INCR', KEYS[1])
local added = redis.pcall('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], seq .. '-0', 'm', ARGV[2])
if type(added) == 'table' and added.err then
  -- The log is ahead of the counter (the counter alone was lost): start the log again; readers
  -- behind it find their next change missing and drop their caches.
  redis.call('DEL', KEYS[2])
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], seq .. '-0', 'm', ARGV[2])
end
redis.call('PUBLISH', ARGV[1], seq .. '|' .. ARGV[2])
return tostring(seq)
`,
  },
} as const;

interface Message {
  from: string;
  patch: FolderPatch;
}

export interface CacheBusOptions {
  /** Applies another bridge's change. */
  apply: (patch: FolderPatch) => void;
  /** Changes were missed and cannot be read back: drop every cached listing they may affect. */
  onGap?: (why: string) => void;
  /** Changes kept in the stream for bridges that were away (about). Default 10 000. */
  keep?: number;
}

/** Dates travel as ISO strings; back to Date on arrival. */
function revive(patch: FolderPatch): FolderPatch {
  if (patch.op === 'addFile') return { ...patch, file: reviveFile(patch.file) };
  if (patch.op === 'addFolder') return { ...patch, folder: reviveFolder(patch.folder) };
  return patch;
}

type StreamEntries = [id: string, fields: string[]][];

export class CacheBus {
  private readonly id = randomBytes(8).toString('hex');
  private readonly channel: string;
  private readonly seqKey: string;
  private readonly streamKey: string;
  private readonly run;
  private readonly keep: number;
  /** The last change applied here (or known to be before our time); undefined before the first subscription. */
  private seen: number | undefined;
  /** One read of the stream at a time, in order. */
  private reading: Promise<void> = Promise.resolve();
  private readonly pending = new Set<Promise<unknown>>();
  /** Messages received from other bridges (for metrics and tests). */
  received = 0;
  /** Changes read back from the stream after a gap (for metrics and tests). */
  replayed = 0;
  /** Gaps that could not be read back (caches dropped). */
  gaps = 0;

  constructor(
    private readonly link: RedisLink,
    private readonly options: CacheBusOptions,
  ) {
    this.channel = link.key('cache');
    this.seqKey = link.key('cache-seq');
    this.streamKey = link.key('cache-log');
    this.keep = options.keep ?? 10_000;
    this.run = defineScripts(link.client, SCRIPTS);
    const subscriber = link.subscriber();
    subscriber.on('message', (channel: string, text: string) => {
      if (channel === this.channel) this.receive(text);
    });
    subscriber.on('ready', () => {
      subscriber.subscribe(this.channel).then(
        // Subscribed again: whatever was published while we were away is read from the stream.
        () => this.readMissed(),
        () => {},
      );
    });
    // The stream is read on the command connection, which may come back after the subscriber.
    link.health.onChange((up) => {
      if (up) void this.readMissed();
    });
  }

  private receive(text: string): void {
    const bar = text.indexOf('|');
    const seq = Number(text.slice(0, bar));
    if (this.seen === undefined) return; // not started: the first read sets the starting point
    if (seq <= this.seen) return; // already applied (read from the stream)
    if (seq === this.seen + 1) {
      this.deliver(seq, text.slice(bar + 1));
      return;
    }
    // One or more messages before this one never arrived: read them in order from the stream.
    void this.readMissed();
  }

  private deliver(seq: number, body: string): void {
    this.seen = seq;
    let message: Message;
    try {
      message = JSON.parse(body) as Message;
    } catch {
      return;
    }
    if (message.from === this.id) return;
    this.received += 1;
    this.options.apply(revive(message.patch));
  }

  /** Reads (in order, once at a time) every change after `seen` from the stream. Never rejects. */
  readMissed(): Promise<void> {
    const next = this.reading.then(() => this.readOnce()).catch(() => {});
    this.reading = next;
    return next;
  }

  private async readOnce(): Promise<void> {
    const current = Number((await this.link.client.get(this.seqKey)) ?? 0);
    if (this.seen === undefined) {
      // First subscription: what was published before we started is already in what we will list.
      this.seen = current;
      return;
    }
    if (current < this.seen) {
      // The counter went back: Redis restarted empty, and the changes published since are unknown.
      this.gap(`the change log restarted at ${current} after ${this.seen}`);
      this.seen = current;
      return;
    }
    while (this.seen < current) {
      const from = this.seen + 1;
      const entries = (await this.link.client.xrange(this.streamKey, `${from}-0`, `${current}-0`, 'COUNT', 500)) as StreamEntries;
      const first = entries[0] ? Number(entries[0][0].split('-')[0]) : undefined;
      if (this.seen >= from) continue; // pub/sub delivered it while we were reading: read on from there
      if (first !== from) {
        // Trimmed away (or never written): what we missed is unknown.
        this.gap(`changes ${from} to ${first === undefined ? current : first - 1} are no longer kept`);
        this.seen = current;
        return;
      }
      for (const [id, fields] of entries) {
        const seq = Number(id.split('-')[0]);
        if (seq <= this.seen) continue; // pub/sub delivered it while we were reading
        if (seq !== this.seen + 1) {
          this.gap(`change ${this.seen + 1} is missing from the log`);
          this.seen = current;
          return;
        }
        const body = fields[fields.indexOf('m') + 1] ?? '';
        const before = this.received;
        this.deliver(seq, body);
        if (this.received > before) this.replayed += 1;
      }
    }
  }

  private gap(why: string): void {
    this.gaps += 1;
    this.options.onGap?.(why);
  }

  /** Publishes one of our changes. Best effort: a lost one only delays B until its cache expires. */
  publish(patch: FolderPatch): void {
    const body = JSON.stringify({ from: this.id, patch } satisfies Message);
    const sent = this.run.cacheBusPublish(this.seqKey, this.streamKey, this.channel, body, this.keep).catch(() => {});
    this.pending.add(sent);
    void sent.finally(() => this.pending.delete(sent));
  }

  /** Resolves once our published changes have reached Redis (or failed): a command flushes before it exits. */
  async flush(): Promise<void> {
    await Promise.all([...this.pending]);
  }

  /** Resolves once every change published before this call has been applied here. */
  async catchUp(): Promise<void> {
    await this.readMissed();
  }
}
