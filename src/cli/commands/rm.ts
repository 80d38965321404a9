/**
 * `fichier-dav rm PATH...`: removes remote files; folders (with everything inside) only with -r.
 * `--dry-run` lists what would go (a folder with its whole content) and removes nothing.
 */
import type { Command } from 'commander';
import type { Drive } from '../../drive/types.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { accountCommand, addJsonOption, joinRemote, printJson, remotePath, runAccountCommand } from './common.js';
import type { GlobalFlags } from './session.js';

interface RmFlags extends GlobalFlags {
  recursive?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

interface Removal {
  path: string;
  kind: 'file' | 'folder';
}

/** A folder and everything below it, parents before their content (one listing per folder). */
async function tree(drive: Drive, folder: string, signal: AbortSignal): Promise<Removal[]> {
  const found: Removal[] = [{ path: folder, kind: 'folder' }];
  for (const entry of await drive.list(folder, signal)) {
    const path = joinRemote(folder, entry.name);
    if (entry.kind === 'folder') found.push(...(await tree(drive, path, signal)));
    else found.push({ path, kind: 'file' });
  }
  return found;
}

export function registerRm(program: Command): void {
  let current: string | undefined;
  const command = accountCommand(program, 'rm <path...>', 'remove remote files (folders need -r)')
    .option('-r, --recursive', 'remove folders and everything inside them')
    .option('-n, --dry-run', 'list what would be removed (a folder with its whole content); remove nothing');
  addJsonOption(command).action(async (paths: string[], flags: RmFlags) => {
    await runAccountCommand(
      flags,
      async (io) => {
        const done: Removal[] = [];
        for (const raw of paths) {
          const path = (current = remotePath(raw));
          if (path === '/') throw new CliError('the root folder cannot be removed', ExitCode.usage);
          const entry = await io.account.drive.stat(path);
          if (entry.kind === 'folder' && !flags.recursive) {
            throw new CliError(`${path} is a folder: add -r to remove it with everything inside`, ExitCode.failed);
          }
          if (flags.dryRun) {
            const would = entry.kind === 'folder' ? await tree(io.account.drive, path, io.signal) : [{ path, kind: 'file' as const }];
            done.push(...would);
            if (!flags.json) for (const item of would) io.out(`would remove ${item.path}${item.kind === 'folder' ? '/' : ''}`);
            continue;
          }
          await io.account.drive.remove(path);
          done.push({ path, kind: entry.kind });
          if (!flags.json) io.out(`removed ${path}${entry.kind === 'folder' ? '/' : ''}`);
        }
        if (flags.json) printJson(io, { dryRun: Boolean(flags.dryRun), [flags.dryRun ? 'wouldRemove' : 'removed']: done });
      },
      () => current,
    );
  });
}
