/**
 * Turns whatever a command hit into a CliError: one message that names the problem and the fix,
 * and the exit code of exit-codes.ts. The client's typed errors come either directly (info,
 * remote-*) or through the drive as DriveErrors, whose class the last failed upstream call tells.
 */
import { DriveError } from '../../drive/types.js';
import {
  AccountLockedError,
  ApiUrlError,
  AuthError,
  FichierError,
  FloodError,
  IntegrityError,
  NotFoundError,
  NotPremiumError,
  PasswordLockoutError,
  TransientError,
  UnreachableError,
} from '../../fichier/index.js';
import { IdentifyCooldownError } from '../../state/location.js';
import { ApiKeyError } from '../api-key.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { BAD_KEY_MESSAGE, badKeyMessage, describeKeyRefusal, KEY_CHECK_ERRORS, NOT_PREMIUM_MESSAGE, notPremiumMessage, PASSWORD_LOCKOUT_MESSAGE } from '../key-check.js';
import type { FichierLogEvent } from '../../fichier/index.js';

export { BAD_KEY_MESSAGE, badKeyMessage, NOT_PREMIUM_MESSAGE, notPremiumMessage };

export function notFoundMessage(path: string): string {
  return `no such file or folder: ${path} (run \`fichier-dav ls ${parentForHint(path)}\` to see what exists)`;
}

function parentForHint(path: string): string {
  const cut = path.lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}

export interface ErrorContext {
  lastFailure?: FichierLogEvent;
  cooldownSeconds?: number;
  /** Where the API key came from, for the refused-key message (default FICHIER_API_KEY). */
  keySource?: string;
  /** Seconds to wait when a flood is known but no cool-down is running (nominal 30 s × time scale). */
  defaultRetrySeconds?: number;
}

function floodError(context: ErrorContext): CliError {
  const seconds = context.cooldownSeconds || context.defaultRetrySeconds || 30;
  return new CliError(`1fichier is rate-limiting this account; retry in ${seconds} s`, ExitCode.unavailable);
}

function fromFichierError(error: FichierError, context: ErrorContext): CliError {
  const said = error.serverMessage ? ` (1fichier said: ${error.serverMessage})` : '';
  if (error instanceof FloodError) return floodError(context);
  if (error instanceof NotPremiumError || error instanceof AuthError) return new CliError(describeKeyRefusal(error, context.keySource), ExitCode.auth);
  if (error instanceof AccountLockedError) {
    return new CliError(
      `1fichier locked the account${said}: log in on 1fichier.com to see why; fichier-dav sends nothing for this account for 5 minutes, then retry`,
      ExitCode.unavailable,
    );
  }
  if (error instanceof UnreachableError) return new CliError(error.message, ExitCode.unavailable);
  if (error instanceof ApiUrlError) return new CliError(error.message, ExitCode.usage);
  if (error instanceof TransientError) {
    return new CliError(`1fichier is unreachable or failing (${error.message}); retry later`, ExitCode.unavailable);
  }
  if (error instanceof NotFoundError) return new CliError(`1fichier has no such resource${said}`, ExitCode.notFound);
  if (error instanceof IntegrityError) return new CliError(`${error.message}; run the command again`, ExitCode.failed);
  return new CliError(`1fichier refused the operation: ${error.message}`, ExitCode.failed);
}

function fromDriveError(error: DriveError, context: ErrorContext, path?: string): CliError {
  const last = context.lastFailure?.errorName;
  const flooded = last === 'FloodError' || (context.cooldownSeconds ?? 0) > 0;
  if (flooded && (error.code === 'unavailable' || error.code === 'upstream')) return floodError(context);
  if (last && KEY_CHECK_ERRORS.has(last)) {
    if (error.code === 'upstream' || error.code === 'unavailable') {
      const message = last === PasswordLockoutError.name ? PASSWORD_LOCKOUT_MESSAGE : last === NotPremiumError.name ? notPremiumMessage(context.keySource) : badKeyMessage(context.keySource);
      return new CliError(message, ExitCode.auth);
    }
  }
  if (last === UnreachableError.name && (error.code === 'upstream' || error.code === 'unavailable')) return new CliError(error.message, ExitCode.unavailable);
  if (last === ApiUrlError.name && error.code === 'upstream') return new CliError(error.message, ExitCode.usage);
  switch (error.code) {
    case 'not-found':
      return new CliError(path ? notFoundMessage(path) : `${error.message} (run \`fichier-dav ls /\` to see what exists)`, ExitCode.notFound);
    case 'conflict':
      return new CliError(`${error.message} (create it first with \`fichier-dav mkdir -p\`, or add -p)`, ExitCode.notFound);
    case 'unavailable':
      return new CliError(`${error.message}; retry in ${error.retryAfterSeconds ?? 30} s`, ExitCode.unavailable);
    case 'exists':
      return new CliError(`${error.message} (add --force to replace it)`, ExitCode.failed);
    case 'bad-request':
      return new CliError(error.message, ExitCode.usage);
    default:
      return new CliError(error.message, ExitCode.failed);
  }
}

/** Any error → CliError. `path` is the remote path the command was working on, for the not-found hint. */
export function toCliError(error: unknown, context: ErrorContext = {}, path?: string): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof IdentifyCooldownError) return new CliError(error.message, ExitCode.unavailable);
  if (error instanceof ApiKeyError) return new CliError(error.message, ExitCode.usage);
  if (error instanceof FichierError) return fromFichierError(error, context);
  if (error instanceof DriveError) return fromDriveError(error, context, path);
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
    const where = (error as NodeJS.ErrnoException).path;
    const local = where ? ` ${where}` : '';
    if (code === 'ENOENT') return new CliError(`no such local file or folder:${local}`, ExitCode.failed);
    if (code === 'EACCES' || code === 'EPERM') return new CliError(`permission denied on the local path${local}`, ExitCode.failed);
    if (code === 'ENOSPC') return new CliError(`the local disk is full${local}`, ExitCode.failed);
    return new CliError(`local file error ${code}${local}: ${(error as Error).message}`, ExitCode.failed);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new CliError(`unexpected error: ${message}`, ExitCode.failed);
}
