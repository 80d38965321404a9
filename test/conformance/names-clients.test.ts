/**
 * Real clients over the simulator's `names` fixture (hostile names as the web UI, rclone's fichier
 * backend and macOS store them): rclone's WebDAV backend, cadaver, curl and litmus. No client
 * prints an error, and every listed file downloads byte-exact (each file's first line says which
 * fixture file it is, see src/simulator/fixture-names.ts).
 *
 * The binaries come from Debian packages (rclone, cadaver, curl, litmus) that `.ci/run` installs;
 * without one a test is skipped locally and fails in CI.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePathName } from '../../src/fichier/names.js';
import { NAMES_FIXTURE_FILES, NAMES_FIXTURE_FOLDERS, namesFixtureContent } from '../../src/simulator/fixture-names.js';
import { startStack, type Stack } from '../integration/helpers.js';
import { parseLitmusOutput, problems } from './litmus-output.js';

const run = promisify(execFile);

async function has(binary: string): Promise<boolean> {
  try {
    await run('which', [binary]);
    return true;
  } catch {
    return false;
  }
}

const available = {
  curl: await has('curl'),
  rclone: await has('rclone'),
  cadaver: await has('cadaver'),
  litmus: await has('litmus'),
};
for (const [binary, present] of Object.entries(available)) {
  if (!present && process.env.CI) throw new Error(`${binary} is not installed; .ci/run must install it`);
}

const ALL_INDEXES = NAMES_FIXTURE_FILES.map((_, index) => index);

let stack: Stack;
let work: string;

beforeAll(async () => {
  stack = await startStack({ fixture: 'names' });
  work = await mkdtemp(join(tmpdir(), 'fichier-dav-names-'));
});

afterAll(async () => {
  await stack?.close();
  await rm(work, { recursive: true, force: true });
});

/** The fixture index a downloaded body claims, or -1 when the body is not exactly that file. */
function fixtureIndexOf(body: Buffer): number {
  const index = Number(/^names fixture file (\d+)\n/.exec(body.toString('utf8'))?.[1]);
  return Number.isInteger(index) && index < NAMES_FIXTURE_FILES.length && body.equals(namesFixtureContent(index)) ? index : -1;
}

/** Fixture indexes of every file under a local directory (recursively). */
async function indexesIn(dir: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) found.push(fixtureIndexOf(await readFile(join(entry.parentPath, entry.name))));
  }
  return found.sort((a, b) => a - b);
}

