/**
 * Cross-bridge cache changes over Redis pub/sub: every folder-cache patch made by a write on one
 * bridge (a file stored or removed, a folder made or removed) is published, and every other bridge
 * of the account applies it to its own folder cache (and drops the link cache's entry of a removed
 * file). A PUT on bridge A is then in a PROPFIND on bridge B at once, without B listing the folder
 * again (which 1fichier would allow only once per 30 s, and whose answer may lag behind the write).
 *
 * Messages carry a sequence number (INCR, in the same script as the PUBLISH, so numbers follow the
 * order of publication). `catchUp()` waits until this bridge has received every message published
 * before the call: a write on B that takes the path lock after A's write released it first
 * catches up, so B resolves the path with A's file in its cache, never beside it.
 *
 * Pub/sub loses messages while a bridge is disconnected: on reconnection a bridge cannot know what
 * it missed, so `onResync` is called (the bridge then drops its cached listings).
 */
import { randomBytes } from 'node:crypto';
import type { FolderPatch } from '../../drive/folder-cache.js';
import { defineScripts } from './budget-store.js';
import type { RedisLink } from './connection.js';
import { reviveFile, reviveFolder } from './shared-listings.js';

const SCRIPTS = {
  /** KEYS: sequence. ARGV: channel, body. Publishes `<seq>|<body>`; → seq. */
  cacheBusPublish: {
    keys: 1,
    lua: `
local seq = redis.call('INCR', KEYS[1])
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
  /** Messages may have been missed (the subscription was down): drop what could be stale. */
  onResync?: () => void;
  /** Longest wait of `catchUp` for messages in transit (ms). Default 2 000. */
  catchUpMs?: number;
}

/** Dates travel as ISO strings; back to Date on arrival. */
function revive(patch: FolderPatch): FolderPatch {
  if (patch.op === 'addFile') return { ...patch, file: reviveFile(patch.file) };
  if (patch.op === 'addFolder') return { ...patch, folder: reviveFolder(patch.folder) };
  return patch;
}

export class CacheBus {
  private readonly id = randomBytes(8).toString('hex');
  private readonly channel: string;
  private readonly seqKey: string;
  private readonly run;
  private seen = 0;
  private readonly waiters = new Set<() => void>();
  private subscribed = false;
  /** Messages received from other bridges (for metrics and tests). */
  received = 0;

  constructor(
    private readonly link: RedisLink,
    private readonly options: CacheBusOptions,
  ) {
    this.channel = link.key('cache');
    this.seqKey = link.key('cache-seq');
    this.run = defineScripts(link.client, SCRIPTS);
    const subscriber = link.subscriber();
    subscriber.on('message', (channel: string, text: string) => {
      if (channel === this.channel) this.receive(text);
    });
    subscriber.on('ready', () => {
      subscriber.subscribe(this.channel).then(
        () => {
          // Anything published while we were not subscribed is lost to us.
          if (this.subscribed) this.options.onResync?.();
          this.subscribed = true;
          return this.link.client.get(this.seqKey).then((seq) => (this.seen = Math.max(this.seen, Number(seq ?? 0))));
        },
        () => {},
      ).catch(() => {});
    });
  }

  private receive(text: string): void {
    const bar = text.indexOf('|');
    const seq = Number(text.slice(0, bar));
    if (seq > this.seen) this.seen = seq;
    try {
      const message = JSON.parse(text.slice(bar + 1)) as Message;
      if (message.from !== this.id) {
        this.received += 1;
        this.options.apply(revive(message.patch));
      }
    } finally {
      for (const wake of this.waiters) wake();
    }
  }

  /** Publishes one of our changes. Best effort: a lost message only delays B until its cache expires. */
  publish(patch: FolderPatch): void {
    const body = JSON.stringify({ from: this.id, patch } satisfies Message);
    this.run.cacheBusPublish(this.seqKey, this.channel, body).catch(() => {});
  }

  /** Resolves once every change published before this call has been applied here (or after `catchUpMs`). */
  async catchUp(): Promise<void> {
    let target: number;
    try {
      target = Number((await this.link.client.get(this.seqKey)) ?? 0);
    } catch {
      return;
    }
    const deadline = Date.now() + (this.options.catchUpMs ?? 2_000);
    while (this.seen < target && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, Math.max(1, deadline - Date.now()));
        this.waiters.add(done);
      });
    }
  }
}
