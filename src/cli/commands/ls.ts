/**
 * `fichier-dav ls [PATH]`: a folder's content as the mounted drive shows it (same name codec,
 * same duplicate-name aliases `name [id].ext`, same local empty files), or one file's line.
 */
import type { Command } from 'commander';
import type { DriveEntry } from '../../drive/types.js';
import { accountCommand, joinRemote, printJson, remotePath, runAccountCommand } from './common.js';
import { humanSize, isoDate, shortDate, table } from './format.js';
import type { GlobalFlags } from './session.js';

interface LsFlags extends GlobalFlags {
  json?: boolean;
  bytes?: boolean;
  long?: boolean;
}

/** Folders first, then by name (code-point order: stable whatever the locale). */
export function sortEntries(entries: DriveEntry[]): DriveEntry[] {
  return [...entries].sort((a, b) => (a.kind !== b.kind ? (a.kind === 'folder' ? -1 : 1) : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function registerLs(program: Command): void {
  let target = '/';
  accountCommand(program, 'ls [path]', 'list a remote folder (or show one file): kind, size, date (UTC), name')
    .option('--json', 'print JSON (exact sizes, ISO dates, checksums)')
    .option('--bytes', 'exact byte counts instead of human sizes')
    .option('-l, --long', 'also show the content type and the Whirlpool checksum')
    .option('--fresh', "list again rather than reuse a listing made by a command in the last 30 s (waits for 1fichier's window)")
    .action(async (path: string | undefined, flags: LsFlags) => {
      await runAccountCommand(
        flags,
        async (io) => {
          target = remotePath(path);
          const entry = await io.account.drive.stat(target);
          const isFolder = entry.kind === 'folder';
          const entries = isFolder ? sortEntries(await io.account.drive.list(target)) : [entry];
          const pathOf = (e: DriveEntry) => (isFolder ? joinRemote(target, e.name) : target);
          if (flags.json) {
            printJson(
              io,
              entries.map((e) => ({
                name: e.name,
                path: pathOf(e),
                kind: e.kind,
                size: e.size,
                modified: isoDate(e.modified),
                contentType: e.contentType ?? null,
                checksum: e.checksum ?? null,
              })),
            );
            return;
          }
          if (entries.length === 0) return;
          const header = ['KIND', 'SIZE', 'DATE (UTC)', ...(flags.long ? ['TYPE', 'WHIRLPOOL'] : []), 'NAME'];
          const rows = entries.map((e) => [
            e.kind === 'folder' ? 'dir' : 'file',
            e.kind === 'folder' ? '-' : flags.bytes ? String(e.size) : humanSize(e.size),
            shortDate(e.modified),
            ...(flags.long ? [e.contentType ?? '-', e.checksum ?? '-'] : []),
            e.kind === 'folder' ? `${e.name}/` : e.name,
          ]);
          io.out(table([header, ...rows], new Set([1])));
        },
        () => target,
      );
    });
}
