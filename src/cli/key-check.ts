/**
 * What to tell the user when 1fichier refuses the API key, one message per cause, shared by
 * `serve` (at start and in its log) and the account CLI.
 */
import { AuthError, NotPremiumError, PasswordLockoutError } from '../fichier/index.js';

/** Error names (as upstream log events carry them) that mean "the key is refused". */
export const KEY_CHECK_ERRORS: ReadonlySet<string> = new Set([AuthError.name, NotPremiumError.name, PasswordLockoutError.name]);

/** `source` names where the key came from ("FICHIER_API_KEY", or "the key file /path"), so the fix points at it. */
export function badKeyMessage(source = 'FICHIER_API_KEY'): string {
  return `1fichier refused the API key: check ${source} (premium account required)`;
}

export function notPremiumMessage(source = 'FICHIER_API_KEY'): string {
  return `1fichier refused the API key: it belongs to a free account, and the API needs a premium one (check ${source})`;
}

export const BAD_KEY_MESSAGE = badKeyMessage();
export const NOT_PREMIUM_MESSAGE = notPremiumMessage();
export const PASSWORD_LOCKOUT_MESSAGE =
  "1fichier refused the account (#93: no such user, or the account is locked after failed password attempts): check the API key; if it is right, reset the account's password on 1fichier.com, then restart. fichier-dav never retries this answer, since each try could extend the lockout";

/** The message for a refused key (AuthError, NotPremiumError, PasswordLockoutError). */
export function describeKeyRefusal(error: AuthError | NotPremiumError, source?: string): string {
  if (error instanceof PasswordLockoutError) return PASSWORD_LOCKOUT_MESSAGE;
  if (error instanceof NotPremiumError) return notPremiumMessage(source);
  return badKeyMessage(source);
}
