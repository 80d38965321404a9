/**
 * `fichier-dav upload LOCAL... REMOTE_DIR`: uploads files (and, with -r, directory trees) through
 * the drive, so each file takes the drive's path: rclone name codec, 3-step upload with the
 * Whirlpool check, and a replaced file (--force) is removed only after the new one is verified.
 *
 * Empty files are skipped with a warning: 1fichier cannot store 0-byte files, and the drive's
 * answer to that (a virtual empty file in this machine's local state) would make the upload
 * look done while nothing reached the account. OS housekeeping files (.DS_Store, ._*,
 * Thumbs.db, desktop.ini) are skipped for the same reason: the drive keeps them local.
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { Transform } from 'node:stream';
import type { Command } from 'commander';
import pLimit from 'p-limit';
import { isSystemFileName } from '../../drive/system-files.js';
import { MAX_UPLOAD_SIZE } from '../../fichier/index.js';
import { loadSettings, settingOption } from '../config.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { accountCommand, addJsonOption, joinRemote, printJson, remotePath, runAccountCommand, type RunContext } from './common.js';
import { toCliError } from './errors.js';
import { humanSize } from './format.js';
import { createProgress, type Progress } from './progress.js';
import { ensureFolder, kindAt } from './remote-folders.js';
import type { GlobalFlags } from './session.js';

interface UploadFlags extends GlobalFlags {
  json?: boolean;
  recursive?: boolean;
  parents?: boolean;
  force?: boolean;
  quiet?: boolean;
}

interface PlannedFile {
  local: string;
  /** Path relative to the remote directory, '/'-separated. */
  relative: string;
  size: number;
}

interface Plan {
  folders: string[];
  files: PlannedFile[];
  warnings: string[];
}

/** Walks the local arguments into remote folders to create and files to send. */
export async function planUpload(locals: string[], recursive: boolean): Promise<Plan> {
  const plan: Plan = { folders: [], files: [], warnings: [] };
  const visit = async (local: string, relative: string): Promise<void> => {
    const info = await stat(local);
    const name = basename(local);
    if (info.isDirectory()) {
      if (!recursive) throw new CliError(`${local} is a directory: add -r to upload it with its content`, ExitCode.usage);
      plan.folders.push(relative);
      const children = (await readdir(local)).sort();
      for (const child of children) await visit(join(local, child), `${relative}/${child}`);
      return;
    }
    if (!info.isFile()) {
      plan.warnings.push(`skipping ${local}: not a regular file`);
      return;
    }
    if (isSystemFileName(name)) {
      plan.warnings.push(`skipping ${local}: an OS housekeeping file (the drive keeps those on the machine that made them)`);
      return;
    }
    if (info.size === 0) {
      plan.warnings.push(`skipping ${local}: 1fichier cannot store empty (0-byte) files`);
      return;
    }
    if (info.size > MAX_UPLOAD_SIZE) {
      plan.warnings.push(`skipping ${local}: larger than 1fichier's 300 GB limit`);
      return;
    }
    plan.files.push({ local, relative, size: info.size });
  };
  for (const local of locals) {
    const absolute = resolve(local);
    await visit(absolute, basename(absolute));
  }
  return plan;
}

/** Counts the bytes read from disk: what the upload has consumed, hence sent (up to socket buffers). */
function counting(onBytes: (total: number) => void): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      onBytes(total);
      callback(null, chunk);
    },
  });
}

async function uploadOne(context: RunContext, progress: Progress, file: PlannedFile, target: string, force: boolean): Promise<void> {
  const drive = context.account.drive;
  const existing = await kindAt(drive, target);
  if (existing === 'folder') throw new CliError(`${target} is a folder: cannot upload ${file.local} over it`, ExitCode.failed);
  if (existing === 'file' && !force) {
    throw new CliError(`${target} already exists (add --force to replace it; the old file is removed only after the new one is verified)`, ExitCode.failed);
  }
  const transfer = progress.start(file.relative, file.size);
  const source = createReadStream(file.local);
  const body = source.pipe(
    counting((bytes) => {
      transfer.update(bytes);
      if (bytes >= file.size) transfer.stage('verifying');
    }),
  );
  source.once('error', (error) => body.destroy(error));
  try {
    await drive.write(target, body, { size: file.size, signal: context.signal });
    transfer.done();
  } catch (error) {
    source.destroy();
    transfer.fail(context.signal.aborted ? 'interrupted' : error instanceof Error ? error.message : String(error));
    throw error;
  }
}

