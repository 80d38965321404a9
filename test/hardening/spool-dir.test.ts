/**
 * The upload spool under hostile conditions at start-up and after: many thousand leftovers, a
 * leftover that cannot be removed, a `.part` that is a folder, symbolic links pointing out of the
 * spool, a live process's file, and a spool path that is not a folder at all.
 *
 * Before: one leftover that could not be removed (a folder named `.part`, an immutable file) made
 * the clean-up's Promise.all reject at once, so the bridge started serving while thousands of
 * removals still ran beside its first requests (the very race the start-up clean-up is awaited to
 * prevent); and a file standing where the spool folder should be started the bridge with a
 * warning, then failed every upload of unknown length with a bare 500 "Internal server error".
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SpoolArea } from '../../src/drive/spool.js';
import { hostTag } from '../../src/state/process-owner.js';
import { startHardStack, type HardStack } from './helpers.js';

const dirs: string[] = [];
let stack: HardStack | undefined;
let immutable: string | undefined;

afterEach(async () => {
  if (immutable) execFileSync('chattr', ['-i', immutable]);
  immutable = undefined;
  await stack?.close();
  stack = undefined;
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fichier-dav-spool-'));
  dirs.push(dir);
  return dir;
}

/** Sets the immutable attribute (root on ext4, as locally and in CI); false where the file system refuses. */
function makeImmutable(path: string): boolean {
  try {
    execFileSync('chattr', ['+i', path], { stdio: 'ignore' });
    immutable = path;
    return true;
  } catch {
    return false;
  }
}

/** A chunked PUT (no length: the bridge must spool it). */
async function chunkedPut(url: string, body: Buffer): Promise<{ status: number; text: string }> {
  const response = await fetch(url, {
    method: 'PUT',
    body: new ReadableStream({
      start(controller) {
        controller.enqueue(body);
        controller.close();
      },
    }),
    duplex: 'half',
  } as RequestInit);
  return { status: response.status, text: await response.text() };
}

describe('start-up removal of spool leftovers', () => {
  it('tries every leftover before resolving, whatever one of them does; never touches what a link points to or a live process owns', async () => {
    const dir = await tempDir();
    const spool = join(dir, 'spool');
    await mkdir(spool);
    const tag = hostTag();
    // A dead owner: a pid no process has (beyond Linux's pid_max of 2^22).
    const dead = (name: string) => `4999999-${tag}-${name}.part`;
    const count = 5000;
    for (let i = 0; i < count; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => writeFile(join(spool, dead(`f${i + j}`)), 'x')));
    }
    // Not ours, whatever its name: a folder named like a spool file, with something inside.
    await mkdir(join(spool, dead('a-folder')));
    await writeFile(join(spool, dead('a-folder'), 'inside'), 'keep');
    // Links out of the spool: the link goes, its target stays.
    const outside = join(dir, 'precious.txt');
    await writeFile(outside, 'precious');
    await mkdir(join(dir, 'elsewhere'));
    await writeFile(join(dir, 'elsewhere', dead('inside-target')), 'keep');
    await symlink(outside, join(spool, dead('link-to-file')));
    await symlink(join(dir, 'elsewhere'), join(spool, dead('link-to-folder')));
    // A live process's upload (our parent runs) and a file that is not a spool file.
    const live = `${process.ppid}-${tag}-live.part`;
    await writeFile(join(spool, live), 'in flight');
    await writeFile(join(spool, 'notes.txt'), 'not a spool file');
    const stuck = dead('immutable');
    await writeFile(join(spool, stuck), 'x');
    const canPin = makeImmutable(join(spool, stuck));

    const report = await new SpoolArea(spool, 1024 ** 3).removeLeftovers();

    // Everything was tried before the promise settled: what is left is only what had to stay.
    const left = (await readdir(spool)).sort();
    expect(left).toEqual([dead('a-folder'), ...(canPin ? [stuck] : []), live, 'notes.txt'].sort());
    expect(report.removed).toBe(count + 2 + (canPin ? 0 : 1));
    expect(report.failed).toEqual(canPin ? [{ name: stuck, code: 'EPERM' }] : []);
    expect(await readFile(outside, 'utf8')).toBe('precious');
    expect(await readdir(join(dir, 'elsewhere'))).toEqual([dead('inside-target')]);
    expect(await readdir(join(spool, dead('a-folder')))).toEqual(['inside']);
  }, 120_000);
});

describe('a spool path that cannot be used', () => {
  it('refuses to start with a message naming the spool and the fix, when a file stands where its folder should be', async () => {
    const stateDir = await tempDir();
    await writeFile(join(stateDir, 'spool'), 'not a folder');
    const started = startHardStack({}, { stateDir });
    await expect(started).rejects.toThrow(/upload spool .*spool cannot be used \((ENOTDIR|EEXIST)\): something that is not a folder stands there: move it away/);
    // Nothing of the user's was touched.
    expect(await readFile(join(stateDir, 'spool'), 'utf8')).toBe('not a folder');
  }, 120_000);

  it('a spool folder that became unusable after start answers an upload of unknown length 507 with the way out, not 500', async () => {
    const stateDir = await tempDir();
    stack = await startHardStack({}, { stateDir });
    await rm(join(stateDir, 'spool'), { recursive: true, force: true });
    await writeFile(join(stateDir, 'spool'), 'not a folder');
    const answer = await chunkedPut(`${stack.url}/unknown-length.bin`, Buffer.alloc(10_000, 7));
    expect(answer.status, answer.text).toBe(507);
    expect(answer.text).toMatch(/send Content-Length/);
    expect(stack.sim.stats().uploads).toBe(0);
    // The bridge still serves.
    expect((await fetch(`${stack.url}/`, { method: 'PROPFIND', headers: { Depth: '1' } })).status).toBe(207);
  }, 120_000);
});
