/**
 * What to tell the user when 1fichier refuses the API key, one message per cause, shared by
 * `serve` (at start and in its log) and the account CLI.
 */
import { AuthError, NotPremiumError, PasswordLockoutError } from '../fichier/index.js';

/** Error names (as upstream log events carry them) that mean "the key is refused". */
export const KEY_CHECK_ERRORS: ReadonlySet<string> = new Set([AuthError.name, NotPremiumError.name, PasswordLockoutError.name]);

export const BAD_KEY_MESSAGE = '1fichier refused the API key: check FICHIER_API_KEY (premium account required)';
export const NOT_PREMIUM_MESSAGE =
  '1fichier refused the API key: it belongs to a free account, and the API needs a premium one (check FICHIER_API_KEY)';
export const PASSWORD_LOCKOUT_MESSAGE =
  "1fichier refused the account (#93: no such user, or the account is locked after failed password attempts): check the API key; if it is right, reset the account's password on 1fichier.com, then restart. fichier-dav never retries this answer, since each try could extend the lockout";

/** The message for a refused key (AuthError, NotPremiumError, PasswordLockoutError). */
export function describeKeyRefusal(error: AuthError | NotPremiumError): string {
  if (error instanceof PasswordLockoutError) return PASSWORD_LOCKOUT_MESSAGE;
  if (error instanceof NotPremiumError) return NOT_PREMIUM_MESSAGE;
  return BAD_KEY_MESSAGE;
}
