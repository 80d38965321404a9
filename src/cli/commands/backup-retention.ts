/**
 * Applying the keep rules to a backup folder after a verified upload: list `/Backups/NAME`, plan
 * with the retention planner (restic's rules), remove what it does not keep. The backup just made
 * is always kept, even when the listing does not show it yet (listings may lag behind uploads).
 */
import type { FichierDrive } from '../../drive/fichier-drive.js';
import { parseBackupFileName, type BackupFile } from '../../backup/naming.js';
import { planRetention, type KeepPolicy } from '../../backup/retention.js';
import { joinRemote } from './common.js';

export interface RetentionOutcome {
  kept: Array<{ name: string; reasons: string[] }>;
  /** Removed, or with dryRun what would be removed (newest first). */
  removed: string[];
  failed: Array<{ name: string; error: string }>;
  dryRun: boolean;
}

/** The backups of set `name` in `folder`, oldest first (other files are not listed). */
export async function listBackupFiles(drive: FichierDrive, folder: string, name: string): Promise<Array<BackupFile & { size: number; checksum?: string }>> {
  const entries = await drive.list(folder);
  const backups: Array<BackupFile & { size: number; checksum?: string }> = [];
  for (const entry of entries) {
    if (entry.kind !== 'file') continue;
    const parsed = parseBackupFileName(name, entry.name);
    if (parsed) backups.push({ ...parsed, size: entry.size, checksum: entry.checksum });
  }
  return backups.sort((a, b) => a.time.getTime() - b.time.getTime());
}

export async function applyRetention(
  drive: FichierDrive,
  folder: string,
  name: string,
  policy: KeepPolicy,
  justMade: BackupFile,
  options: { dryRun: boolean; log(line: string): void },
): Promise<RetentionOutcome> {
  const backups: BackupFile[] = await listBackupFiles(drive, folder, name);
  if (!backups.some((backup) => backup.name === justMade.name)) backups.push(justMade);
  const plan = planRetention(backups, policy, new Set([justMade.name]));
  const outcome: RetentionOutcome = {
    kept: plan.keep.map(({ backup, reasons }) => ({ name: backup.name, reasons })),
    removed: [],
    failed: [],
    dryRun: options.dryRun,
  };
  for (const backup of plan.remove) {
    if (backup.name === justMade.name) continue; // cannot happen (protected); kept as a last guard
    if (options.dryRun) {
      outcome.removed.push(backup.name);
      continue;
    }
    try {
      await drive.remove(joinRemote(folder, backup.name));
      options.log(`removed ${joinRemote(folder, backup.name)}`);
      outcome.removed.push(backup.name);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      options.log(`error: could not remove ${joinRemote(folder, backup.name)}: ${message}`);
      outcome.failed.push({ name: backup.name, error: message });
    }
  }
  return outcome;
}
