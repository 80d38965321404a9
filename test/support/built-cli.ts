/**
 * The CLI as users run it, compiled once per test run by test/global-setup.ts into a private
 * directory (so a concurrent `npm run build` into dist/ is never disturbed). Tests that spawn
 * `fichier-dav` use this path.
 */
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const TEST_BUILD_DIR = join(ROOT, '.tmp', 'test-cli');
export const CLI_MAIN = join(TEST_BUILD_DIR, 'cli', 'main.js');
