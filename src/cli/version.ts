/** The package's version, read from its package.json (the one source `npm version` updates). */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Walks up from this file to the package.json named fichier-dav: from dist/cli in an install,
 * from src/cli in a clone, or from a test build directory.
 */
export function packageVersion(from: string = import.meta.dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const json = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (json.name === 'fichier-dav' && json.version) return json.version;
    }
    if (dirname(dir) === dir) return '0.0.0-unknown';
  }
}
