/**
 * A plain stderr logger for the server commands: one line per event, `key=value` fields.
 * Secrets never reach it: the client redacts the key before it reports anything.
 */
import type { Logger } from '../webdav/handler.js';

export type LogLevel = 'error' | 'warn' | 'info';

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2 };

export function consoleLogger(level: LogLevel = 'warn', write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const emit = (at: LogLevel, message: string, fields?: Record<string, unknown>) => {
    if (RANK[at] > RANK[level]) return;
    const parts = Object.entries(fields ?? {})
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${typeof value === 'string' ? JSON.stringify(value) : String(value)}`);
    write(`${new Date().toISOString()} ${at} ${message}${parts.length ? ' ' + parts.join(' ') : ''}\n`);
  };
  return {
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
  };
}

export function parseLogLevel(value: string): LogLevel {
  if (value === 'error' || value === 'warn' || value === 'info') return value;
  throw new Error(`--log-level must be error, warn or info (got "${value}")`);
}
