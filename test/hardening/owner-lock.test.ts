/**
 * Owners that pids cannot see: two containers with one hostname on one state volume live in
 * different PID namespaces, so each sees the other's bridge as "no such pid" (or as its own pid 1)
 * and took the other's live uploads for a dead predecessor's. Each bridge now holds an owner lock
 * for its life (src/state/owner-lock.ts); here a child process stands for the other container:
 * it holds the lock of a pid that does not run in this namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { holdOwnerLock, OWNERS_DIR, TwinOwnerError } from '../../src/state/owner-lock.js';
import { hostTag, ownerGone, processAlive } from '../../src/state/process-owner.js';
import { TEST_BUILD_DIR } from '../support/built-cli.js';
import { startHardStack, type HardStack } from './helpers.js';

/** A pid no process has here (beyond Linux's pid_max of 2^22): another namespace's bridge. */
const OTHER_PID = 4_999_998;
const dirs: string[] = [];
const children: ChildProcess[] = [];
let stack: HardStack | undefined;

afterEach(async () => {
  await stack?.close();
  stack = undefined;
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A process holding the owner lock of `pid` in `stateDir` until killed (the other container). */
async function otherOwner(stateDir: string, pid: number): Promise<ChildProcess> {
  const module = pathToFileURL(join(TEST_BUILD_DIR, 'state', 'owner-lock.js')).href;
  const child = spawn(process.execPath, ['--input-type=module', '-e', `
    const { holdOwnerLock } = await import(${JSON.stringify(module)});
    try {
      holdOwnerLock(${JSON.stringify(stateDir)}, { pid: ${pid}, tag: ${JSON.stringify(hostTag())} });
      process.stdout.write('held\\n');
    } catch (error) {
      process.stdout.write(error.name + '\\n');
    }
    setInterval(() => {}, 60000);
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const line = await new Promise<string>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
  expect(line).toBe('held');
  return child;
}

function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fichier-dav-owner-'));
  dirs.push(dir);
  return dir;
}

/** The account folder a bridge made under `stateDir` (the one holding `owners/`). */
async function accountDir(stateDir: string): Promise<string> {
  for (const entry of await readdir(stateDir, { recursive: true, withFileTypes: true })) {
    if (entry.isDirectory() && entry.name === OWNERS_DIR) return entry.parentPath;
  }
  throw new Error(`no ${OWNERS_DIR} folder under ${stateDir}`);
}

describe('owner locks', () => {
  it('a live owner whose pid does not run here is alive while it holds its lock, dead (and its lock file gone) once killed', async () => {
    const dir = await tempDir();
    const own = holdOwnerLock(dir, { pid: process.pid, tag: hostTag() });
    try {
      expect(own.locked).toBe(true);
      const child = await otherOwner(dir, OTHER_PID);
      expect(processAlive(OTHER_PID)).toBe(false); // what the pid check alone saw: "dead"
      expect(ownerGone(OTHER_PID, hostTag())).toBe(false);
      await killed(child);
      expect(ownerGone(OTHER_PID, hostTag())).toBe(true);
      expect(await readdir(join(dir, OWNERS_DIR))).toEqual([`${process.pid}-${hostTag()}.lock`]);
    } finally {
      own.release();
    }
  });

  it('a live owner holding its lock in one state folder is alive even when another state folder this process holds has a dead one of the same pid', async () => {
    // One process serving two accounts; in one folder a dead container's bridge left its lock
    // file, in the other a live container's bridge with the same pid holds its lock.
    const stale = await tempDir();
    const live = await tempDir();
    const first = holdOwnerLock(stale, { pid: process.pid, tag: hostTag() });
    const second = holdOwnerLock(live, { pid: process.pid, tag: hostTag() });
    try {
      await killed(await otherOwner(stale, OTHER_PID));
      await otherOwner(live, OTHER_PID);
      expect(await readdir(join(stale, OWNERS_DIR))).toContain(`${OTHER_PID}-${hostTag()}.lock`);
      expect(ownerGone(OTHER_PID, hostTag())).toBe(false);
    } finally {
      second.release();
      first.release();
    }
  });

  it('an owners folder that cannot be made does not refuse the start: no lock, the pid checks decide', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, OWNERS_DIR), 'a file where the owners folder goes');
    const own = holdOwnerLock(dir, { pid: process.pid, tag: hostTag() });
    expect(own.locked).toBe(false);
    own.release();
    expect(ownerGone(OTHER_PID, hostTag())).toBe(true);
  });

  it('one state folder spelled two ways (relative, through a link) is one holding of this process, not a twin', async () => {
    const dir = await tempDir();
    await symlink(dir, `${dir}-link`);
    dirs.push(`${dir}-link`);
    const first = holdOwnerLock(dir, { pid: process.pid, tag: hostTag() });
    const second = holdOwnerLock(`${dir}-link`, { pid: process.pid, tag: hostTag() });
    const third = holdOwnerLock(relative(process.cwd(), dir), { pid: process.pid, tag: hostTag() });
    try {
      expect([first.locked, second.locked, third.locked]).toEqual([true, true, true]);
    } finally {
      third.release();
      second.release();
      first.release();
    }
  });

  it('refuses to hold an identity a live process holds (two containers, one hostname, both pid N); takes it once that one is dead', async () => {
    const dir = await tempDir();
    const child = await otherOwner(dir, process.pid);
    expect(() => holdOwnerLock(dir, { pid: process.pid, tag: hostTag() })).toThrow(TwinOwnerError);
    await killed(child);
    const own = holdOwnerLock(dir, { pid: process.pid, tag: hostTag() });
    expect(own.locked).toBe(true);
    // What this identity left before is a previous incarnation's.
    expect(ownerGone(process.pid, hostTag())).toBe(true);
    own.release();
  });

  it("a bridge's start-up clean-up keeps the spool file of a live owner in another PID namespace, and removes it once that owner died", async () => {
    const stateDir = await tempDir();
    stack = await startHardStack({}, { stateDir });
    await stack.close();
    stack = undefined;
    const account = await accountDir(stateDir);
    const other = await otherOwner(account, OTHER_PID);
    const inFlight = `${OTHER_PID}-${hostTag()}-1f2e3d4c.part`;
    await writeFile(join(account, 'spool', inFlight), 'an upload the other container is spooling');

    stack = await startHardStack({}, { stateDir });
    expect(await readdir(join(account, 'spool'))).toContain(inFlight);
    await stack.close();
    stack = undefined;

    await killed(other);
    stack = await startHardStack({}, { stateDir });
    expect(await readdir(join(account, 'spool'))).not.toContain(inFlight);
  });

  it("a dead owner whose pid an unrelated process has here is still dead after the start-up sweep removed its lock file", async () => {
    const stateDir = await tempDir();
    stack = await startHardStack({}, { stateDir });
    await stack.close();
    stack = undefined;
    const account = await accountDir(stateDir);
    // pid 1 runs here (init) but is not the dead owner: the other container's bridge was its pid 1.
    expect(processAlive(1)).toBe(true);
    await killed(await otherOwner(account, 1));
    const leftovers = [`1-${hostTag()}-aaaa1111.part`, `1-${hostTag()}-bbbb2222.part`];
    for (const name of leftovers) await writeFile(join(account, 'spool', name), 'a dead upload');
    stack = await startHardStack({}, { stateDir });
    const left = await readdir(join(account, 'spool'));
    for (const name of leftovers) expect(left).not.toContain(name);
  });

  it('a second bridge with the same identity on one state folder is refused at start with the fix', async () => {
    const stateDir = await tempDir();
    stack = await startHardStack({}, { stateDir });
    await stack.close();
    stack = undefined;
    await otherOwner(await accountDir(stateDir), process.pid);
    await expect(startHardStack({}, { stateDir })).rejects.toThrow(/same hostname on one volume .* own volume/);
  });
});
