/**
 * `fichier-dav backup SRC… --to /Backups/NAME [--keep-* N] [--dry-run]`: one archive of the sources
 * (tar, zstd/gzip, optionally age-encrypted) uploaded as `/Backups/NAME/NAME-<UTC time>.tar…`,
 * verified, and only then old backups removed by the keep rules (restic's semantics).
 * `backup --list /Backups/NAME` lists the backups of a set.
 *
 * The order is what makes it safe for cron: lock the name (one run at a time) → spool the archive
 * (1fichier needs its size first) → upload → verify the Whirlpool → apply retention. Any failure
 * before the last step removes nothing; a failed verification removes only the bad upload.
 */
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { EncryptionKey } from '../../backup/encrypt.js';
import { KeyError, SourceError } from '../../backup/errors.js';
import { backupFileName, invalidBackupName, type BackupFile, type Compression } from '../../backup/naming.js';
import { describePolicy } from '../../backup/retention.js';
import { spoolArchive, spoolBound, SpoolLimitError, type SpooledArchive } from '../../backup/spool.js';
import { encodeName, IntegrityError, type UploadResult } from '../../fichier/index.js';
import { loadSettings } from '../config.js';
import { CliError, ExitCode, type ExitCodeValue } from '../exit-codes.js';
import { addCommandSettings, BACKUP_EXIT_HELP, BACKUP_SETTING_KEYS, backupTime, keepPolicy, type BackupSettings } from './backup-options.js';
import { applyRetention, listBackupFiles, type RetentionOutcome } from './backup-retention.js';
import { accountCommand, baseName, joinRemote, printJson, remotePath, runAccountCommand, type RunContext } from './common.js';
import { humanSize, isoDate, shortDate, table } from './format.js';
import { createProgress } from './progress.js';
import { ensureFolder, kindAt } from './remote-folders.js';
import type { GlobalFlags } from './session.js';

interface BackupFlags extends GlobalFlags {
  to?: string;
  list?: string;
  dryRun?: boolean;
  json?: boolean;
  quiet?: boolean;
}

/** Usage problems found before anything is sent. */
function asUsage(error: unknown): never {
  if (error instanceof KeyError || error instanceof SourceError) throw new CliError(error.message, ExitCode.usage);
  throw error;
}

function backupSet(raw: string | undefined, flag: string): { folder: string; name: string } {
  if (!raw) throw new CliError(`${flag} needs the backup folder, e.g. ${flag} /Backups/photos`, ExitCode.usage);
  const folder = remotePath(raw);
  const name = baseName(folder);
  if (folder === '/') throw new CliError(`${flag} must name a folder below the root, e.g. /Backups/photos`, ExitCode.usage);
  const invalid = invalidBackupName(name);
  if (invalid) throw new CliError(invalid, ExitCode.usage);
  return { folder, name };
}

async function listBackups(context: RunContext, folder: string, name: string, json: boolean): Promise<void> {
  const backups = await listBackupFiles(context.account.drive, folder, name);
  if (json) {
    printJson(
      context,
      backups.map((b) => ({
        name: b.name,
        path: joinRemote(folder, b.name),
        time: isoDate(b.time),
        size: b.size,
        compression: b.compression,
        encrypted: b.encrypted,
        checksum: b.checksum ?? null,
      })),
    );
    return;
  }
  if (backups.length === 0) return;
  const rows = backups.map((b) => [shortDate(b.time), humanSize(b.size), b.encrypted ? 'age' : '-', b.name]);
  context.out(table([['TIME (UTC)', 'SIZE', 'ENCRYPTED', 'NAME'], ...rows], new Set([1])));
}

