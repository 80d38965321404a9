/**
 * What every account command shares: the options of config.ts, `--verbose`, the exit-code table
 * in `--help`, usage errors as exit code 2, Ctrl-C handling, and one place that turns any
 * failure into a message and an exit code.
 */
import { Option, type Command } from 'commander';
import { ACCOUNT_SETTING_KEYS, addSettingOptions } from '../config.js';
import { CliError, ExitCode, exitCodeHelpText, type ExitCodeValue } from '../exit-codes.js';
import { toCliError } from './errors.js';
import { openAccount, type Account, type GlobalFlags } from './session.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

export interface RunContext extends Io {
  account: Account;
  flags: GlobalFlags;
}

/** Creates `fichier-dav <name>` with the shared options and behaviour. */
export function accountCommand(program: Command, nameAndArgs: string, description: string): Command {
  const command = program.command(nameAndArgs).description(description);
  addSettingOptions(command, ACCOUNT_SETTING_KEYS);
  command.addOption(new Option('-v, --verbose', 'print one line per 1fichier API call on stderr'));
  command.addHelpText('after', `\nThe API key comes from FICHIER_API_KEY, or --api-key-file / FICHIER_API_KEY_FILE / "apiKeyFile" in the config file.\n${exitCodeHelpText()}`);
  // Usage errors (unknown flag, missing argument) exit with 2, not commander's 1.
  command.exitOverride((error) => {
    const helpShown = error.code === 'commander.helpDisplayed' || error.code === 'commander.help' || error.exitCode === 0;
    process.exit(helpShown ? ExitCode.ok : ExitCode.usage);
  });
  return command;
}

/** Normalizes a remote path: leading '/', no empty segments, no trailing '/'. */
export function remotePath(raw: string | undefined): string {
  const value = (raw ?? '/').trim();
  const parts = value.split('/').filter((part) => part !== '');
  for (const part of parts) {
    if (part === '.' || part === '..') throw new CliError(`remote paths are absolute and cannot contain "${part}": ${raw}`, ExitCode.usage);
  }
  return '/' + parts.join('/');
}

export function joinRemote(folder: string, name: string): string {
  return folder === '/' ? `/${name}` : `${folder}/${name}`;
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** `--json`: the command prints one JSON document on stdout instead of its lines. */
export function addJsonOption(command: Command): Command {
  return command.option('--json', 'print the result as JSON on stdout');
}

export function printJson(io: Io, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

/**
 * Runs a command body against the account and exits with its code. The body returns an exit
 * code (default 0) or throws; `path` (when known) improves not-found messages.
 */
export async function runAccountCommand(
  flags: GlobalFlags,
  body: (context: RunContext) => Promise<ExitCodeValue | void>,
  path?: () => string | undefined,
  /** What to tell the user after Ctrl-C, e.g. how to resume (read when the interrupt is reported). */
  interruptHint?: () => string | undefined,
): Promise<void> {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (): void => {
    interrupts += 1;
    if (interrupts > 1) process.exit(ExitCode.interrupted);
    controller.abort(new Error('interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const io: Io = {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    signal: controller.signal,
  };
  let account: Account | undefined;
  let code: number = ExitCode.ok;
  try {
    account = await openAccount(flags, io.err);
    code = (await body({ ...io, account, flags })) ?? ExitCode.ok;
  } catch (error) {
    if (controller.signal.aborted) {
      const hint = interruptHint?.();
      io.err(`fichier-dav: interrupted${hint ? `; ${hint}` : ''}`);
      code = ExitCode.interrupted;
    } else {
      const cli = toCliError(
        error,
        {
          lastFailure: account?.lastFailure(),
          cooldownSeconds: account?.cooldownSeconds(),
          keySource: account?.keySource,
          defaultRetrySeconds: account ? Math.ceil(30 * account.settings.timeScale) : undefined,
        },
        safePath(path),
      );
      io.err(`error: ${cli.message}`);
      code = cli.exitCode;
    }
  } finally {
    await account?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  process.exitCode = code;
  // Keep-alive sockets or stray timers must not keep a finished command alive.
  setTimeout(() => process.exit(code), 1500).unref();
}

function safePath(path?: () => string | undefined): string | undefined {
  try {
    return path?.();
  } catch {
    return undefined;
  }
}
