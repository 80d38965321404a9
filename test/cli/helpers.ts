/**
 * Spawning the built CLI against a simulator. Each test file builds into its own .tmp directory
 * (others may be rebuilding dist/ at the same time) and gives every CLI run a clean environment:
 * its own XDG cache/config dirs, no inherited FICHIER_* variables.
 */
import { CLI_MAIN } from '../support/built-cli.js';
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '../..');

/** The CLI compiled once for the whole run (test/global-setup.ts); `name` is kept for call sites. */
export async function buildCli(_name: string): Promise<{ mainJs: string; cleanup(): Promise<void> }> {
  return { mainJs: CLI_MAIN, cleanup: async () => {} };
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
