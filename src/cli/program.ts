/**
 * The `fichier-dav` command tree. Each sub-command lives in its own file and registers itself
 * here; main.ts parses argv with it, and a test reads it to check the docs' reference.
 */
import { Command, type CommanderError } from 'commander';
import { registerAccountCommands } from './commands/index.js';
import { registerCompletion } from './completion.js';
import { registerDemo } from './demo.js';
import { ExitCode } from './exit-codes.js';
import { registerServe } from './serve.js';
import { registerSimulate } from './simulate.js';
import { packageVersion } from './version.js';

/**
 * Commander exits 1 for usage errors (unknown option, missing argument, bad value); ours are 2
 * everywhere (exit-codes.ts). Help and --version exit 0; an explicit `command.error(..., { exitCode })`
 * keeps its code.
 */
function exitWithOurCodes(error: CommanderError): never {
  // --help and --version; help shown because no command was given is a usage error.
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') process.exit(ExitCode.ok);
  if (error.code === 'commander.error') process.exit(error.exitCode);
  process.exit(error.exitCode === 0 ? ExitCode.ok : ExitCode.usage);
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('fichier-dav')
    .description('Mount a 1fichier.com premium account as a WebDAV drive; account tools; a local 1fichier simulator')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    // Set before the sub-commands are added: each one inherits it (account commands set their own).
    .exitOverride(exitWithOurCodes);
  registerDemo(program);
  registerServe(program);
  registerSimulate(program);
  registerAccountCommands(program);
  registerCompletion(program);
  return program;
}
