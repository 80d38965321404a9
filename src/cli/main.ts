#!/usr/bin/env node
/**
 * The `fichier-dav` command. Each sub-command lives in its own file and registers itself here.
 */
import { Command } from 'commander';
import { registerAccountCommands } from './commands/index.js';
import { registerDemo } from './demo.js';
import { registerServe } from './serve.js';
import { registerSimulate } from './simulate.js';

const program = new Command();
program
  .name('fichier-dav')
  .description('Mount a 1fichier.com premium account as a WebDAV drive; account tools; a local 1fichier simulator')
  .showHelpAfterError('(run with --help for usage)');

registerDemo(program);
registerServe(program);
registerSimulate(program);
registerAccountCommands(program);

await program.parseAsync(process.argv);
