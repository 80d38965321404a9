/**
 * `fichier-dav link PATH`: the file's public 1fichier URL (stable, for sharing) and a fresh
 * direct download link (get_token; valid about 5 minutes, usable by curl or a player).
 */
import type { Command } from 'commander';
import { CliError, ExitCode } from '../exit-codes.js';
import { accountCommand, printJson, remotePath, runAccountCommand } from './common.js';
import type { GlobalFlags } from './session.js';

export function registerLink(program: Command): void {
  let current: string | undefined;
  accountCommand(program, 'link <path>', "print a file's public 1fichier URL and a fresh direct download link")
    .option('--json', 'print JSON')
    .option('--public-only', 'print only the public URL (no download token is asked for)')
    .action(async (raw: string, flags: GlobalFlags & { json?: boolean; publicOnly?: boolean }) => {
      await runAccountCommand(
        flags,
        async (io) => {
          const path = (current = remotePath(raw));
          const ref = await io.account.drive.upstreamRef(path);
          if (ref.kind === 'folder') throw new CliError(`${path} is a folder: 1fichier gives links to files only`, ExitCode.failed);
          if (ref.kind === 'local') {
            throw new CliError(`${path} exists only on this machine (an empty or housekeeping file: 1fichier cannot store it), so it has no link`, ExitCode.failed);
          }
          const direct = flags.publicOnly ? undefined : await io.account.drive.directUrl(path, io.signal);
          if (flags.json) {
            printJson(io, { path, url: ref.url, directUrl: direct ?? null, directUrlValidSeconds: direct ? 300 : null });
            return;
          }
          io.out(`public  ${ref.url}`);
          if (direct) io.out(`direct  ${direct}  (valid about 5 minutes)`);
        },
        () => current,
      );
    });
}
