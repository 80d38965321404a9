/**
 * The CLI as a newcomer and a script meet it (issue 17): --version, usage errors exit 2 on every
 * command, `download X -` writes to stdout, --json on the commands that change things, rm's
 * --dry-run, a refused key names where it came from, a missing local folder fails before any
 * transfer, and shell completion scripts that the shells themselves accept.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { buildCli, root, runCli, tempDir, type CliResult } from './helpers.js';

const API_KEY = 'cli-items-key-8b1e2d3c4a';
let cli: Awaited<ReturnType<typeof buildCli>>;
let sim: Simulator;
let work: string;

beforeAll(async () => {
  cli = await buildCli('cli-items');
  sim = await startSimulator({ apiKey: API_KEY, timeScale: 0.01, fixture: 'empty' });
}, 180_000);

afterAll(async () => {
  await sim?.close();
});

beforeEach(async () => {
  work = await tempDir('cli-items');
});

const env = (extra: Record<string, string | undefined> = {}) => ({
  FICHIER_API_KEY: API_KEY,
  XDG_CACHE_HOME: join(work, 'cache'),
  XDG_CONFIG_HOME: join(work, 'config'),
  ...extra,
});

async function fc(args: string[], extra: Record<string, string | undefined> = {}): Promise<CliResult> {
  const [command, ...rest] = args;
  return runCli(cli.mainJs, [command, '--retries', '5', ...rest, '--api-url', sim.apiUrl, '--time-scale', '0.01'], { cwd: work, env: env(extra) });
}

let counter = 0;
async function freshFolder(): Promise<{ id: number; path: string }> {
  const name = `i${++counter}-${randomBytes(3).toString('hex')}`;
  return { id: await sim.addFolder({ name }), path: `/${name}` };
}

describe('the program', () => {
  it('--version prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const result = await runCli(cli.mainJs, [flag]);
      expect(result.code).toBe(0);
      expect(result.stdout.trim()).toBe(version);
    }
  });

  it('an unknown option or a missing argument exits 2 on every command, as documented', async () => {
    for (const args of [[], ['--bogus'], ['serve', '--bogus'], ['demo', '--bogus'], ['simulate', '--bogus'], ['ls', '--bogus'], ['download', '/x'], ['completion', 'tcsh']]) {
      const result = await runCli(cli.mainJs, args, { env: env() });
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(/error|Usage/);
    }
    for (const args of [['--help'], ['serve', '--help'], ['ls', '--help']]) expect((await runCli(cli.mainJs, args)).code, args.join(' ')).toBe(0);
  }, 180_000);
});

describe('download', () => {
  it('download REMOTE - writes the exact bytes to stdout and the summary to stderr', async () => {
    const folder = await freshFolder();
    const content = randomBytes(70_000).toString('base64');
    await sim.addFile({ folderId: folder.id, name: 'out.txt', content });
    const result = await fc(['download', `${folder.path}/out.txt`, '-']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(content);
    expect(result.stderr).toContain('-> stdout');
    expect(existsSync(join(work, '-'))).toBe(false);
  });

  it('a missing local folder fails at once with exit 2, before any download', async () => {
    const folder = await freshFolder();
    await sim.addFile({ folderId: folder.id, name: 'a.bin', content: randomBytes(1000) });
    const before = sim.stats();
    const result = await fc(['download', `${folder.path}/a.bin`, 'no/such/dir/a.bin']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('the local folder no/such/dir does not exist');
    expect(result.stderr).toContain('mkdir -p no/such/dir');
    const after = sim.stats();
    expect(after.tokensIssued - before.tokensIssued).toBe(0);
    expect(after.bytesServed - before.bytesServed).toBe(0);
  });

  it('a key from --api-key-file that 1fichier refuses is reported against that file, not FICHIER_API_KEY', async () => {
    const keyFile = join(work, 'key');
    await writeFile(keyFile, 'not-the-right-key\n');
    await chmod(keyFile, 0o600);
    const result = await fc(['info', '--api-key-file', keyFile], { FICHIER_API_KEY: undefined });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain(`check the key file ${keyFile}`);
    expect(result.stderr).not.toContain('FICHIER_API_KEY');
  });
});

describe('--json and --dry-run', () => {
  it('mkdir, upload, download, mv and rm print one JSON document with --json', async () => {
    const base = `/j-${randomBytes(3).toString('hex')}`;
    const made = await fc(['mkdir', '-p', `${base}/sub`, '--json']);
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout)).toEqual({ created: [base, `${base}/sub`] });

    await writeFile(join(work, 'one.txt'), 'one bytes');
    const up = await fc(['upload', 'one.txt', `${base}/sub`, '--json', '-q']);
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout)).toMatchObject({ uploaded: [{ local: join(work, 'one.txt'), remote: `${base}/sub/one.txt`, size: 9 }], failed: [] });

    const down = await fc(['download', `${base}/sub/one.txt`, join(work, 'back.txt'), '--json', '-q']);
    expect(down.code, down.stderr).toBe(0);
    expect(JSON.parse(down.stdout)).toEqual({ downloaded: { remote: `${base}/sub/one.txt`, local: join(work, 'back.txt'), size: 9, verified: true } });
    expect(await readFile(join(work, 'back.txt'), 'utf8')).toBe('one bytes');

    const moved = await fc(['mv', `${base}/sub/one.txt`, `${base}/two.txt`, '--json']);
    expect(moved.code, moved.stderr).toBe(0);
    expect(JSON.parse(moved.stdout)).toEqual({ moved: { from: `${base}/sub/one.txt`, to: `${base}/two.txt` } });

    const removed = await fc(['rm', `${base}/two.txt`, '--json']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout)).toEqual({ dryRun: false, removed: [{ path: `${base}/two.txt`, kind: 'file' }] });
  }, 180_000);

  it('rm -r --dry-run lists the folder and everything inside, and removes nothing', async () => {
    const folder = await freshFolder();
    const inner = await sim.addFolder({ name: 'inner', parentId: folder.id });
    await sim.addFile({ folderId: folder.id, name: 'top.txt', content: 'top' });
    await sim.addFile({ folderId: inner, name: 'deep.txt', content: 'deep' });
    const dry = await fc(['rm', '-r', '--dry-run', folder.path]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout.trim().split('\n').sort()).toEqual(
      [`would remove ${folder.path}/`, `would remove ${folder.path}/inner/`, `would remove ${folder.path}/inner/deep.txt`, `would remove ${folder.path}/top.txt`].sort(),
    );
    const still = await fc(['ls', `${folder.path}/inner`, '--json']);
    expect(still.code, still.stderr).toBe(0);
    expect((JSON.parse(still.stdout) as Array<{ name: string }>).map((entry) => entry.name)).toEqual(['deep.txt']);
  }, 120_000);
});

describe('shell completion', () => {
  it('bash completes commands and a command\'s flags', async () => {
    const script = await runCli(cli.mainJs, ['completion', 'bash']);
    expect(script.code).toBe(0);
    const file = join(work, 'completion.bash');
    await writeFile(file, script.stdout);
    const ask = (words: string) =>
      spawnSync('bash', ['-c', `source ${file}; COMP_WORDS=(${words}); COMP_CWORD=$((\${#COMP_WORDS[@]}-1)); _fichier_dav; printf '%s\\n' "\${COMPREPLY[@]}"`], {
        encoding: 'utf8',
      }).stdout.trim().split('\n');
    expect(ask('fichier-dav se')).toEqual(['serve']);
    expect(ask('fichier-dav serve --read')).toEqual(expect.arrayContaining(['--read-only', '--read-ahead']));
    expect(ask('fichier-dav rm --dr')).toEqual(['--dry-run']);
  });

  for (const shell of ['zsh', 'fish'] as const) {
    // .ci/run installs zsh and fish.
    it(`${shell}: the script parses and names every command`, async () => {
      const script = await runCli(cli.mainJs, ['completion', shell]);
      expect(script.code).toBe(0);
      const file = join(work, `completion.${shell}`);
      await mkdir(work, { recursive: true });
      await writeFile(file, script.stdout);
      const check = spawnSync(shell, ['-n', file], { encoding: 'utf8' });
      expect(check.status, check.stderr).toBe(0);
      for (const command of ['serve', 'demo', 'download', 'rm', 'completion']) expect(script.stdout).toContain(command);
    });
  }
});
