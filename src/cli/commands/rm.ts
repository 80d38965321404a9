/** `fichier-dav rm PATH...`: removes remote files; folders (with everything inside) only with -r. */
import type { Command } from 'commander';
import { CliError, ExitCode } from '../exit-codes.js';
import { accountCommand, remotePath, runAccountCommand } from './common.js';
import type { GlobalFlags } from './session.js';

export function registerRm(program: Command): void {
  let current: string | undefined;
  accountCommand(program, 'rm <path...>', 'remove remote files (folders need -r)')
    .option('-r, --recursive', 'remove folders and everything inside them')
    .action(async (paths: string[], flags: GlobalFlags & { recursive?: boolean }) => {
      await runAccountCommand(
        flags,
        async (io) => {
          for (const raw of paths) {
            const path = (current = remotePath(raw));
            if (path === '/') throw new CliError('the root folder cannot be removed', ExitCode.usage);
            const entry = await io.account.drive.stat(path);
            if (entry.kind === 'folder' && !flags.recursive) {
              throw new CliError(`${path} is a folder: add -r to remove it with everything inside`, ExitCode.failed);
            }
            await io.account.drive.remove(path);
            io.out(`removed ${path}${entry.kind === 'folder' ? '/' : ''}`);
          }
        },
        () => current,
      );
    });
}
