/**
 * The mount commands `serve` prints, run as printed, when the server requires a login: before,
 * they carried no user name, so the rclone line got 401 and the curl line too. The password is
 * never printed; the rclone line shows where it goes ('PASSWORD').
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { CLI_MAIN } from '../support/built-cli.js';

const KEY = 'mount-banner-key-0123456789';
const PASSWORD = "it's a long pass: with spaces";
let sim: Simulator;
let home: string;
let serve: ChildProcess | undefined;

beforeAll(async () => {
  sim = await startSimulator({ apiKey: KEY, timeScale: 0.01, fixture: 'demo' });
  home = await mkdtemp(join(tmpdir(), 'fichier-dav-banner-'));
});

afterAll(async () => {
  serve?.kill('SIGTERM');
  await sim?.close();
  if (home) await rm(home, { recursive: true, force: true });
});

describe('serve with a user prints mount commands that log in', () => {
  it('the rclone line, with the password put where it says, lists the drive; no line holds the password', async () => {
    serve = spawn(
      process.execPath,
      [CLI_MAIN, 'serve', '--api-url', sim.apiUrl, '--time-scale', '0.01', '--port', '0', '--state-dir', join(home, 'state'), '--user', 'alice'],
      { env: { PATH: process.env.PATH ?? '', HOME: home, FICHIER_API_KEY: KEY, FICHIER_DAV_PASS: PASSWORD }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    serve.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    serve.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    await new Promise<void>((resolve, reject) => {
      serve!.stdout!.on('data', () => /curl .*\n/.test(out) && resolve());
      serve!.once('exit', (code) => reject(new Error(`serve exited with ${code}:\n${out}`)));
    });
    expect(out).not.toContain(PASSWORD);
    const rcloneLine = /rclone: (rclone lsf .*)$/m.exec(out)![1];
    expect(rcloneLine).toContain('PASSWORD');
    const command = rcloneLine.replace("'PASSWORD'", `'${PASSWORD.replaceAll("'", "'\\''")}'`);
    // Asynchronously: the simulator answering the bridge runs in this process.
    const listed = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('sh', ['-c', command], { env: { PATH: process.env.PATH ?? '', HOME: home, RCLONE_CONFIG: join(home, 'rclone.conf') } });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.once('close', (status) => resolve({ status, stdout, stderr }));
    });
    expect(listed.status, `${command}\n${listed.stderr}`).toBe(0);
    expect(listed.stdout).toContain('LISEZMOI.txt');
    expect(/curl +(curl .*)$/m.exec(out)![1]).toContain('-u alice');
  }, 120_000);
});
