/**
 * String comparison whose duration does not depend on where the strings differ. Both sides are
 * hashed first, so `timingSafeEqual` always compares two equal-length digests (it throws on
 * unequal lengths, and comparing raw lengths would leak the secret's length).
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export function constantTimeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}
