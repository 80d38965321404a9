/**
 * Structured logs: JSON lines when stderr is not a terminal (for journald, Docker, log shippers),
 * human-readable lines on a terminal. Secrets are scrubbed by the same redactor as the bridge's
 * (redacting-logger.ts), so no caller has to remember.
 */
import { pino, type Logger as PinoLogger } from 'pino';
import pretty from 'pino-pretty';
import type { Logger } from '../webdav/handler.js';
import { redactor } from './redacting-logger.js';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'json' | 'pretty' | 'auto';

export interface LoggingOptions {
  level?: LogLevel;
  format?: LogFormat;
  /** Values that must never be printed (the API key, Basic passwords). */
  secrets?: Array<string | undefined>;
  /** Environment read for NO_COLOR (https://no-color.org); default process.env. */
  env?: NodeJS.ProcessEnv;
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

/** Colour only on a terminal, and never when NO_COLOR is set to a non-empty value (no-color.org). */
export function colorAllowed(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(stream.isTTY) && !env.NO_COLOR;
}

export function createLogger(options: LoggingOptions = {}): AppLogger {
  const destination = options.destination ?? process.stderr;
  const format = options.format ?? 'auto';
  const usePretty = format === 'pretty' || (format === 'auto' && Boolean(destination.isTTY));
  const stream = usePretty
    ? pretty({ destination, colorize: colorAllowed(destination, options.env), translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', sync: true })
    : destination;
  const base = pino({ level: options.level ?? 'info', base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, stream);
  const scrub = redactor(options.secrets ?? []);
  const emit = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (fields) base[level](scrub(fields) as Record<string, unknown>, scrub(message) as string);
    else base[level](scrub(message) as string);
  };
  return { error: emit('error'), warn: emit('warn'), info: emit('info'), debug: emit('debug'), pino: base };
}
