/**
 * Structured logs: JSON lines when stderr is not a terminal (for journald, Docker, log shippers),
 * human-readable lines on a terminal. One place redacts secrets, so no caller has to remember:
 * known secret values (the API key, passwords) are replaced wherever they appear in a message or
 * field, and fields named like credentials are censored outright.
 */
import { pino, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';
import type { Logger } from '../webdav/handler.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'json' | 'pretty' | 'auto';

export interface LoggingOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Values that must never be printed (the API key, Basic passwords). */
  secrets?: Array<string | undefined>;
  /** Where lines go; default stderr. */
  destination?: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface AppLogger extends Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  readonly pino: PinoLogger;
}

const LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

export function parseLogLevel(value: string): LogLevel {
  if ((LEVELS as readonly string[]).includes(value)) return value as LogLevel;
  throw new Error(`log level must be one of ${LEVELS.join(', ')} (got "${value}")`);
}

export function parseLogFormat(value: string): LogFormat {
  if (value === 'json' || value === 'pretty' || value === 'auto') return value;
  throw new Error(`log format must be json, pretty or auto (got "${value}")`);
}

/** Replaces every occurrence of each secret (longest first) in strings, recursively. */
export function redactor(secrets: Array<string | undefined>): (value: unknown) => unknown {
  const list = secrets.filter((secret): secret is string => typeof secret === 'string' && secret.length >= 4);
  list.sort((a, b) => b.length - a.length);
  const scrub = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') {
      let out = value;
      for (const secret of list) out = out.split(secret).join('[redacted]');
      return out;
    }
    if (depth > 5 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
    if (value instanceof Error) return scrub({ name: value.name, message: value.message, stack: value.stack }, depth + 1);
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = /^(authorization|password|pass|apikey|api_key|apiKey|cookie)$/i.test(key) ? '[redacted]' : scrub(item, depth + 1);
    }
    return out;
  };
  return (value) => scrub(value, 0);
}

export function createLogger(options: LoggingOptions = {}): AppLogger {
  const destination = options.destination ?? process.stderr;
  const format = options.format ?? 'auto';
  const usePretty = format === 'pretty' || (format === 'auto' && Boolean(destination.isTTY));
  const stream = usePretty
    ? pretty({ destination, colorize: Boolean(destination.isTTY), translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true })
    : destination;
  const base = pino({ level: options.level ?? 'info', base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, stream);
  const scrub = redactor(options.secrets ?? []);
  const emit = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (fields) base[level](scrub(fields) as Record<string, unknown>, scrub(message) as string);
    else base[level](scrub(message) as string);
  };
  return { error: emit('error'), warn: emit('warn'), info: emit('info'), debug: emit('debug'), pino: base };
}