/** Uploads the spooled archive and checks that 1fichier holds exactly the bytes spooled; removes a bad copy. */
async function uploadVerified(context: RunContext, spooled: SpooledArchive, fileName: string, folderId: number, quiet: boolean, interval: number): Promise<UploadResult> {
  const { client } = context.account;
  const progress = createProgress({ verb: 'upload', intervalSeconds: interval, quiet });
  const transfer = progress.start(fileName, spooled.size);
  let result: UploadResult;
  try {
    result = await client.upload(createReadStream(spooled.path), {
      size: spooled.size,
      name: encodeName(fileName),
      folderId,
      signal: context.signal,
      onProgress: (sent) => {
        transfer.update(sent);
        if (sent >= spooled.size) transfer.stage('verifying');
      },
    });
    transfer.done();
  } catch (error) {
    transfer.fail(error instanceof Error ? error.message : String(error));
    // The client has removed a copy whose Whirlpool or size did not match what it streamed.
    if (error instanceof IntegrityError) throw new CliError(`verification failed: ${error.message}; older backups were left as they were`, ExitCode.verification);
    throw error;
  } finally {
    progress.stop();
    // The folder changed behind the drive's back: other commands must list it again.
    context.account.distrustFolder(folderId);
  }
  // Bytes written to the spool → bytes streamed to 1fichier → the Whirlpool 1fichier reports.
  // The client checked the last two when end.pl reported a Whirlpool; file/info reports it otherwise.
  const reported = result.verified ? result.whirlpool : (await client.fileInfo(result.url, { signal: context.signal })).checksum;
  if (reported !== spooled.whirlpool || result.whirlpool !== spooled.whirlpool) {
    let removal = 'the bad upload was removed';
    try {
      await client.removeFiles([result.url]);
    } catch (error) {
      removal = `removing the bad upload failed too (${error instanceof Error ? error.message : String(error)}): remove ${fileName} by hand`;
    }
    const said = reported ? `1fichier reports Whirlpool ${reported.slice(0, 16)}…` : '1fichier reports no Whirlpool';
    throw new CliError(`verification failed: ${said}, the archive spooled here has ${spooled.whirlpool.slice(0, 16)}…; ${removal}; older backups were left as they were`, ExitCode.verification);
  }
  return result;
}

async function makeBackup(context: RunContext, sourcePaths: string[], flags: BackupFlags, values: BackupSettings): Promise<ExitCodeValue> {
  const { folder, name } = backupSet(flags.to, '--to');
  const policy = keepPolicy(values);
  const compression: Compression = values.compression;
  if (!values.encrypt && (values.recipientsFile || values.passphraseFile)) {
    // A key without --encrypt most likely means a forgotten flag: refuse rather than upload plaintext.
    throw new CliError(`${values.recipientsFile ? '--recipients-file' : '--passphrase-file'} is set but --encrypt is not: add --encrypt (or FICHIER_DAV_ENCRYPT=true)`, ExitCode.usage);
  }
  // tar, zstd, age and SQLite load only when a backup runs, not with every command of the CLI.
  const { archiveSources, createArchive } = await import('../../backup/archive.js');
  const { encryptStream, loadEncryptionKey } = await import('../../backup/encrypt.js');
  const { RunLock } = await import('../../backup/run-lock.js');
  const key: EncryptionKey | undefined = values.encrypt ? await loadEncryptionKey(values).catch(asUsage) : undefined;
  const sources = await archiveSources(sourcePaths).catch(asUsage);
  const time = backupTime();
  const fileName = backupFileName(name, time, compression, key !== undefined);
  const target = joinRemote(folder, fileName);
  const quiet = Boolean(flags.quiet);
  const log = (line: string): void => {
    if (!quiet) context.err(line);
  };

  const attempt = RunLock.acquire(context.account.stateDir, folder);
  if (!attempt.acquired) {
    const { pid, host, since } = attempt.holder;
    throw new CliError(
      `another backup of ${folder} is running (pid ${pid} on ${host}, since ${new Date(since).toISOString()}): this run did nothing; let that one finish`,
      ExitCode.busy,
    );
  }
  try {
    if (attempt.tookOverFrom) log(`taking over the lock of ${folder} from a run that is gone (pid ${attempt.tookOverFrom.pid})`);
    const spoolDir = join(context.account.stateDir, 'backup-spool', name);
    // What is left in this set's spool is from a run that crashed: the lock says none is running.
    await rm(spoolDir, { recursive: true, force: true });
    const limit = await spoolBound(spoolDir, values.spoolLimit);

    await ensureFolder(context.account.drive, folder, true);
    if ((await kindAt(context.account.drive, target)) !== 'missing') {
      throw new CliError(`${target} already exists (one backup per second per set): nothing was done`, ExitCode.failed);
    }
    const ref = await context.account.drive.upstreamRef(folder);
    if (ref.kind !== 'folder') throw new CliError(`${folder} is not a folder on 1fichier`, ExitCode.failed);

    log(
      `archiving ${sources.map((s) => s.absolute).join(', ')} (${compression}${key ? ', age-encrypted' : ''}): ` +
        `spooling to ${spoolDir} first, because 1fichier needs the size before the upload and it is known only at the end (limit ${humanSize(limit)})`,
    );
    const warnings: string[] = [];
    let entries = 0;
    let spooledBytes = 0;
    const archive = createArchive(sources, compression, {
      onWarning: (message) => {
        warnings.push(message);
        log(`warning: ${message}`);
      },
      onEntry: () => (entries += 1),
    });
    const ticker = setInterval(() => log(`archiving: ${entries} entries, ${humanSize(spooledBytes)} spooled`), Math.max(10, values.progressInterval * 1000));
    ticker.unref();
    let spooled: SpooledArchive;
    try {
      const stream = key ? await encryptStream(archive, key) : archive;
      spooled = await spoolArchive(stream, spoolDir, limit, { signal: context.signal, onBytes: (total) => (spooledBytes = total) });
    } catch (error) {
      if (error instanceof SpoolLimitError) {
        throw new CliError(`${error.message}: free space there, or raise --spool-limit; nothing was uploaded`, ExitCode.failed);
      }
      throw error;
    } finally {
      clearInterval(ticker);
    }
    log(`archived ${entries} entries: ${humanSize(spooled.size)} spooled, uploading ${target}`);

    let upload: UploadResult;
    try {
      upload = await uploadVerified(context, spooled, fileName, ref.id, quiet, values.progressInterval);
    } finally {
      await spooled.release();
    }
    log(`verified ${target}: Whirlpool ${spooled.whirlpool.slice(0, 16)}… as 1fichier reports it`);

    const made: BackupFile = { name: fileName, time, compression, encrypted: key !== undefined };
    log(`retention: ${describePolicy(policy)}${flags.dryRun ? ' (dry run: nothing is removed)' : ''}`);
    const retention = await applyRetention(context.account.drive, folder, name, policy, made, { dryRun: Boolean(flags.dryRun), log });
    report(context, flags, { folder, target, upload, spooled, made, entries, warnings, retention, policy: describePolicy(policy) });
    return retention.failed.length > 0 ? ExitCode.retention : ExitCode.ok;
  } finally {
    attempt.lock.release();
  }
}