describe.skipIf(!available.rclone)("rclone's WebDAV backend", () => {
  const rclone = (...args: string[]) =>
    run('rclone', ['--webdav-url', stack.url + '/', '--webdav-vendor', 'other', '--config', '/dev/null', ...args], {
      maxBuffer: 64 * 1024 * 1024,
    });

  it('lists the tree without a complaint and copies every file byte-exact', async () => {
    const listing = await rclone('lsjson', '-R', ':webdav:Noms');
    expect(listing.stderr).not.toMatch(/ERROR|doesn't belong|ignoring/i);
    const entries = JSON.parse(listing.stdout) as Array<{ Path: string; IsDir: boolean }>;
    expect(entries.filter((entry) => !entry.IsDir)).toHaveLength(NAMES_FIXTURE_FILES.length);
    expect(entries.map((entry) => entry.Path)).toContain('a／b.txt');

    const target = join(work, 'rclone');
    const copy = await rclone('copy', ':webdav:Noms', target);
    expect(copy.stderr).not.toMatch(/ERROR|doesn't belong|ignoring/i);
    expect(await indexesIn(target)).toEqual(ALL_INDEXES);
  }, 120_000);
});

describe.skipIf(!available.cadaver)('cadaver', () => {
  it('lists every folder and downloads every file with mget, without an error', async () => {
    const target = join(work, 'cadaver');
    const folders = NAMES_FIXTURE_FOLDERS.map((path, index) => ({
      // cadaver quotes with double quotes; no fixture folder name holds one.
      path: path.split('/').map(decodePathName).map((name) => `"${name}"`),
      local: join(target, `folder-${index}`),
    }));
    const script: string[] = [];
    for (const [index, folder] of folders.entries()) {
      await mkdir(folder.local, { recursive: true });
      script.push('cd /', ...folder.path.map((name) => `cd ${name}`), 'ls', `lcd ${folder.local}`, 'mget *');
      // Like a shell, cadaver's `*` skips dot files: fetch those where the folder has some.
      const dotFiles = NAMES_FIXTURE_FILES.some((file) => file.folder === NAMES_FIXTURE_FOLDERS[index] && file.stored.startsWith('.'));
      if (dotFiles) script.push('mget .*');
    }
    script.push('quit', '');
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('cadaver', [`${stack.url}/`], { stdio: ['pipe', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(text));
      child.stdin.end(script.join('\n'));
    });
    expect(output.match(/Listing collection `[^']*': succeeded/g)).toHaveLength(folders.length);
    // mget also matches sub-collections, which cadaver cannot download: its only failures.
    const failures = output.split(/\r?\n/).filter((line) => /failed|not found|could not|error/i.test(line));
    const collectionFailures = output.match(/Downloading `[^`]*\/' to : failed:/g) ?? [];
    expect(failures.filter((line) => !/\/' to : failed:/.test(line)), output.slice(-3000)).toEqual([]);
    expect(collectionFailures).toHaveLength(NAMES_FIXTURE_FOLDERS.length - 1);
    expect(await indexesIn(target)).toEqual(ALL_INDEXES);
  }, 120_000);
});

describe.skipIf(!available.curl)('curl', () => {
  async function curl(...args: string[]): Promise<Buffer> {
    const { stdout } = await run('curl', ['-sS', '--fail', '--path-as-is', ...args], { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  }

  it('walks the hrefs of PROPFIND answers and GETs each file byte-exact, and a range of each as 206', async () => {
    const found: number[] = [];
    const folders = ['/Noms/'];
    while (folders.length > 0) {
      const folder = folders.shift()!;
      const xml = (await curl('-X', 'PROPFIND', '-H', 'Depth: 1', `${stack.url}${folder}`)).toString('utf8');
      const hrefs = [...xml.matchAll(/<D:href>([^<]*)<\/D:href>/g)]
        .map((match) => match[1].replace(/&amp;/g, '&').replace(/&apos;/g, "'"))
        .filter((href) => href !== folder);
      for (const href of hrefs) {
        expect(href.startsWith(folder), href).toBe(true);
        if (href.endsWith('/')) {
          folders.push(href);
          continue;
        }
        const body = await curl(`${stack.url}${href}`);
        found.push(fixtureIndexOf(body));
        const headers = (await curl('-D', '-', '-o', '/dev/null', '-r', '0-', `${stack.url}${href}`)).toString('latin1');
        expect(headers, href).toMatch(/^HTTP\/1\.1 206/);
        expect(headers, href).toMatch(new RegExp(`Content-Range: bytes 0-${body.length - 1}/${body.length}`, 'i'));
      }
    }
    expect(found.sort((a, b) => a - b)).toEqual(ALL_INDEXES);
  }, 120_000);
});

describe.skipIf(!available.litmus)('litmus inside a folder whose name needs every escape', () => {
  // `Dossier ％ # ? ; + 🎬 a／b`: every href litmus gets back must carry the folder's encoding.
  const base = `/Noms/${encodeURIComponent(decodePathName(NAMES_FIXTURE_FOLDERS[1].split('/')[1]))}/`;

  for (const suite of ['basic', 'copymove', 'props', 'locks', 'http']) {
    it(`suite ${suite} passes without warnings`, async () => {
      const cwd = await mkdtemp(join(work, 'litmus-'));
      const output = await new Promise<string>((resolve, reject) => {
        const child = spawn('litmus', ['-k', `${stack.url}${base}`], { cwd, env: { ...process.env, TESTS: suite }, stdio: ['ignore', 'pipe', 'pipe'] });
        let text = '';
        child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        child.on('error', reject);
        child.on('close', () => resolve(text));
      });
      const report = parseLitmusOutput(output);
      expect(report.suites.map((found) => found.name), output.slice(-2000)).toContain(suite);
      expect(problems(report)).toEqual([]);
    }, 120_000);
  }
});
