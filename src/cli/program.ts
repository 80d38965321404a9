/**
 * The `fichier-dav` command tree. Each sub-command lives in its own file and registers itself
 * here; main.ts parses argv with it, and a test reads it to check the README's reference.
 */
import { Command } from 'commander';
import { registerAccountCommands } from './commands/index.js';
import { registerDemo } from './demo.js';
import { registerServe } from './serve.js';
import { registerSimulate } from './simulate.js';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('fichier-dav')
    .description('Mount a 1fichier.com premium account as a WebDAV drive; account tools; a local 1fichier simulator')
    .showHelpAfterError('(run with --help for usage)');
  registerDemo(program);
  registerServe(program);
  registerSimulate(program);
  registerAccountCommands(program);
  return program;
}
