/**
 * OS housekeeping files: macOS AppleDouble `._name` files and `.DS_Store`, Windows `Thumbs.db` and
 * `desktop.ini`. File managers write and probe them constantly; uploading them would litter the
 * account and spend the API budget, so by default they live only in local state and looking one
 * up never calls the API.
 */
const EXACT = new Set(['.ds_store', 'thumbs.db', 'desktop.ini', '.localized']);

export function isSystemFileName(name: string): boolean {
  return name.startsWith('._') || EXACT.has(name.toLowerCase());
}
