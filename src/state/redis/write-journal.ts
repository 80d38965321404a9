/**
 * The write journal shared by every bridge of an account (`--redis-url`; the contract is
 * `WriteJournal` in src/drive/write-journal.ts). A bridge that dies mid-write leaves its intent
 * records here, and another bridge (or the same one restarted) settles each one, exactly once.
 *
 * - Records live in one hash, `journal` (id → JSON `{ intent, startedAt }`), their owners in
 *   another, `journal-owners` (id → owner id); ids come from INCR `journal-id`. Each change is acknowledged by Redis before the drive's next upstream step.
 * - Each bridge process has an owner id and an owner lease, `journal-owner:<id>` (SET PX), renewed
 *   every third of `leaseMs` while it lives. A record whose owner's lease is gone is an orphan.
 * - A record changes owner only through one Lua script that compares its current owner (a
 *   compare-and-set), so of two bridges claiming one record exactly one wins; updates and finishes
 *   are done only by the current owner (another's are refused), so a bridge that lost a record
 *   (taken over while it stalled) cannot overwrite its settlement.
 * - Who claims: any bridge that takes the path lock (RedisPathLocks) of a record's paths takes the
 *   record over before writing those paths (`claimOverlapping`), so a new write never plans
 *   against a half-done one, whether its owner is dead or just waiting for a retry (the path
 *   lock orders the two); and a periodic sweep claims the orphans nobody writes over
 *   (`claimOrphans`). Settling itself is idempotent (it looks at the account, then finishes or
 *   undoes the remaining steps), so a claimer that dies in turn is simply replaced.
 *
 * Durability is Redis's: run it with appendonly (AOF) for the journal to survive a Redis restart.
 */
import { randomBytes } from 'node:crypto';
import { DriveError } from '../../drive/types.js';
import { intentPaths, type JournalRecord, type WriteIntent, type WriteJournal } from '../../drive/write-journal.js';
import { defineScripts } from './budget-store.js';
import type { RedisLink } from './connection.js';

// Owners live in their own hash so that no script ever decodes and re-encodes a record (Redis's
// cjson turns an empty array into an object).
const SCRIPTS = {
  /** KEYS: records hash, owners hash. ARGV: id, json, owner → '1', or '0' when the record is not ours (or gone). */
  journalUpdate: {
    keys: 2,
    lua: `
if redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[3] then return '0' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return '1'
`,
  },
  /** KEYS: records hash, owners hash. ARGV: id, owner → removes the record when ours ('0' when another's). */
  journalFinish: {
    keys: 2,
    lua: `
local owner = redis.call('HGET', KEYS[2], ARGV[1])
if not owner then return '1' end
if owner ~= ARGV[2] then return '0' end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
return '1'
`,
  },
  /**
   * KEYS: owners hash. ARGV: id, expected owner, new owner, lease key prefix, 'orphan' or 'any'.
   * → '1' once the record is ours, '0' (gone, changed owner meanwhile, or its owner lives).
   */
  journalClaim: {
    keys: 1,
    lua: `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return '0' end
if ARGV[5] == 'orphan' and redis.call('EXISTS', ARGV[4] .. ARGV[2]) == 1 then return '0' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return '1'
`,
  },
} as const;

interface StoredRecord {
  intent: WriteIntent;
  startedAt: number;
}

export interface RedisWriteJournalOptions {
  /** Owner lease (ms), renewed every third of it. Default 15 000 (as the path locks'). */
  leaseMs?: number;
  now?: () => number;
}

export class RedisWriteJournal implements WriteJournal {
  /** This process's owner id. */
  readonly owner = randomBytes(9).toString('base64url');
  private readonly run;
  private readonly hashKey: string;
  private readonly ownersKey: string;
  private readonly idKey: string;
  private readonly leasePrefix: string;
  private readonly leaseMs: number;
  private readonly now: () => number;
  private renewer: ReturnType<typeof setInterval> | undefined;
  private leased: Promise<void> | undefined;
  /** `health.outages` when `leased` was taken: a lease taken before an outage may be gone with Redis. */
  private leasedBefore = 0;

  constructor(
    private readonly link: RedisLink,
    options: RedisWriteJournalOptions = {},
  ) {
    this.run = defineScripts(link.client, SCRIPTS);
    this.hashKey = link.key('journal');
    this.ownersKey = link.key('journal-owners');
    this.idKey = link.key('journal-id');
    this.leasePrefix = link.key('journal-owner:');
    this.leaseMs = options.leaseMs ?? 15_000;
    this.now = options.now ?? Date.now;
    // Back from an outage: a Redis that restarted empty lost our lease, and until it is taken
    // again the other bridges' sweeps take our live writes for a dead bridge's (and settle them
    // under us). Take it now rather than at the next renewal.
    link.health.onChange((up) => {
      if (up && this.renewer) void this.lease().catch(() => {});
    });
  }

