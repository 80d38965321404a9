/**
 * `fichier-dav download REMOTE LOCAL`: bytes go to LOCAL.part and are renamed to LOCAL only when
 * complete and verified (size always; Whirlpool when 1fichier listed one), so an interrupted
 * download never leaves a truncated file under the final name. An existing LOCAL.part is resumed
 * with one ranged request from its size: only the missing bytes are transferred.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm, stat, truncate } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { once } from 'node:events';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { createWhirlpoolHasher } from '../../fichier/index.js';
import type { DriveEntry } from '../../drive/types.js';
import { loadSettings, settingOption } from '../config.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { accountCommand, addJsonOption, printJson, remotePath, runAccountCommand, type RunContext } from './common.js';
import { humanSize } from './format.js';
import { createProgress, type Progress } from './progress.js';
import type { GlobalFlags } from './session.js';

interface DownloadFlags extends GlobalFlags {
  json?: boolean;
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

/** Where the file goes, checked before anything is transferred: a missing local folder fails at once. */
/**
 * A pass-through that counts bytes from `start`, feeds the optional Whirlpool hasher and reports
 * each new total (bytes) to `onProgress`; `written()` gives the total reached.
 */
function countingTap(start: number, hasher: Hasher | undefined, onProgress: (written: number) => void): { tap: Transform; written: () => number } {
  let written = start;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      written += chunk.length;
      hasher?.update(chunk);
      onProgress(written);
      callback(null, chunk);
    },
  });
  return { tap, written: () => written };
}

/**
 * The last stage of a download into LOCAL.part: the file exists (opened) before the first byte is
 * asked for, and when the transfer breaks every byte that reached this stage is still written
 * before the error goes on, so the next run resumes after all of them. A plain write stream at the
 * end of the pipeline was destroyed with the transfer: bytes it had not written yet were lost, and
 * when the break came before its open finished (a loaded machine), LOCAL.part was never created.
 */
async function keepingWhatArrives(path: string, flags: 'a' | 'w'): Promise<(source: AsyncIterable<Buffer>) => Promise<void>> {
  const out = createWriteStream(path, { flags });
  await once(out, 'ready');
  return async (source) => {
    try {
      for await (const chunk of source) if (!out.write(chunk)) await once(out, 'drain');
    } finally {
      await new Promise<void>((resolve, reject) => {
        if (out.destroyed) return resolve();
        out.end((error?: Error | null) => (error ? reject(error) : resolve()));
      });
    }
  };
}

async function localTarget(local: string, name: string): Promise<string> {
  if (await isDirectory(local)) return join(local, name);
  const folder = local.endsWith('/') || local.endsWith(sep) ? local : dirname(local);
  if (!(await isDirectory(folder))) {
    throw new CliError(`the local folder ${folder} does not exist: create it first (mkdir -p ${folder}) or choose another LOCAL`, ExitCode.usage);
  }
  return local.endsWith('/') || local.endsWith(sep) ? join(local, name) : local;
}

/** `download REMOTE -`: the bytes go to stdout (no .part, no resume); the summary goes to stderr. */
async function downloadToStdout(context: RunContext, source: string, entry: DriveEntry, verify: boolean, progress: Progress): Promise<boolean> {
  const hasher = verify ? await createWhirlpoolHasher() : undefined;
  const transfer = progress.start(entry.name, entry.size);
  const counted = countingTap(0, hasher, (written) => transfer.update(written));
  try {
    const body = await context.account.drive.read(source, { signal: context.signal });
    const { tap } = counted;
    // stdout stays open: the process owns it.
    await pipeline(body, tap, process.stdout, { signal: context.signal, end: false });
    const written = counted.written();
    if (written !== entry.size) {
      throw new CliError(`the download stopped at ${written} of ${entry.size} bytes; run the command again`, ExitCode.unavailable);
    }
    if (hasher && hasher.digest() !== entry.checksum) {
      throw new CliError("the bytes written to stdout do not match 1fichier's Whirlpool checksum: discard them and run the command again", ExitCode.failed);
    }
    transfer.done();
  } catch (error) {
    transfer.fail(context.signal.aborted ? 'interrupted' : error instanceof Error ? error.message : String(error));
    throw error;
  } finally {
    progress.stop();
  }
  return hasher !== undefined;
}

