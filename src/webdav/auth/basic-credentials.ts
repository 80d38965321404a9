/**
 * Parsing an `Authorization: Basic` header (RFC 7617). The credentials are any characters: the
 * password may hold ':' (only the first ':' separates the user), non-ASCII text arrives as UTF-8
 * (we announce charset="UTF-8"), and the base64 may carry '+' and '/'. Old clients that send
 * latin1 are still understood when the bytes are not valid UTF-8.
 */

export interface BasicCredentials {
  user: string;
  password: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** The credentials of a Basic header; undefined when absent, not Basic, or malformed. */
export function parseBasicAuthorization(header: string | undefined): BasicCredentials | undefined {
  if (!header) return undefined;
  const match = /^\s*basic\s+(\S+)\s*$/i.exec(header);
  if (!match) return undefined;
  const encoded = match[1];
  if (!BASE64.test(encoded) || encoded.length % 4 === 1 || encoded.length > 8192) return undefined;
  const bytes = Buffer.from(encoded, 'base64');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    text = bytes.toString('latin1');
  }
  const colon = text.indexOf(':');
  if (colon === -1) return undefined;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The header value a client would send for these credentials (UTF-8). */
export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}
