/**
 * A change of the drive, as notifications carry it. Paths are drive paths (decoded, absolute).
 * `moved` carries the new path in `path` and the old one in `oldPath`.
 */
export type ChangeKind = 'created' | 'modified' | 'deleted' | 'moved';

export interface ChangeEvent {
  event: ChangeKind;
  path: string;
  oldPath?: string;
  /** 'folder' for collections (MKCOL, folder moves); 'file' otherwise. */
  kind: 'file' | 'folder';
  /** Bytes, for files when known. */
  size?: number;
  time: Date;
}

/** The folder holding `path` ('/' for top-level entries). */
export function parentPath(path: string): string {
  const cut = path.replace(/\/+$/, '').lastIndexOf('/');
  return cut <= 0 ? '/' : path.slice(0, cut);
}