export function registerDownload(program: Command): void {
  let current: string | undefined;
  let partFile: string | undefined;
  const command = accountCommand(
    program,
    'download <remote> <local>',
    'download a remote file (resumes LOCAL.part; LOCAL may be a directory, or - for stdout)',
  )
    .option('-f, --force', 'overwrite an existing LOCAL')
    .option('--no-verify', "skip the Whirlpool check of the finished file (the size is always checked)")
    .option('-q, --quiet', 'no progress output')
    .addOption(settingOption('progressInterval'));
  addJsonOption(command).action(async (remote: string, local: string, flags: DownloadFlags) => {
    await runAccountCommand(
      flags,
      async (context) => {
        const source = (current = remotePath(remote));
        const toStdout = local === '-';
        if (toStdout && flags.json) throw new CliError('--json cannot go with - (stdout carries the file)', ExitCode.usage);
        // Fail on a missing local folder before a single API call.
        if (!toStdout) await localTarget(local, 'x');
        const { values } = await loadSettings(['progressInterval'] as const, flags);
        const entry = await context.account.drive.stat(source);
        if (entry.kind === 'folder') throw new CliError(`${source} is a folder: download takes one file`, ExitCode.failed);
        const verifyWanted = flags.verify !== false && entry.checksum !== undefined;
        const progress = createProgress({ verb: 'download', intervalSeconds: values.progressInterval, quiet: flags.quiet });
        if (toStdout) {
          const verified = await downloadToStdout(context, source, entry, verifyWanted, progress);
          context.err(`downloaded ${source} -> stdout (${humanSize(entry.size)}${verified ? ', Whirlpool verified' : ''})`);
          return;
        }
        const target = await localTarget(local, entry.name);
        if ((await exists(target)) && !flags.force) {
          throw new CliError(`${target} already exists (add --force to overwrite it)`, ExitCode.failed);
        }
        const part = (partFile = `${target}.part`);
        let start = (await sizeOf(part)) ?? 0;
        if (start > entry.size) {
          context.err(`warning: ${part} is larger than ${source} (${start} > ${entry.size} bytes): starting over`);
          await truncate(part, 0);
          start = 0;
        }
        const hasher = verifyWanted ? await createWhirlpoolHasher() : undefined;
        if (hasher && start > 0) await hashFile(hasher, part, context.signal);

        const transfer = progress.start(entry.name, entry.size, start);
        if (start > 0 && start < entry.size) progress.log(`resuming ${part} at ${humanSize(start)} of ${humanSize(entry.size)}`);
        try {
          if (start < entry.size) {
            const body = await context.account.drive.read(source, { range: { start, end: entry.size - 1 }, signal: context.signal });
            const { tap } = countingTap(start, hasher, (written) => transfer.update(written));
            await pipeline(body, tap, await keepingWhatArrives(part, start > 0 ? 'a' : 'w'), { signal: context.signal });
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
          transfer.fail(context.signal.aborted ? 'interrupted' : error instanceof Error ? error.message : String(error));
          throw error;
        } finally {
          progress.stop();
        }
        if (flags.json) printJson(context, { downloaded: { remote: source, local: target, size: entry.size, verified: hasher !== undefined } });
        else context.out(`downloaded ${source} -> ${target} (${humanSize(entry.size)}${hasher ? ', Whirlpool verified' : ''})`);
      },
      () => current,
      () => (partFile ? `${partFile} is kept: run the same command again to resume` : undefined),
    );
  });
}
