/** Making sure a remote folder exists (mkdir -p), shared by mkdir, upload and remote-upload. */
import type { FichierDrive } from '../../drive/fichier-drive.js';
import { DriveError } from '../../drive/types.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { notFoundMessage } from './errors.js';

/** What is at `path`: 'folder', 'file' or 'missing' (a missing parent is 'missing' too). */
export async function kindAt(drive: FichierDrive, path: string): Promise<'folder' | 'file' | 'missing'> {
  try {
    return (await drive.stat(path)).kind;
  } catch (error) {
    if (error instanceof DriveError && (error.code === 'not-found' || error.code === 'conflict')) return 'missing';
    throw error;
  }
}

/**
 * Ensures `path` is a folder. With `parents`, creates it and every missing ancestor (returns the
 * paths created); without, a missing folder is a not-found error that suggests -p.
 */
export async function ensureFolder(drive: FichierDrive, path: string, parents: boolean): Promise<string[]> {
  const kind = await kindAt(drive, path);
  if (kind === 'folder') return [];
  if (kind === 'file') throw new CliError(`${path} is a file, not a folder`, ExitCode.failed);
  if (!parents) throw new CliError(`${notFoundMessage(path)}; add -p to create it`, ExitCode.notFound);
  const created: string[] = [];
  const parts = path.split('/').filter(Boolean);
  let current = '';
  for (const part of parts) {
    current = `${current}/${part}`;
    const here = await kindAt(drive, current);
    if (here === 'folder') continue;
    if (here === 'file') throw new CliError(`${current} is a file, so ${path} cannot be created`, ExitCode.failed);
    await drive.mkdir(current);
    created.push(current);
  }
  return created;
}
