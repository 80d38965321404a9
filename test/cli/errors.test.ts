/**
 * Every error path of the account CLI: the message names the problem and the fix, the exit code
 * is the documented one, and no output ever carries the API key (good or bad).
 */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/cli/exit-codes.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { buildCli, runCli, tempDir, type CliResult } from './helpers.js';

const API_KEY = 'errors-test-key-8d1f3b2a6c';
const FREE_KEY = 'errors-free-key-4e7a9c1d';
const BAD_KEY = 'errors-wrong-key-2b5d8f0e';
let cli: Awaited<ReturnType<typeof buildCli>>;
let sim: Simulator;
let work: string;
const outputs: string[] = [];

beforeAll(async () => {
  cli = await buildCli('cli-errors');
  sim = await startSimulator({ apiKey: API_KEY, freeApiKey: FREE_KEY, timeScale: 0.01, fixture: 'empty' });
}, 180_000);

afterAll(async () => {
  await sim?.close();
  await cli?.cleanup();
});

beforeEach(async () => {
  work = await tempDir('cli-errors');
});

function env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { XDG_CACHE_HOME: join(work, 'cache'), XDG_STATE_HOME: join(work, 'state'), XDG_CONFIG_HOME: join(work, 'config'), ...extra };
}

async function run(args: string[], extraEnv: Record<string, string | undefined> = { FICHIER_API_KEY: API_KEY }): Promise<CliResult> {
  const result = await runCli(cli.mainJs, args, { cwd: work, env: env(extraEnv) });
  outputs.push(result.stdout, result.stderr);
  return result;
}

const simArgs = () => ['--api-url', sim.apiUrl, '--time-scale', '0.01'];

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('API key problems', () => {
  it('no key at all: exit 2, and the message says where a key comes from', async () => {
    const result = await run(['ls', '/', ...simArgs()], {});
    expect(result.code).toBe(ExitCode.usage);
    expect(result.stderr).toContain('error: no API key: set FICHIER_API_KEY or pass --api-key-file FILE');
    expect(result.stdout).toBe('');
  });

  it('a wrong key: exit 4 with the documented message', async () => {
    const result = await run(['ls', '/', ...simArgs()], { FICHIER_API_KEY: BAD_KEY });
    expect(result.code).toBe(ExitCode.auth);
    expect(result.stderr.trim()).toBe('error: 1fichier refused the API key: check FICHIER_API_KEY (premium account required)');
    const info = await run(['info', ...simArgs()], { FICHIER_API_KEY: BAD_KEY });
    expect(info.code).toBe(ExitCode.auth);
    expect(info.stderr.trim()).toBe('error: 1fichier refused the API key: check FICHIER_API_KEY (premium account required)');
  });

  it('a free (non-premium) key: exit 4, and the message says premium is needed', async () => {
    for (const command of [['info'], ['ls', '/']]) {
      const result = await run([...command, ...simArgs()], { FICHIER_API_KEY: FREE_KEY });
      expect(result.code).toBe(ExitCode.auth);
      expect(result.stderr).toContain('1fichier refused the API key: it belongs to a free account, and the API needs a premium one');
    }
  });

  it('reads the key from --api-key-file, or from "apiKeyFile" in the config file', async () => {
    const keyFile = join(work, 'key');
    await writeFile(keyFile, `${API_KEY}\n`);
    await chmod(keyFile, 0o600);
    const fromFlag = await run(['ls', '/', '--api-key-file', keyFile, ...simArgs()], {});
    expect(fromFlag.code, fromFlag.stderr).toBe(0);
    const config = join(work, 'config.json');
    await writeFile(config, JSON.stringify({ apiKeyFile: keyFile, apiUrl: sim.apiUrl, timeScale: 0.01 }));
    const fromConfig = await run(['ls', '/', '--config', config], {});
    expect(fromConfig.code, fromConfig.stderr).toBe(0);
  });
});

describe('configuration precedence end to end: flag > environment > config file', () => {
  it('the config file alone works; the environment overrides it; a flag overrides the environment', async () => {
    const dead = `http://127.0.0.1:${await closedPort()}/v1`;
    await mkdir(join(work, 'config', 'fichier-dav'), { recursive: true });
    await writeFile(join(work, 'config', 'fichier-dav', 'config.json'), JSON.stringify({ apiUrl: sim.apiUrl, timeScale: 0.01, retries: 1 }));
    const fileOnly = await run(['ls', '/']);
    expect(fileOnly.code, fileOnly.stderr).toBe(0);
    const envWins = await run(['ls', '/'], { FICHIER_API_KEY: API_KEY, FICHIER_DAV_API_URL: dead });
    expect(envWins.code).toBe(ExitCode.unavailable);
    const flagWins = await run(['ls', '/', '--api-url', sim.apiUrl], { FICHIER_API_KEY: API_KEY, FICHIER_DAV_API_URL: dead });
    expect(flagWins.code, flagWins.stderr).toBe(0);
  });

  it('a broken config file is a usage error (exit 2) that names the file and the problem', async () => {
    const config = join(work, 'bad.json');
    await writeFile(config, '{ "rate": 2,');
    const badJson = await run(['ls', '/', '--config', config, ...simArgs()]);
    expect(badJson.code).toBe(ExitCode.usage);
    expect(badJson.stderr).toContain(`the config file ${config} is not valid JSON`);
    await writeFile(config, JSON.stringify({ apiKey: API_KEY }));
    const withKey = await run(['ls', '/', '--config', config, ...simArgs()]);
    expect(withKey.code).toBe(ExitCode.usage);
    expect(withKey.stderr).toContain('must not hold the API key');
    const missing = await run(['ls', '/', '--config', join(work, 'nope.json'), ...simArgs()]);
    expect(missing.code).toBe(ExitCode.usage);
    expect(missing.stderr).toContain('cannot read the config file');
  });
});

