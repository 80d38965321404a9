/**
 * The package as users install it: `npm pack`, then an install of the tarball alone in a clean
 * folder, which runs `fichier-dav --version`, `demo` (and the account CLI against the demo's
 * simulator, as the README shows), `simulate` + `serve`, and imports the client library, typed.
 *
 * The tarball is packed from a staging copy (built there), so the repo's dist/ is never touched.
 * better-sqlite3's native addon is copied from the repo's own install instead of compiled: the
 * tarball install runs with --ignore-scripts because compiling SQLite takes minutes on these
 * machines and its prebuilt binaries cannot be downloaded here. Same version, same Node.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/built-cli.js';

const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
let work: string;
let clean: string;
let tarball: string;
let contents: string[];
const children: ChildProcess[] = [];

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 480_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const bin = () => join(clean, 'node_modules', '.bin', 'fichier-dav');

/** Starts the installed CLI and resolves once stdout matches `ready`. */
function start(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<{ out: () => string; match: RegExpExecArray; child: ChildProcess }> {
  const child = spawn(bin(), args, {
    cwd: clean,
    env: { PATH: process.env.PATH, HOME: clean, XDG_CACHE_HOME: join(clean, 'cache'), XDG_CONFIG_HOME: join(clean, 'config'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const match = ready.exec(out);
      if (match) resolve({ out: () => out, match, child });
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}:\n${out}\n${err}`)));
  });
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'fichier-dav-pack-'));
  const staging = join(work, 'staging');
  mkdirSync(staging);
  for (const entry of ['package.json', 'LICENSE', 'README.md', 'docs', 'scripts']) cpSync(join(ROOT, entry), join(staging, entry), { recursive: true });
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const build = run(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(staging, 'dist')], ROOT);
  expect(build.status, build.stdout + build.stderr).toBe(0);
  const packed = run('npm', ['pack', '--ignore-scripts', '--pack-destination', work, '--json'], staging);
  expect(packed.status, packed.stderr).toBe(0);
  const info = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(work, info[0].filename);
  contents = info[0].files.map((file) => file.path);

  clean = join(work, 'clean');
  mkdirSync(clean);
  writeFileSync(join(clean, 'package.json'), JSON.stringify({ name: 'clean', private: true, type: 'module' }));
  const install = run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', tarball], clean);
  expect(install.status, install.stderr).toBe(0);
  cpSync(join(ROOT, 'node_modules', 'better-sqlite3', 'build'), join(clean, 'node_modules', 'better-sqlite3', 'build'), { recursive: true });
}, 900_000);

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('ships the runtime, the licence and the docs; no bench, no source maps, no tests', () => {
    expect(contents).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js']));
    expect(contents.filter((path) => path.endsWith('.map'))).toEqual([]);
    expect(contents.filter((path) => path.startsWith('dist/bench/') || path.startsWith('test/') || path.startsWith('src/'))).toEqual([]);
  });

  it('installed alone, runs `fichier-dav --version`', () => {
    const result = run(bin(), ['--version'], clean);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it('runs `demo`, and the account CLI works against the demo with the key and URL it prints', async () => {
    const demo = await start(['demo', '--port', '0'], /Press Ctrl\+C to stop/);
    // The same simulated account through the account CLI, with the URL and key the demo printed.
    // (user/info: the CLI and the bridge do not share 1fichier's per-folder listing window.)
    const url = /export FICHIER_DAV_API_URL=(\S+)/.exec(demo.out())![1];
    const key = /export FICHIER_API_KEY=(\S+)/.exec(demo.out())![1];
    const info = run(bin(), ['info', '--json'], clean, { FICHIER_DAV_API_URL: url, FICHIER_API_KEY: key, XDG_CACHE_HOME: join(clean, 'cache') });
    expect(info.status, info.stderr).toBe(0);
    expect(JSON.parse(info.stdout)).toHaveProperty('email');
    const davUrl = /served at (http:\/\/\S+)/.exec(demo.out())![1];
    expect((await fetch(davUrl, { method: 'PROPFIND', headers: { Depth: '1' } })).status).toBe(207);
    demo.child.kill('SIGTERM');
  }, 240_000);

  it('runs `simulate` and `serve` against it, with settings from the environment', async () => {
    const sim = await start(['simulate'], /^(\{.*\})\n/m);
    const { apiUrl, apiKey } = JSON.parse(sim.match[1]) as { apiUrl: string; apiKey: string };
    const served = await start(['serve'], /serving \S+ at (http:\/\/\S+)/, { FICHIER_API_KEY: apiKey, FICHIER_DAV_API_URL: apiUrl, FICHIER_DAV_PORT: '0' });
    const url = served.match[1];
    expect((await fetch(url, { method: 'PROPFIND', headers: { Depth: '1' } })).status).toBe(207);
    expect((await fetch(new URL('/readyz', url))).status).toBe(200);
    served.child.kill('SIGTERM');
    sim.child.kill('SIGTERM');
  }, 120_000);

  it('imports the client library (and the simulator entry) by package name, with types', () => {
    const script = [
      "import { FichierClient, AuthError, encodeName } from 'fichier-dav';",
      "import { startSimulator } from 'fichier-dav/simulator';",
      "console.log(typeof FichierClient, typeof AuthError, typeof encodeName, typeof startSimulator);",
    ].join('\n');
    const imported = run(process.execPath, ['--input-type=module', '-e', script], clean);
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stdout.trim()).toBe('function function function function');

    writeFileSync(join(clean, 'use.ts'), "import { FichierClient, type AccountInfo } from 'fichier-dav';\nexport const make = (apiKey: string): FichierClient => new FichierClient({ apiKey });\nexport type Info = AccountInfo;\n");
    writeFileSync(
      join(clean, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['use.ts'] }),
    );
    const typed = run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(clean, 'tsconfig.json')], clean);
    expect(typed.status, typed.stdout + typed.stderr).toBe(0);
    expect(readdirSync(join(clean, 'node_modules', 'fichier-dav'))).toContain('LICENSE');
  });
});
