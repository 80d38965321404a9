/**
 * The account's API budget in Redis, shared by every bridge and CLI process of the account on
 * every machine: the rate bucket, the windows (one listing of a folder per 30 s, all files once
 * per hour, user/info once per 60 s) and the flood cool-down. Same contract as the memory and
 * SQLite stores (src/fichier/budget-store.ts): each state-changing method is ONE Lua script, which
 * Redis runs atomically, so two bridges claiming the last token or the same folder's window at
 * the same instant cannot both win.
 *
 * The arithmetic is the same as `TokenBucket` and `escalateCooldown` (ported to Lua; the unit
 * tests compare them). Numbers cross the script boundary as strings: Redis would truncate a Lua
 * number to an integer, and the bucket holds fractions of a token.
 *
 * Keys (under the account's prefix): `budget:bucket` (hash tokens, last), `budget:cooldown`
 * (hash until, started, level), `budget:window:<key>` (opens-at, wall-clock ms; expires an hour
 * after it opens, so a long-running account does not accumulate one key per folder ever listed).
 */
import type { Redis } from 'ioredis';
import type { BudgetStore, CooldownPolicy, CooldownState, RatePolicy, SendClaim, WindowClaim } from '../../fichier/budget-store.js';
import type { RedisLink } from './connection.js';

/** Window keys outlive their opening by this much (ms): clocks of bridges may differ a little. */
const WINDOW_KEY_SLACK_MS = 3_600_000;

const READ_COOLDOWN = `
local function cooldown(key)
  local c = redis.call('HMGET', key, 'until', 'started', 'level')
  return tonumber(c[1]) or 0, tonumber(c[2]) or 0, tonumber(c[3]) or 0
end
`;

/**
 * The rate bucket refills on Redis's own clock (TIME), not on the callers': a caller's `now` is
 * read before its claim travels (and, on a loaded machine, may wait behind other work), so two
 * processes' claims arrive out of order; refilling from each caller's time would count the
 * overlap twice (moving `last` back, then forward again) and let the account exceed its rate.
 * One clock for every bridge also removes the skew between machines. Windows and the cool-down
 * stay in the callers' wall-clock time, which they compare with their own.
 */
const BUCKET_CLOCK_FN = `
local function bucketClock()
  if ARGV[#ARGV] ~= 'redis' then return tonumber(ARGV[#ARGV]) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
`;

const SCRIPTS = {
  /** KEYS: bucket, cooldown. ARGV: now, ratePerMs, burst, bucket clock. → {waitMs, until, started, level} */
  budgetClaimSend: {
    keys: 2,
    lua: `${READ_COOLDOWN}${BUCKET_CLOCK_FN}
local now, rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local cu, cs, cl = cooldown(KEYS[2])
if now < cu then return {tostring(cu - now), tostring(cu), tostring(cs), tostring(cl)} end
local clock = bucketClock()
local b = redis.call('HMGET', KEYS[1], 'tokens', 'last')
local tokens, last = tonumber(b[1]), tonumber(b[2])
if tokens == nil or last == nil or last > clock then
  tokens, last = math.min(1, tonumber(b[1]) or 1), clock
else
  tokens = math.min(burst, math.max(0, tokens))
end
if clock > last then
  tokens = math.min(burst, tokens + (clock - last) * rate)
  last = clock
end
local wait = 0
if tokens >= 1 - 1e-9 then
  tokens = tokens - 1
else
  wait = math.max(1, math.ceil((1 - tokens) / rate - 1e-6))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'last', tostring(last))
return {tostring(wait), tostring(cu), tostring(cs), tostring(cl)}
`,
  },
  /** KEYS: window. ARGV: now, holdMs, slackMs. → {granted 1|0, until or waitMs, previous} */
  budgetClaimWindow: {
    keys: 1,
    lua: `
local now, hold, slack = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local previous = tonumber(redis.call('GET', KEYS[1])) or 0
if previous > now then return {'0', tostring(previous - now), tostring(previous)} end
local untilAt = now + hold
redis.call('SET', KEYS[1], tostring(untilAt), 'PX', math.floor(hold + slack))
return {'1', tostring(untilAt), tostring(previous)}
`,
  },
  /** KEYS: window. ARGV: at, slackMs. Sets opens-at = max(opens-at, at); the key expires at + slack. */
  budgetExtendWindow: {
    keys: 1,
    lua: `
local at, slack = tonumber(ARGV[1]), tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1])) or 0
if current < at then
  redis.call('SET', KEYS[1], tostring(at), 'PXAT', math.floor(at + slack))
end
return 1
`,
  },
  /** KEYS: window. ARGV: until, previous. Restores previous if the window is still ours. */
  budgetReleaseWindow: {
    keys: 1,
    lua: `
local current = tonumber(redis.call('GET', KEYS[1])) or 0
if current == tonumber(ARGV[1]) then
  if tonumber(ARGV[2]) == 0 then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL') end
end
return 1
`,
  },
  /** KEYS: cooldown, bucket. ARGV: sentAt, now, firstMs, maxMs, resetMs, scale, bucket clock. → {until, started, level} */
  budgetRecordFlood: {
    keys: 2,
    lua: `${READ_COOLDOWN}${BUCKET_CLOCK_FN}
local sentAt, now = tonumber(ARGV[1]), tonumber(ARGV[2])
local first, max, reset, scale = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local cu, cs, cl = cooldown(KEYS[1])
if cl > 0 and sentAt < cs then return {tostring(cu), tostring(cs), tostring(cl)} end
local quiet = now - cu > reset * scale
local level
if cl == 0 or quiet then level = first else level = math.min(cl * 2, max) end
local untilAt = math.max(cu, now + level * scale)
redis.call('HSET', KEYS[1], 'until', tostring(untilAt), 'started', tostring(now), 'level', tostring(level))
redis.call('HSET', KEYS[2], 'tokens', '0', 'last', tostring(bucketClock()))
return {tostring(untilAt), tostring(now), tostring(level)}
`,
  },
  /** KEYS: cooldown. ARGV: until, now. → {until, started, level} */
  budgetHoldUntil: {
    keys: 1,
    lua: `${READ_COOLDOWN}
local untilAt, now = tonumber(ARGV[1]), tonumber(ARGV[2])
local cu, cs, cl = cooldown(KEYS[1])
if untilAt <= cu then return {tostring(cu), tostring(cs), tostring(cl)} end
redis.call('HSET', KEYS[1], 'until', tostring(untilAt), 'started', tostring(now), 'level', tostring(cl))
return {tostring(untilAt), tostring(now), tostring(cl)}
`,
  },
} as const;

