/**
 * A logger wrapper that removes secrets (the API key) from every message and field, however they
 * got there: an upstream message echoing the key, a user typing the key as a login name, an
 * error whose text quotes a URL. The bridge wraps whatever logger it is given with it.
 */
import type { Logger } from '../webdav/handler.js';

export function redactingLogger(inner: Logger, secrets: Array<string | undefined>): Logger {
  const list = secrets.filter((secret): secret is string => typeof secret === 'string' && secret.length >= 4);
  if (list.length === 0) return inner;
  const scrub = (text: string): string => {
    let out = text;
    for (const secret of list) out = out.split(secret).join('[redacted]');
    return out;
  };
  const scrubValue = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') return scrub(value);
    if (value instanceof Error) return scrub(value.stack ?? `${value.name}: ${value.message}`);
    if (depth > 4 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((item) => scrubValue(item, depth + 1));
    return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([key, item]) => [key, scrubValue(item, depth + 1)]));
  };
  const wrap =
    (emit: Logger['info']): Logger['info'] =>
    (message, fields) =>
      emit(scrub(message), fields === undefined ? undefined : (scrubValue(fields, 0) as Record<string, unknown>));
  return { info: wrap(inner.info.bind(inner)), warn: wrap(inner.warn.bind(inner)), error: wrap(inner.error.bind(inner)) };
}