describe('usage errors exit 2, --help exits 0', () => {
  it('unknown flag, missing argument, bad value', async () => {
    const unknown = await run(['ls', '--bogus', ...simArgs()]);
    expect(unknown.code).toBe(ExitCode.usage);
    expect(unknown.stderr).toContain("unknown option '--bogus'");
    const missing = await run(['download', '/only-one', ...simArgs()]);
    expect(missing.code).toBe(ExitCode.usage);
    expect(missing.stderr).toContain("missing required argument 'local'");
    const rate = await run(['info', '--rate', '10', ...simArgs()]);
    expect(rate.code).toBe(ExitCode.usage);
    expect(rate.stderr).toContain('--rate: must be at most 3');
    const dots = await run(['ls', '/a/../b', ...simArgs()]);
    expect(dots.code).toBe(ExitCode.usage);
  });

  it('every account command has --help with the exit codes', async () => {
    for (const command of ['info', 'ls', 'upload', 'download', 'link', 'mkdir', 'rm', 'mv', 'remote-upload', 'remote-status']) {
      const help = await run([command, '--help']);
      expect(help.code, command).toBe(0);
      expect(help.stdout).toContain(`Usage: fichier-dav ${command}`);
      expect(help.stdout).toContain('Exit codes:');
      expect(help.stdout).toContain('--api-url <url>');
    }
  });
});

describe('not found', () => {
  it('a missing path: exit 3, and the message says how to see what exists', async () => {
    const ls = await run(['ls', '/x', ...simArgs()]);
    expect(ls.code).toBe(ExitCode.notFound);
    expect(ls.stderr.trim()).toBe('error: no such file or folder: /x (run `fichier-dav ls /` to see what exists)');
    for (const command of [['download', '/x', 'local'], ['link', '/x'], ['rm', '/x'], ['mv', '/x', '/y']]) {
      const result = await run([...command, ...simArgs()]);
      expect(result.code, command.join(' ')).toBe(ExitCode.notFound);
      expect(result.stderr).toContain('no such file or folder: /x (run `fichier-dav ls /` to see what exists)');
    }
  });
});

describe('upstream unavailable', () => {
  it('an API host that does not answer: exit 5, naming the URL and what to check', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/v1`;
    const result = await run(['ls', '/', '--api-url', url, '--time-scale', '0.01', '--retries', '2']);
    expect(result.code).toBe(ExitCode.unavailable);
    expect(result.stderr).toContain(`cannot reach the 1fichier API at ${url}: connection refused`);
    expect(result.stderr).toContain('check --api-url');
  });

  it('a flood: exit 5 "1fichier is rate-limiting this account; retry in N s", and the next run does not knock again', async () => {
    const previous = sim.options();
    sim.setOptions({ floodLockMs: 3_600_000, floodScope: 'key' });
    try {
      // Two user/info calls inside its 60 s window: 1fichier answers Flood detected and locks the key.
      for (let i = 0; i < 2; i++) {
        await fetch(`${sim.apiUrl}/user/info.cgi`, {
          method: 'POST',
          headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
          body: '{}',
        }).then((response) => response.arrayBuffer());
      }
      // A CLI time scale of 0.2 makes its cool-down (30 s, then 60 s, nominal: 6 s, then 12 s) outlast a
      // process start-up even on a loaded machine.
      const slower = ['--api-url', sim.apiUrl, '--time-scale', '0.2', '--retries', '2'];
      const first = await run(['info', ...slower]);
      expect(first.code).toBe(ExitCode.unavailable);
      expect(first.stderr.trim()).toMatch(/^error: 1fichier is rate-limiting this account; retry in \d+ s$/);

      // The same account's next command knows about the cool-down and sends nothing.
      const total = Object.values(sim.stats().calls).reduce((sum, n) => sum + n, 0);
      const again = await run(['info', ...slower]);
      expect(again.code).toBe(ExitCode.unavailable);
      expect(again.stderr.trim()).toMatch(/^error: 1fichier is rate-limiting this account; retry in \d+ s$/);
      expect(Object.values(sim.stats().calls).reduce((sum, n) => sum + n, 0)).toBe(total);

      // Through the drive (listing) too, from a state dir that knows nothing yet.
      const ls = await run(['ls', '/', '--state-dir', join(work, 'other-state'), ...simArgs()]);
      expect(ls.code).toBe(ExitCode.unavailable);
      expect(ls.stderr.trim()).toMatch(/^error: 1fichier is rate-limiting this account; retry in \d+ s$/);
    } finally {
      sim.setOptions({ floodLockMs: previous.floodLockMs, floodScope: previous.floodScope });
      sim.reset();
    }
  });
});

describe('secrets', () => {
  it('no output of this file contains an API key, good, free or wrong', () => {
    expect(outputs.length).toBeGreaterThan(30);
    for (const text of outputs) {
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain(FREE_KEY);
      expect(text).not.toContain(BAD_KEY);
    }
  });
});
