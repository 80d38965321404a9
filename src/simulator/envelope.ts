/**
 * JSON answers the way api.1fichier.com sends them: `application/json; charset=utf-8`, `Server:
 * nginx`, top-level keys in a random order (clients must not depend on it), `pretty:1` honoured.
 */
import type { ServerResponse } from 'node:http';

export interface JsonStyle {
  pretty: boolean;
  shuffle: boolean;
}

function shuffled(obj: Record<string, unknown>): Record<string, unknown> {
  const keys = Object.keys(obj);
  for (let i = keys.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = obj[k];
  return out;
}

export function jsonBody(obj: unknown, style: JsonStyle): string {
  const value = style.shuffle && obj && typeof obj === 'object' && !Array.isArray(obj) ? shuffled(obj as Record<string, unknown>) : obj;
  return style.pretty ? JSON.stringify(value, null, 4) + '\n' : JSON.stringify(value);
}

export function sendJson(res: ServerResponse, status: number, obj: unknown, style: JsonStyle): void {
  const body = jsonBody(obj, style);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    Server: 'nginx',
  });
  res.end(body);
}

export function ko(message: string): { status: 'KO'; message: string } {
  return { status: 'KO', message };
}

/** The `#n` code of a message, for stats and logs. */
export function codeOf(message: string): number | undefined {
  const m = /#(\d{1,3})/.exec(message);
  return m ? Number(m[1]) : undefined;
}
