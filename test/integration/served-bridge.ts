/**
 * The real CLI (`fichier-dav serve`) in a child process over an in-process simulator, so a test can
 * kill -9 it at any moment and start it again on the same state directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI_MAIN } from '../support/built-cli.js';
import type { Simulator } from '../../src/simulator/index.js';

export interface ServedBridge {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

export async function serveCli(sim: Simulator, stateDir: string, home: string, extra: string[] = []): Promise<ServedBridge> {
  const child = spawn(
    process.execPath,
    [CLI_MAIN, 'serve', '--api-url', sim.apiUrl, '--port', '0', '--time-scale', '0.01', '--state-dir', stateDir, ...extra],
    { env: { PATH: process.env.PATH ?? '', HOME: home, FICHIER_API_KEY: sim.apiKey }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const check = () => {
      const match = /serving .* at https?:\/\/127\.0\.0\.1:(\d+)\//.exec(out);
      if (match) resolve(Number(match[1]));
    };
    child.stdout!.on('data', check);
    void exited.then((code) => reject(new Error(`serve exited with ${code} before listening:\n${out}`)));
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    output: () => out,
    exited,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
