/** Parsing of the WebDAV request headers Depth and Overwrite (RFC 4918 §10.2, §10.6). */
import { HttpError } from './errors.js';

export type Depth = 0 | 1 | 'infinity';

/** undefined when the header is absent; 400 when it is not 0, 1 or infinity. */
export function parseDepth(value: string | undefined): Depth | undefined {
  if (value === undefined) return undefined;
  const v = value.trim().toLowerCase();
  if (v === '0') return 0;
  if (v === '1') return 1;
  if (v === 'infinity') return 'infinity';
  throw new HttpError(400, `Invalid Depth header: ${value.slice(0, 20)}`);
}

/** Overwrite: T (default) or F. */
export function parseOverwrite(value: string | undefined): boolean {
  if (value === undefined) return true;
  const v = value.trim().toUpperCase();
  if (v === 'T') return true;
  if (v === 'F') return false;
  throw new HttpError(400, 'Invalid Overwrite header');
}
