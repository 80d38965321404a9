/**
 * Spawning the built CLI against a simulator. Each test file builds into its own .tmp directory
 * (others may be rebuilding dist/ at the same time) and gives every CLI run a clean environment:
 * its own XDG cache/config dirs, no inherited FICHIER_* variables.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

export const root = resolve(import.meta.dirname, '../..');

export async function buildCli(name: string): Promise<{ mainJs: string; cleanup(): Promise<void> }> {
  const outDir = join(root, '.tmp', `${name}-${process.pid}`);
  const mainJs = join(outDir, 'cli', 'main.js');
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  // Type errors in other folders must not block these tests: tsc still emits the JS we need.
  await promisify(execFile)(
    process.execPath,
    [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', outDir, '--declaration', 'false', '--sourceMap', 'false'],
    { cwd: root },
  ).catch(() => undefined);
  if (!existsSync(mainJs)) throw new Error('the CLI did not build');
  return { mainJs, cleanup: () => rm(outDir, { recursive: true, force: true }) };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Called with the child right after spawn (e.g. to kill it). */
  onSpawn?: (child: ReturnType<typeof spawn>) => void;
}

/** A clean environment: PATH and HOME only, plus the given variables. */
export function cleanEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

export function runCli(mainJs: string, args: string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [mainJs, ...args], {
      cwd: options.cwd ?? root,
      env: cleanEnv(options.env ?? {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    options.onSpawn?.(child);
  });
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `fichier-dav-${prefix}-`));
}
