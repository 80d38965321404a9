/**
 * 1fichier's limits, checked before anything is stored, locally or upstream:
 * - names: 250 characters (fichier-api.md §5, for folders, and files are believed to follow).
 *   An upload node would silently cut a longer name, and an empty file kept locally could never
 *   be uploaded later;
 * - file size: 300 GB (rclone refuses more, so does 1fichier). A PUT announcing more is refused
 *   before a byte of its body is read or spooled.
 */
import { DriveError } from './types.js';

export const MAX_NAME_CHARACTERS = 250;
export const MAX_FILE_BYTES = 300e9;

export function assertNameLength(name: string): void {
  const length = [...name].length;
  if (length > MAX_NAME_CHARACTERS) {
    throw new DriveError(
      'bad-request',
      `name too long: ${length} characters, and 1fichier allows at most ${MAX_NAME_CHARACTERS} characters per file or folder name`,
    );
  }
}

export function assertFileSize(size: number | undefined): void {
  if (size !== undefined && size > MAX_FILE_BYTES) {
    throw new DriveError('too-large', `file too large: ${size} bytes, and 1fichier accepts files of at most ${MAX_FILE_BYTES / 1e9} GB`);
  }
}
