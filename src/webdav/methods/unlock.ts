/**
 * UNLOCK (RFC 4918 §9.11): removes the lock named by the Lock-Token header. The Request-URI must
 * lie inside that lock's scope; a token that names no live lock, or a lock elsewhere, is 409 with
 * the lock-token-matches-request-uri precondition (§9.11.1). A missing or malformed header is 400.
 * Only the principal that created the lock may remove it: another user gets 403 (§6.4, §9.11.1).
 * A locked empty resource created by LOCK stays after UNLOCK (RFC 4918 §7.3, unlike 2518).
 */
import { HttpError } from '../errors.js';
import type { MethodHandler } from '../handler.js';
import { lockManagerOf } from './lock.js';

/** The token inside a Lock-Token header (`<Coded-URL>`, surrounding whitespace allowed). */
export function parseLockTokenHeader(value: string | undefined): string {
  if (value === undefined) throw new HttpError(400, 'UNLOCK needs a Lock-Token header');
  const m = /^\s*<([^<>\s]+)>\s*$/.exec(value);
  if (!m || !/^[A-Za-z][A-Za-z0-9+.-]*:./.test(m[1])) {
    throw new HttpError(400, 'Lock-Token must be a Coded-URL in angle brackets, e.g. <urn:uuid:…>');
  }
  return m[1];
}

export const unlock: MethodHandler = async (ctx) => {
  const manager = lockManagerOf(ctx);
  const token = parseLockTokenHeader(ctx.header('lock-token'));
  if (ctx.header('if') !== undefined) await ctx.checkPreconditions([]);
  const result = await manager.unlock(ctx.path, token, ctx.principal);
  if (result === 'not-owner') {
    // RFC 4918 §9.11.1: 403 when the authenticated principal may not remove the lock (§6.4).
    throw new HttpError(403, 'This lock belongs to another user');
  }
  if (result !== 'unlocked') {
    throw new HttpError(409, result === 'no-such-lock' ? 'No such lock' : 'The lock does not cover this resource', {
      condition: 'lock-token-matches-request-uri',
    });
  }
  ctx.send(204);
};
