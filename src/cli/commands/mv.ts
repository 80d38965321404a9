/**
 * `fichier-dav mv SRC DST`: a server-side move or rename, exactly as the drive's MOVE does it
 * (rename.cgi, mv.cgi, folder/mv.cgi; never download + upload). A DST that is an existing folder
 * receives SRC inside it, as mv(1) does.
 */
import type { Command } from 'commander';
import { CliError, ExitCode } from '../exit-codes.js';
import { accountCommand, addJsonOption, baseName, joinRemote, printJson, remotePath, runAccountCommand } from './common.js';
import { kindAt } from './remote-folders.js';
import type { GlobalFlags } from './session.js';

export function registerMv(program: Command): void {
  let current: string | undefined;
  const command = accountCommand(program, 'mv <src> <dst>', 'move or rename a remote file or folder (server-side)').option(
    '-f, --force',
    'replace an existing destination file (a folder is replaced only with --force too)',
  );
  addJsonOption(command).action(async (src: string, dst: string, flags: GlobalFlags & { force?: boolean; json?: boolean }) => {
      await runAccountCommand(
        flags,
        async (io) => {
          const from = (current = remotePath(src));
          let to = remotePath(dst);
          if (from === '/') throw new CliError('the root folder cannot be moved', ExitCode.usage);
          await io.account.drive.stat(from);
          current = to;
          if ((await kindAt(io.account.drive, to)) === 'folder') to = joinRemote(to, baseName(from));
          if (to === from) throw new CliError(`${from} is already there`, ExitCode.usage);
          if (to.startsWith(`${from}/`)) throw new CliError(`cannot move ${from} inside itself`, ExitCode.usage);
          current = from;
          await io.account.drive.move(from, to, { overwrite: Boolean(flags.force) });
          if (flags.json) printJson(io, { moved: { from, to } });
          else io.out(`moved ${from} -> ${to}`);
        },
        () => current,
      );
    });
}
