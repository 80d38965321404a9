/**
 * The backup errors the CLI turns into usage errors (exit code 2), in a module of their own so the
 * commands can test for them without loading tar, zstd and age at start-up (every command would pay).
 */

/** A problem with the sources given. */
export class SourceError extends Error {
  override readonly name = 'SourceError';
}

/** A problem with the key material (missing, unreadable, malformed, or not the backup's key). */
export class KeyError extends Error {
  override readonly name = 'KeyError';
}