type ScriptName = keyof typeof SCRIPTS;
type ScriptRunner = (...args: (string | number)[]) => Promise<unknown>;

/** Registers the scripts once per connection (ioredis sends EVALSHA, loading the script when missing). */
export type { ScriptRunner };
export function defineScripts<N extends string>(client: Redis, scripts: Record<N, { keys: number; lua: string }>): Record<N, ScriptRunner> {
  const runners = {} as Record<N, ScriptRunner>;
  for (const [name, script] of Object.entries(scripts) as [N, { keys: number; lua: string }][]) {
    if (!(name in client)) client.defineCommand(name, { numberOfKeys: script.keys, lua: script.lua });
    const command = (client as unknown as Record<string, ScriptRunner>)[name]!;
    runners[name] = (...args) => command.apply(client, args);
  }
  return runners;
}

function toCooldown(values: string[], offset: number): CooldownState {
  return { until: Number(values[offset]), startedAt: Number(values[offset + 1]), level: Number(values[offset + 2]) };
}

export class RedisBudgetStore implements BudgetStore {
  private readonly run: Record<ScriptName, ScriptRunner>;
  private readonly bucketKey: string;
  private readonly cooldownKey: string;

  /**
   * `callerClock`: refill the bucket on the callers' `now` instead of Redis's TIME (only for
   * comparing the scripts with the memory store on a scripted sequence of times).
   */
  constructor(
    private readonly link: RedisLink,
    private readonly options: { callerClock?: boolean } = {},
  ) {
    this.run = defineScripts(link.client, SCRIPTS);
    this.bucketKey = link.key('budget:bucket');
    this.cooldownKey = link.key('budget:cooldown');
  }

  private bucketClock(now: number): string | number {
    return this.options.callerClock ? now : 'redis';
  }

  private windowKey(key: string): string {
    return this.link.key(`budget:window:${key}`);
  }

  async claimSend(now: number, rate: RatePolicy): Promise<SendClaim> {
    const r = <string[]>await this.run.budgetClaimSend(this.bucketKey, this.cooldownKey, now, rate.ratePerMs, rate.burst, this.bucketClock(now));
    return { waitMs: Number(r[0]), cooldown: toCooldown(r, 1) };
  }

  async windowOpensAt(key: string): Promise<number> {
    return Number((await this.link.client.get(this.windowKey(key))) ?? 0);
  }

  async claimWindow(key: string, now: number, holdMs: number): Promise<WindowClaim> {
    const r = <string[]>await this.run.budgetClaimWindow(this.windowKey(key), now, holdMs, WINDOW_KEY_SLACK_MS);
    return r[0] === '1' ? { granted: true, until: Number(r[1]), previous: Number(r[2]) } : { granted: false, waitMs: Number(r[1]) };
  }

  async extendWindow(key: string, at: number): Promise<void> {
    await this.run.budgetExtendWindow(this.windowKey(key), at, WINDOW_KEY_SLACK_MS);
  }

  async releaseWindow(key: string, claim: { until: number; previous: number }): Promise<void> {
    await this.run.budgetReleaseWindow(this.windowKey(key), claim.until, claim.previous);
  }

  async cooldown(): Promise<CooldownState> {
    const [until, started, level] = await this.link.client.hmget(this.cooldownKey, 'until', 'started', 'level');
    return { until: Number(until ?? 0), startedAt: Number(started ?? 0), level: Number(level ?? 0) };
  }

  async recordFlood(sentAt: number, now: number, policy: CooldownPolicy): Promise<CooldownState> {
    const r = <string[]>await this.run.budgetRecordFlood(this.cooldownKey, this.bucketKey, sentAt, now, policy.firstMs, policy.maxMs, policy.resetMs, policy.scale, this.bucketClock(now));
    return toCooldown(r, 0);
  }

  async holdUntil(until: number, now: number): Promise<CooldownState> {
    return toCooldown(<string[]>await this.run.budgetHoldUntil(this.cooldownKey, until, now), 0);
  }
}