  /**
   * Takes this process's owner lease and keeps renewing it (idempotent); taken again before the
   * next record after an outage (Redis may have come back empty: a record begun before the next
   * renewal would look orphaned).
   */
  private lease(): Promise<void> {
    const take = () => this.link.client.set(this.leasePrefix + this.owner, String(this.now()), 'PX', this.leaseMs).then(() => undefined);
    if (!this.renewer) {
      this.renewer = setInterval(() => void take().catch(() => {}), Math.max(50, Math.floor(this.leaseMs / 3)));
      this.renewer.unref();
    }
    if (this.leased && this.leasedBefore !== this.link.health.outages) this.leased = undefined;
    if (!this.leased) {
      this.leasedBefore = this.link.health.outages;
      this.leased = take().catch((error: unknown) => {
        this.leased = undefined;
        throw error;
      });
    }
    return this.leased;
  }

  async begin(intent: WriteIntent): Promise<number> {
    return this.guard(async () => {
      await this.lease();
      const id = Number(await this.link.client.incr(this.idKey));
      const record: StoredRecord = { intent, startedAt: this.now() };
      // One MULTI: the record never exists without its owner.
      await this.link.client.multi().hset(this.ownersKey, String(id), this.owner).hset(this.hashKey, String(id), JSON.stringify(record)).exec();
      return id;
    });
  }

  async update(id: number, intent: WriteIntent): Promise<void> {
    await this.guard(async () => {
      const current = await this.link.client.hget(this.hashKey, String(id));
      if (!current) throw lost(id);
      const record = JSON.parse(current) as StoredRecord;
      const ok = await this.run.journalUpdate(this.hashKey, this.ownersKey, String(id), JSON.stringify({ ...record, intent }), this.owner);
      if (String(ok) !== '1') throw lost(id);
    });
  }

  async finish(id: number): Promise<void> {
    await this.guard(() => this.run.journalFinish(this.hashKey, this.ownersKey, String(id), this.owner));
  }

  /** The records this process owns (its own writes, and those it claimed), oldest first. */
  async pending(): Promise<JournalRecord[]> {
    return (await this.all()).filter(({ owner }) => owner === this.owner).map(({ record }) => record);
  }

  /**
   * Takes over every record whose paths overlap `paths` (the caller holds their path lock, so no
   * live write of another bridge is running on them). Resolves with the records claimed.
   */
  async claimOverlapping(paths: readonly string[], overlaps: (a: string, b: string) => boolean): Promise<JournalRecord[]> {
    const candidates = (await this.all()).filter(
      ({ owner, record }) => owner !== this.owner && intentPaths(record.intent).some((held) => paths.some((path) => overlaps(held, path))),
    );
    return this.claim(candidates, 'any');
  }

  /** Claims the records of owners whose lease ran out (a bridge that died). */
  async claimOrphans(): Promise<JournalRecord[]> {
    return this.claim((await this.all()).filter(({ owner }) => owner !== this.owner), 'orphan');
  }

  /** Stops renewing the lease (shutdown): records left are claimed by others once it runs out. */
  close(): void {
    if (this.renewer) clearInterval(this.renewer);
    this.renewer = undefined;
  }

  private async claim(candidates: Array<{ record: JournalRecord; owner: string }>, mode: 'any' | 'orphan'): Promise<JournalRecord[]> {
    if (candidates.length === 0) return [];
    await this.guard(() => this.lease());
    const claimed: JournalRecord[] = [];
    for (const { record, owner } of candidates) {
      const won = String(await this.guard(() => this.run.journalClaim(this.ownersKey, String(record.id), owner, this.owner, this.leasePrefix, mode)));
      if (won === '1') claimed.push(record);
    }
    return claimed;
  }

  private async all(): Promise<Array<{ record: JournalRecord; owner: string }>> {
    const [rows, owners] = await this.guard(() => Promise.all([this.link.client.hgetall(this.hashKey), this.link.client.hgetall(this.ownersKey)]));
    return Object.entries(rows)
      .filter(([id]) => owners[id] !== undefined)
      .map(([id, text]) => {
        const stored = JSON.parse(text) as StoredRecord;
        return { record: { id: Number(id), intent: stored.intent, startedAt: stored.startedAt }, owner: owners[id]! };
      })
      .sort((a, b) => a.record.id - b.record.id);
  }

  /** Redis unreachable: the write is refused (503) rather than run without its journal. */
  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof DriveError) throw error;
      throw new DriveError('unavailable', `the shared write journal (Redis) is unreachable: ${(error as Error).message}`, 10);
    }
  }
}

function lost(id: number): DriveError {
  return new DriveError('unavailable', `write journal record ${id} was taken over by another bridge`, 10);
}