export function registerUpload(program: Command): void {
  let current: string | undefined;
  const command = accountCommand(program, 'upload <paths...>', 'upload local files (and folders with -r) into a remote folder: upload LOCAL... REMOTE_DIR')
    .option('-r, --recursive', 'upload directories with their whole content')
    .option('-p, --parents', 'create the remote folder (and its parents) when missing')
    .option('-f, --force', 'replace remote files of the same name (safely: the old one goes after the new one is verified)')
    .option('-q, --quiet', 'no progress output')
    .addOption(settingOption('transfers'))
    .addOption(settingOption('progressInterval'));
  addJsonOption(command).action(async (args: string[], flags: UploadFlags) => {
      await runAccountCommand(
        flags,
        async (context) => {
          if (args.length < 2) throw new CliError('upload needs at least one local path and the remote folder: upload LOCAL... REMOTE_DIR', ExitCode.usage);
          const remoteDir = (current = remotePath(args[args.length - 1]));
          const { values } = await loadSettings(['transfers', 'progressInterval'] as const, flags);
          const plan = await planUpload(args.slice(0, -1), Boolean(flags.recursive));
          for (const warning of plan.warnings) context.err(`warning: ${warning}`);
          await ensureFolder(context.account.drive, remoteDir, Boolean(flags.parents));
          for (const folder of plan.folders) await ensureFolder(context.account.drive, joinRemote(remoteDir, folder), true);

          const progress = createProgress({ verb: 'upload', intervalSeconds: values.progressInterval, quiet: flags.quiet });
          const limit = pLimit(values.transfers);
          let failures = 0;
          let firstFailure: CliError | undefined;
          const uploaded: Array<{ local: string; remote: string; size: number }> = [];
          const failed: Array<{ local: string; remote: string; error: string }> = [];
          await Promise.all(
            plan.files.map((file) =>
              limit(async () => {
                if (context.signal.aborted) return;
                const target = joinRemote(remoteDir, file.relative);
                try {
                  await uploadOne(context, progress, file, target, Boolean(flags.force));
                  uploaded.push({ local: file.local, remote: target, size: file.size });
                  progress.log(`uploaded ${file.local} -> ${target} (${humanSize(file.size)})`);
                } catch (error) {
                  if (context.signal.aborted) throw error;
                  failures += 1;
                  const failure = toCliError(error, { lastFailure: context.account.lastFailure(), cooldownSeconds: context.account.cooldownSeconds() }, target);
                  firstFailure ??= failure;
                  failed.push({ local: file.local, remote: target, error: failure.message });
                  progress.log(`error: ${file.local}: ${failure.message}`);
                }
              }),
            ),
          );
          progress.stop();
          if (context.signal.aborted) throw new Error('interrupted');
          const sent = plan.files.length - failures;
          if (flags.json) printJson(context, { uploaded, failed, skipped: plan.warnings });
          else context.out(`${sent} of ${plan.files.length} file(s) uploaded to ${remoteDir}${plan.warnings.length ? `, ${plan.warnings.length} skipped` : ''}`);
          if (failures === 0) return ExitCode.ok;
          // One failure keeps its own code (e.g. 4 or 5); several mixed ones are a plain failure.
          return failures === plan.files.length && firstFailure ? firstFailure.exitCode : ExitCode.failed;
        },
        () => current,
        () => 'the files reported as uploaded are on 1fichier; upload the others again',
      );
    });
}
