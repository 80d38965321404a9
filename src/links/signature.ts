/**
 * Link signatures: HMAC-SHA256 (RFC 2104) over a payload that names what the link grants, with
 * the account's link secret (secret.ts). The full 256-bit tag, base64url (RFC 4648 §5), 43
 * characters: it cannot be guessed, and a signature for one payload says nothing about another.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The base64url HMAC-SHA256 of `payload` (UTF-8) under `secret`. */
export function signLink(secret: Buffer, payload: string): string {
  return createHmac('sha256', secret).update(payload, 'utf8').digest('base64url');
}

/** Whether `signature` is `payload`'s, compared in constant time (no timing hint on how close a guess is). */
export function verifyLink(secret: Buffer, payload: string, signature: string): boolean {
  if (typeof signature !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(signature)) return false;
  const expected = Buffer.from(signLink(secret, payload), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