interface Summary {
  folder: string;
  target: string;
  upload: UploadResult;
  spooled: SpooledArchive;
  made: BackupFile;
  entries: number;
  warnings: string[];
  retention: RetentionOutcome;
  policy: string;
}

function report(context: RunContext, flags: BackupFlags, s: Summary): void {
  if (flags.json) {
    printJson(context, {
      backup: {
        name: s.made.name,
        path: s.target,
        time: isoDate(s.made.time),
        size: s.spooled.size,
        whirlpool: s.spooled.whirlpool,
        compression: s.made.compression,
        encrypted: s.made.encrypted,
        entries: s.entries,
        verified: true,
      },
      warnings: s.warnings,
      retention: { policy: s.policy, dryRun: s.retention.dryRun, kept: s.retention.kept, removed: s.retention.removed, failed: s.retention.failed },
    });
    return;
  }
  context.out(`backed up ${s.entries} entries to ${s.target} (${humanSize(s.spooled.size)}, verified)`);
  if (s.retention.dryRun) for (const name of s.retention.removed) context.out(`would remove ${joinRemote(s.folder, name)}`);
  const verb = s.retention.dryRun ? 'would remove' : 'removed';
  context.out(`retention: kept ${s.retention.kept.length}, ${verb} ${s.retention.removed.length}${s.retention.failed.length ? `, failed to remove ${s.retention.failed.length}` : ''}`);
  if (s.warnings.length) context.out(`${s.warnings.length} warning(s): some entries could not be read (see above)`);
}

export function registerBackup(program: Command): void {
  let current: string | undefined;
  const command = accountCommand(program, 'backup [sources...]', 'archive local files and folders into /Backups/NAME, verify the upload, then remove old backups by the keep rules')
    .option('--to <folder>', 'the backup folder, e.g. /Backups/photos (its last segment names the backups)')
    .option('--list <folder>', 'list the backups in this folder instead of making one')
    .option('--dry-run', 'make the backup, but only list the old backups the keep rules would remove')
    .option('--json', 'print a JSON summary (with --list: an array of backups)')
    .option('-q, --quiet', 'no progress output');
  addCommandSettings(command, BACKUP_SETTING_KEYS);
  command.addHelpText('after', `\nBackup-specific exit codes:\n${BACKUP_EXIT_HELP}`);
  command.action(async (sources: string[], flags: BackupFlags) => {
    await runAccountCommand(
      flags,
      async (context) => {
        const { values } = await loadSettings(BACKUP_SETTING_KEYS, flags);
        if (flags.list !== undefined) {
          if (sources.length > 0 || flags.to) throw new CliError('--list takes only the backup folder: backup --list /Backups/NAME', ExitCode.usage);
          const { folder, name } = backupSet(flags.list, '--list');
          current = folder;
          await listBackups(context, folder, name, Boolean(flags.json));
          return ExitCode.ok;
        }
        if (sources.length === 0) throw new CliError('backup needs at least one local file or folder: backup SRC... --to /Backups/NAME', ExitCode.usage);
        current = flags.to;
        return makeBackup(context, sources, flags, values);
      },
      () => current,
    );
  });
}
