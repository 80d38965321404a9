/**
 * `fichier-dav serve` as a user starts it: the built CLI in a child process with a clean
 * environment of its own (HOME, XDG dirs under `home`), for tests that restart it, run the CLI
 * beside it, or watch it refuse to start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { CLI_MAIN } from '../support/built-cli.js';

export interface ServeProcess {
  /** http://127.0.0.1:PORT (no trailing slash). */
  url: string;
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** The environment of a user whose home is `home` (state, cache and config under it). */
export function userEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    HOME: home,
    XDG_CONFIG_HOME: join(home, 'config'),
    XDG_CACHE_HOME: join(home, 'cache'),
    XDG_STATE_HOME: join(home, 'state'),
    ...extra,
  };
}

/** Spawns serve; resolves once it prints its "serving" line, rejects if it exits first. */
export async function startServe(args: string[], env: NodeJS.ProcessEnv, track: ChildProcess[]): Promise<ServeProcess> {
  const child = spawn(process.execPath, [CLI_MAIN, 'serve', '--port', '0', '--log-format', 'json', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  track.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exit = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const match = /serving .* at (https?:\/\/127\.0\.0\.1:\d+)\//.exec(out);
      if (match) resolve(match[1]);
    });
    void exit.then((code) => reject(Object.assign(new Error(`serve exited with ${code}:\n${out}\n${err}`), { code, stderr: err })));
  });
  return {
    url,
    child,
    stdout: () => out,
    stderr: () => err,
    stop: async () => {
      child.kill('SIGTERM');
      return exit;
    },
  };
}

/** Runs serve expecting it to exit before serving; resolves its code and output. */
export function serveUntilExit(args: string[], env: NodeJS.ProcessEnv, track: ChildProcess[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI_MAIN, 'serve', '--port', '0', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  track.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout: out, stderr: err })));
}

/** PROPFIND Depth 1 on `path`; the status and the hrefs listed. */
export async function propfind(base: string, path: string, init: { headers?: Record<string, string> } = {}): Promise<{ status: number; hrefs: string[] }> {
  const response = await fetch(`${base}${path}`, { method: 'PROPFIND', headers: { Depth: '1', ...init.headers } });
  const text = await response.text();
  const hrefs = [...text.matchAll(/<(?:D:|d:)?href>([^<]*)<\/(?:D:|d:)?href>/g)].map((m) => decodeURIComponent(m[1]));
  return { status: response.status, hrefs };
}
