/** One backup run per name: the lock row, the refusal while its holder lives, the take-over once it is gone. */
import { afterEach, describe, expect, it } from 'vitest';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TEST_BUILD_DIR } from '../support/built-cli.js';
import { RunLock } from '../../src/backup/run-lock.js';
import { tempDir } from '../cli/helpers.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function stateDir(): Promise<string> {
  const dir = await tempDir('run-lock');
  dirs.push(dir);
  return dir;
}

describe('RunLock', () => {
  it('a row left by a crashed run whose pid is now ours (pid reuse in containers) is taken over', async () => {
    const dir = await stateDir();
    const first = RunLock.acquire(dir, '/Backups/a', () => true);
    expect(first.acquired).toBe(true);
    // The first "crashes" without releasing; this process asks again, and even a liveness test
    // that says "alive" (it is us) must not make it wait for itself.
    const second = RunLock.acquire(dir, '/Backups/a', () => true);
    expect(second.acquired).toBe(true);
    if (second.acquired) {
      expect(second.tookOverFrom?.pid).toBe(process.pid);
      second.lock.release();
    }
  });

  it('a live holder of another process blocks; a dead one is taken over; other names are independent', async () => {
    const dir = await stateDir();
    const { spawn } = await import('node:child_process');
    // A real other process holds the lock: a child that takes it and waits.
    const child = spawn(process.execPath, ['--input-type=module', '-e', `
      const { RunLock } = await import(${JSON.stringify(pathToFileURL(join(TEST_BUILD_DIR, 'backup', 'run-lock.js')).href)});
      const got = RunLock.acquire(${JSON.stringify(dir)}, '/Backups/a');
      process.stdout.write(got.acquired ? 'held\\n' : 'refused\\n');
      setTimeout(() => {}, 60000);
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => (chunk.toString().includes('held') ? resolve() : reject(new Error(chunk.toString()))));
        child.on('exit', (code) => reject(new Error(`child exited ${code}`)));
      });
      const refused = RunLock.acquire(dir, '/Backups/a');
      expect(refused.acquired).toBe(false);
      if (!refused.acquired) expect(refused.holder.pid).toBe(child.pid);
      const other = RunLock.acquire(dir, '/Backups/b');
      expect(other.acquired).toBe(true);
      if (other.acquired) other.lock.release();

      // The holder crashes (kill -9): its row stays, and the next run takes the name over.
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('close', resolve));
      const taken = RunLock.acquire(dir, '/Backups/a');
      expect(taken.acquired).toBe(true);
      if (taken.acquired) {
        expect(taken.tookOverFrom?.pid).toBe(child.pid);
        taken.lock.release();
      }
      const again = RunLock.acquire(dir, '/Backups/a');
      expect(again.acquired && again.tookOverFrom).toBe(undefined);
      if (again.acquired) again.lock.release();
    } finally {
      child.kill('SIGKILL');
    }
  });
});
