/**
 * `fichier-dav restore /Backups/NAME/FILE DEST`: brings the archive down to `.DEST-FILE.part` beside
 * DEST (resumed by the next run when interrupted, like `download`), checks it against the Whirlpool
 * 1fichier lists, then decrypts (age) and extracts it into DEST. The format comes from the file
 * name (`.tar`, `.tar.zst`, `.tar.gz`, each optionally `.age`).
 */
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { DecryptionKey } from '../../backup/encrypt.js';
import { KeyError } from '../../backup/errors.js';
import { ArchiveIntegrityError, fetchArchive } from '../../backup/fetch-archive.js';
import { formatOfFileName } from '../../backup/naming.js';
import { loadSettings } from '../config.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { addCommandSettings, RESTORE_SETTING_KEYS } from './backup-options.js';
import { accountCommand, printJson, remotePath, runAccountCommand } from './common.js';
import { humanSize } from './format.js';
import { createProgress } from './progress.js';
import type { GlobalFlags } from './session.js';

interface RestoreFlags extends GlobalFlags {
  force?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** Throws unless `dest` is missing or an empty folder (or `force`). */
async function checkDestination(dest: string, force: boolean): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(dest)).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (!isDirectory) throw new CliError(`${dest} is a file: restore extracts into a folder`, ExitCode.usage);
  if (!force && (await readdir(dest)).length > 0) {
    throw new CliError(`${dest} is not empty: restore into a new folder, or add --force to write over what is there`, ExitCode.failed);
  }
}

function keyProblem(error: unknown): never {
  if (error instanceof KeyError) throw new CliError(error.message, ExitCode.usage);
  throw error;
}

export function registerRestore(program: Command): void {
  let current: string | undefined;
  const command = accountCommand(program, 'restore <backup> <dest>', 'download a backup (resuming), verify it, decrypt it and extract it into the folder DEST')
    .option('-f, --force', 'extract into DEST even when it is not empty (files of the same name are replaced)')
    .option('--json', 'print a JSON summary')
    .option('-q, --quiet', 'no progress output');
  addCommandSettings(command, RESTORE_SETTING_KEYS);
  command.action(async (backup: string, destArg: string, flags: RestoreFlags) => {
    await runAccountCommand(
      flags,
      async (context) => {
        const source = (current = remotePath(backup));
        const { values } = await loadSettings(RESTORE_SETTING_KEYS, flags);
        const format = formatOfFileName(basename(source));
        if (!format) throw new CliError(`${source} is not a backup archive (a .tar, .tar.zst or .tar.gz file, optionally .age)`, ExitCode.usage);
        // tar, zstd and age load only when a restore runs, not with every command of the CLI.
        const { extractArchive } = await import('../../backup/archive.js');
        const { decryptStream, loadDecryptionKey } = await import('../../backup/encrypt.js');
        const key: DecryptionKey | undefined = format.encrypted ? await loadDecryptionKey(values).catch(keyProblem) : undefined;
        const dest = resolve(destArg);
        await checkDestination(dest, Boolean(flags.force));

        const entry = await context.account.drive.stat(source);
        if (entry.kind === 'folder') throw new CliError(`${source} is a folder: restore takes one backup file (see backup --list)`, ExitCode.usage);
        const part = join(dirname(dest), `.${basename(dest)}-${entry.name}.part`);
        const progress = createProgress({ verb: 'download', intervalSeconds: values.progressInterval, quiet: flags.quiet });
        const transfer = progress.start(entry.name, entry.size);
        try {
          await fetchArchive(
            { size: entry.size, checksum: entry.checksum, read: (range, signal) => context.account.drive.read(source, { range, signal }) },
            part,
            context.signal,
            {
              onBytes: (bytes) => transfer.update(bytes),
              onResume: (from) => progress.log(`resuming ${part} at ${humanSize(from)} of ${humanSize(entry.size)}`),
            },
          );
          transfer.done();
        } catch (error) {
          transfer.fail(error instanceof Error ? error.message : String(error));
          if (error instanceof ArchiveIntegrityError) throw new CliError(error.message, error.resumable ? ExitCode.unavailable : ExitCode.failed);
          throw error;
        } finally {
          progress.stop();
        }

        // The part stays until extraction succeeds: a wrong key or a full disk needs no new download.
        const stream = key ? await decryptStream(createReadStream(part), key).catch(keyProblem) : createReadStream(part);
        await mkdir(dest, { recursive: true });
        const { entries, skippedLinks } = await extractArchive(stream, dest, format.compression, context.signal);
        await rm(part, { force: true });
        for (const link of skippedLinks) {
          context.err(`warning: symbolic link ${link} not restored: it points outside ${dest}; recreate it with ln -s if you want it`);
        }
        if (flags.json) {
          printJson(context, { backup: source, dest, size: entry.size, entries, encrypted: format.encrypted, verified: entry.checksum !== undefined, skippedLinks });
        } else context.out(`restored ${entries} entries from ${source} into ${dest} (${humanSize(entry.size)}${entry.checksum ? ', Whirlpool verified' : ''})`);
      },
      () => current,
    );
  });
}
