/**
 * Secrets never reach a log line: `redactor` replaces every known secret value (the API key,
 * Basic passwords) wherever it appears in a message or field — an upstream message echoing the key,
 * a user typing the key as a login name, an error quoting a URL — and censors fields named like
 * credentials outright. The bridge wraps whatever logger it is given with `redactingLogger`, and the
 * structured logger of the commands (logging.ts) scrubs with the same function.
 */
import type { Logger } from '../webdav/handler.js';

const CREDENTIAL_FIELD = /^(authorization|password|pass|apikey|api_key|cookie)$/i;

/** Secrets shorter than 4 characters are ignored: redacting them would shred ordinary text. */
export function redactor(secrets: Array<string | undefined>): (value: unknown) => unknown {
  const list = secrets.filter((secret): secret is string => typeof secret === 'string' && secret.length >= 4);
  // Longest first, so a secret containing a shorter one is removed whole.
  list.sort((a, b) => b.length - a.length);
  const scrub = (value: unknown, depth: number): unknown => {
    if (typeof value === 'string') {
      let out = value;
      for (const secret of list) out = out.split(secret).join('[redacted]');
      return out;
    }
    if (value instanceof Error) return scrub(value.stack ?? `${value.name}: ${value.message}`, depth);
    if (depth > 5 || value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map((item) => scrub(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = CREDENTIAL_FIELD.test(key) ? '[redacted]' : scrub(item, depth + 1);
    return out;
  };
  return (value) => scrub(value, 0);
}

export function redactingLogger(inner: Logger, secrets: Array<string | undefined>): Logger {
  const scrub = redactor(secrets);
  const wrap =
    (emit: Logger['info']): Logger['info'] =>
    (message, fields) =>
      emit(scrub(message) as string, fields === undefined ? undefined : (scrub(fields) as Record<string, unknown>));
  return { info: wrap(inner.info.bind(inner)), warn: wrap(inner.warn.bind(inner)), error: wrap(inner.error.bind(inner)) };
}
