/**
 * `fichier-dav download REMOTE LOCAL`: bytes go to LOCAL.part and are renamed to LOCAL only when
 * complete and verified (size always; Whirlpool when 1fichier listed one), so an interrupted
 * download never leaves a truncated file under the final name. An existing LOCAL.part is resumed
 * with one ranged request from its size: only the missing bytes are transferred.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { createWhirlpoolHasher } from '../../fichier/index.js';
import { loadSettings } from '../config.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { accountCommand, remotePath, runAccountCommand } from './common.js';
import { humanSize } from './format.js';
import { createProgress } from './progress.js';
import type { GlobalFlags } from './session.js';

interface DownloadFlags extends GlobalFlags {
  force?: boolean;
  quiet?: boolean;
  verify?: boolean;
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

type Hasher = Awaited<ReturnType<typeof createWhirlpoolHasher>>;

async function hashFile(hasher: Hasher, path: string, signal: AbortSignal): Promise<void> {
  for await (const chunk of createReadStream(path, { signal })) hasher.update(chunk as Buffer);
}

export function registerDownload(program: Command): void {
  let current: string | undefined;
  accountCommand(program, 'download <remote> <local>', 'download a remote file (resumes LOCAL.part; LOCAL may be a directory)')
    .option('-f, --force', 'overwrite an existing LOCAL')
    .option('--no-verify', "skip the Whirlpool check of the finished file (the size is always checked)")
    .option('-q, --quiet', 'no progress output')
    .option('--progress-interval <s>', 'seconds between plain progress lines when stderr is not a terminal (default: 5)')
    .action(async (remote: string, local: string, flags: DownloadFlags) => {
      await runAccountCommand(
        flags,
        async (context) => {
          const source = (current = remotePath(remote));
          const { values } = await loadSettings(['progressInterval'] as const, flags);
          const entry = await context.account.drive.stat(source);
          if (entry.kind === 'folder') throw new CliError(`${source} is a folder: download takes one file`, ExitCode.failed);
          const target = (await isDirectory(local)) || local.endsWith('/') ? join(local, entry.name) : local;
          if ((await exists(target)) && !flags.force) {
            throw new CliError(`${target} already exists (add --force to overwrite it)`, ExitCode.failed);
          }
          const part = `${target}.part`;
          let start = (await sizeOf(part)) ?? 0;
          if (start > entry.size) {
            context.err(`warning: ${part} is larger than ${source} (${start} > ${entry.size} bytes): starting over`);
            await truncate(part, 0);
            start = 0;
          }
          const verify = flags.verify !== false && entry.checksum !== undefined;
          const hasher = verify ? await createWhirlpoolHasher() : undefined;
          if (hasher && start > 0) await hashFile(hasher, part, context.signal);

          const progress = createProgress({ verb: 'download', intervalSeconds: values.progressInterval, quiet: flags.quiet });
          const transfer = progress.start(entry.name, entry.size, start);
          if (start > 0 && start < entry.size) progress.log(`resuming ${part} at ${humanSize(start)} of ${humanSize(entry.size)}`);
          try {
            if (start < entry.size) {
              const body = await context.account.drive.read(source, { range: { start, end: entry.size - 1 }, signal: context.signal });
              let written = start;
              const tap = new Transform({
                transform(chunk: Buffer, _encoding, callback) {
                  written += chunk.length;
                  hasher?.update(chunk);
                  transfer.update(written);
                  callback(null, chunk);
                },
              });
              await pipeline(body, tap, createWriteStream(part, { flags: start > 0 ? 'a' : 'w' }), { signal: context.signal });
            } else if (start === 0) {
              // An empty file (only possible for the drive's local empty files).
              await pipeline(await context.account.drive.read(source, { signal: context.signal }), createWriteStream(part));
            }
            const got = (await sizeOf(part)) ?? 0;
            if (got !== entry.size) {
              throw new CliError(`the download stopped at ${got} of ${entry.size} bytes; run the same command again to resume`, ExitCode.unavailable);
            }
            if (hasher) {
              transfer.stage('verifying');
              const digest = hasher.digest();
              if (digest !== entry.checksum) {
                await rm(part, { force: true });
                throw new CliError(`the downloaded bytes do not match 1fichier's Whirlpool checksum; ${part} was removed: run the command again`, ExitCode.failed);
              }
            }
            await rename(part, target);
            transfer.done();
          } catch (error) {
            transfer.fail(error instanceof Error ? error.message : String(error));
            throw error;
          } finally {
            progress.stop();
          }
          context.out(`downloaded ${source} -> ${target} (${humanSize(entry.size)}${hasher ? ', Whirlpool verified' : ''})`);
        },
        () => current,
      );
    });
}
