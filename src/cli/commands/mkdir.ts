/** `fichier-dav mkdir PATH...`: creates remote folders (`-p`: with their parents, no error if they exist). */
import type { Command } from 'commander';
import { CliError, ExitCode } from '../exit-codes.js';
import { accountCommand, addJsonOption, printJson, remotePath, runAccountCommand } from './common.js';
import { ensureFolder, kindAt } from './remote-folders.js';
import type { GlobalFlags } from './session.js';

export function registerMkdir(program: Command): void {
  let current: string | undefined;
  const command = accountCommand(program, 'mkdir <path...>', 'create remote folders').option(
    '-p, --parents',
    'create missing parent folders too; an existing folder is not an error',
  );
  addJsonOption(command).action(async (paths: string[], flags: GlobalFlags & { parents?: boolean; json?: boolean }) => {
    await runAccountCommand(
      flags,
      async (io) => {
        const created: string[] = [];
        const report = (path: string): void => {
          created.push(path);
          if (!flags.json) io.out(`created ${path}`);
        };
        for (const raw of paths) {
          const path = (current = remotePath(raw));
          if (path === '/') {
            if (flags.parents) continue;
            throw new CliError('the root folder already exists', ExitCode.failed);
          }
          if (flags.parents) {
            for (const folder of await ensureFolder(io.account.drive, path, true)) report(folder);
            continue;
          }
          const kind = await kindAt(io.account.drive, path);
          if (kind !== 'missing') throw new CliError(`${path} already exists (add -p to accept an existing folder)`, ExitCode.failed);
          await io.account.drive.mkdir(path);
          report(path);
        }
        if (flags.json) printJson(io, { created });
      },
      () => current,
    );
  });
}
