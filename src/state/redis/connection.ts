/**
 * One bridge's connection to the Redis server that several bridges of one account share
 * (`--redis-url`), and what the rest of the bridge needs to know about it: whether it is up.
 *
 * - Commands fail at once while the connection is down (no offline queue): a caller that needs
 *   Redis (a lock, a claim) must learn it now and fall back, not hang.
 * - ioredis reconnects by itself (back-off up to 2 s), so recovery needs nothing from us.
 * - The loss and the recovery are logged once each, not once per failed command, and shown in
 *   readiness and metrics through `RedisHealth`.
 * - Every key of the account lives under one prefix: `fichier-dav:<account>:`, so several
 *   accounts (or a test per account) can share one Redis server.
 */
import { Redis, type RedisOptions } from 'ioredis';

export interface RedisLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

export interface RedisLinkOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://` for TLS. */
  url: string;
  /** Names the account's keys (the API key's fingerprint: never the key itself). */
  account: string;
  logger?: RedisLogger;
  /** ms a command may take before it counts as failed (a hung server). Default 2 000. */
  commandTimeoutMs?: number;
}

/** Thrown for a `--redis-url` that is not a Redis URL. */
export class RedisUrlError extends Error {
  override readonly name = 'RedisUrlError';
}

/** Checks the URL's shape: `redis://` or `rediss://`, a host. Throws RedisUrlError. */
export function parseRedisUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RedisUrlError(`--redis-url "${redactUrl(url)}" is not a URL: give redis://host:6379 (or rediss:// for TLS)`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new RedisUrlError(`--redis-url must start with redis:// or rediss://, not ${parsed.protocol}//`);
  }
  if (!parsed.hostname) throw new RedisUrlError('--redis-url has no host: give redis://host:6379');
  return parsed;
}

/** The URL without its password (for logs and error messages). */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^/@]*):([^/@]*)@/, '//$1:***@');
}

/** Up/down state of the shared Redis, for readiness, metrics and the fall-backs. */
export class RedisHealth {
  private up = false;
  private downSince: number | undefined = Date.now();
  private everUp = false;
  /** How many times the connection was lost (for metrics). */
  outages = 0;
  private readonly listeners = new Set<(up: boolean) => void>();

  isUp(): boolean {
    return this.up;
  }

  /** Wall-clock ms since when Redis is unreachable; undefined while it is up. */
  unreachableSince(): number | undefined {
    return this.downSince;
  }

  onChange(listener: (up: boolean) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reports a state; returns true when it changed. */
  set(up: boolean): boolean {
    if (up === this.up) return false;
    this.up = up;
    if (up) {
      this.everUp = true;
      this.downSince = undefined;
    } else {
      this.downSince = Date.now();
      if (this.everUp) this.outages += 1;
    }
    for (const listener of this.listeners) listener(up);
    return true;
  }
}

/** The command connection, its subscriber twin, the key prefix and the health they report. */
export class RedisLink {
  readonly client: Redis;
  readonly health = new RedisHealth();
  /** `fichier-dav:<account>:` */
  readonly prefix: string;
  private subscriberConnection: Redis | undefined;
  private closed = false;

  constructor(private readonly options: RedisLinkOptions) {
    parseRedisUrl(options.url);
    this.prefix = `fichier-dav:${options.account}:`;
    this.client = new Redis(options.url, this.connectionOptions());
    const shown = redactUrl(options.url);
    this.client.on('ready', () => {
      if (this.health.set(true)) options.logger?.info('redis: connected; budget, locks and caches are shared', { url: shown });
    });
    const down = (error?: Error): void => {
      if (this.closed) return;
      if (this.health.set(false)) {
        options.logger?.warn('redis: unreachable; serving reads from caches, refusing locked writes (503), pacing API calls alone', {
          url: shown,
          ...(error ? { error: error.message } : {}),
        });
      }
    };
    this.client.on('error', (error: Error) => down(error));
    this.client.on('close', () => down());
    this.client.on('end', () => down());
  }

  private connectionOptions(): RedisOptions {
    return {
      // A caller needing Redis must learn at once that it is down, not queue behind a reconnect.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.options.commandTimeoutMs ?? 2_000,
      connectTimeout: 2_000,
      retryStrategy: (times: number) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
      // Reconnects are ours to pace; never give up on a server that comes back.
      reconnectOnError: () => true,
    };
  }

  /** A second connection for SUBSCRIBE (a subscribed connection cannot send other commands). */
  subscriber(): Redis {
    this.subscriberConnection ??= new Redis(this.options.url, { ...this.connectionOptions(), enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.subscriberConnection.on('error', () => {}); // reported once by the command connection
    return this.subscriberConnection;
  }

  key(name: string): string {
    return this.prefix + name;
  }

  /** Resolves once connected, or rejects after `timeoutMs` (the bridge still starts: see fall-backs). */
  async waitUntilUp(timeoutMs: number): Promise<boolean> {
    if (this.health.isUp()) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => (stop(), resolve(false)), timeoutMs);
      const stop = this.health.onChange((up) => {
        if (!up) return;
        clearTimeout(timer);
        stop();
        resolve(true);
      });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client.disconnect();
    this.subscriberConnection?.disconnect();
  }
}
