/**
 * Exit codes of the account commands (and of `serve` for configuration errors), in one place so
 * scripts can rely on them and docs/cli.md can list them. Each failure the CLI reports is a
 * CliError carrying one of these codes and a message that names the problem and the fix.
 */

export const ExitCode = {
  /** Everything asked was done. */
  ok: 0,
  /** The operation failed (refused by 1fichier, integrity check, local file problem, partial failure). */
  failed: 1,
  /** Bad command line, configuration file or missing API key: nothing was sent to 1fichier. */
  usage: 2,
  /** A remote path (or remote-upload request) does not exist. */
  notFound: 3,
  /** 1fichier refused the API key, or the account is not premium. */
  auth: 4,
  /** 1fichier is rate-limiting the account (flood), or is unreachable / answering errors: retry later. */
  unavailable: 5,
  /** backup: another run of the same backup holds its lock. */
  busy: 6,
  /** backup: the uploaded archive failed verification (it was removed). */
  verification: 7,
  /** backup: the backup was made and verified, but removing old backups by the keep rules failed. */
  retention: 8,
  /** Interrupted by SIGINT/SIGTERM (128 + 2, as shells report it). */
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** One line per code, for `--help` and docs. */
export const EXIT_CODE_HELP: ReadonlyArray<[ExitCodeValue, string]> = [
  [ExitCode.ok, 'success'],
  [ExitCode.failed, 'the operation failed (see the message)'],
  [ExitCode.usage, 'usage or configuration error (bad flag, config file, missing API key)'],
  [ExitCode.notFound, 'no such remote file, folder or remote-upload request'],
  [ExitCode.auth, '1fichier refused the API key (wrong key, or not a premium account)'],
  [ExitCode.unavailable, '1fichier is rate-limiting the account or unreachable: retry later'],
  [ExitCode.interrupted, 'interrupted (Ctrl-C); a download keeps its .part file for resuming'],
];

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCodeValue,
  ) {
    super(message);
  }
}

export function exitCodeHelpText(): string {
  return ['Exit codes:', ...EXIT_CODE_HELP.map(([code, text]) => `  ${String(code).padEnd(4)}${text}`)].join('\n');
}
