/**
 * `backup` and `restore`, spawned as cron or a systemd timer runs them, against a simulator at time
 * scale 0.01. The backup time comes from the FICHIER_DAV_BACKUP_NOW test hook, so a run of daily
 * backups takes seconds. What is on the account is read back with `backup --list --json`, and the
 * stored bytes with the simulator's contentOf.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { buildCli, runCli, tempDir, type CliResult } from './helpers.js';

const API_KEY = 'cli-backup-key-7c1d2e3f4a';
let cli: Awaited<ReturnType<typeof buildCli>>;
let sim: Simulator;
let work: string;
let source: string;

beforeAll(async () => {
  cli = await buildCli('cli-backup');
  sim = await startSimulator({ apiKey: API_KEY, timeScale: 0.01, fixture: 'empty' });
}, 180_000);

afterAll(async () => {
  await sim?.close();
  await cli?.cleanup();
});

beforeEach(async () => {
  work = await tempDir('backup');
  source = join(work, 'data');
  await mkdir(join(source, 'photos/2026'), { recursive: true });
  await writeFile(join(source, 'notes.txt'), 'plaintext-marker-5a4b3c2d1e\n'.repeat(200));
  await writeFile(join(source, 'photos/2026/img.raw'), randomBytes(150_000));
});

afterEach(() => sim.clearFaults());

function env(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return { FICHIER_API_KEY: API_KEY, XDG_CACHE_HOME: join(work, 'cache'), XDG_STATE_HOME: join(work, 'state'), XDG_CONFIG_HOME: join(work, 'config'), ...extra };
}

function args(list: string[]): string[] {
  const [command, ...rest] = list;
  return [command, '--retries', '5', ...rest, '--api-url', sim.apiUrl, '--time-scale', '0.01'];
}

function fc(list: string[], extra: Record<string, string | undefined> = {}, onSpawn?: (child: ReturnType<typeof spawn>) => void): Promise<CliResult> {
  return runCli(cli.mainJs, args(list), { cwd: work, env: env(extra), onSpawn });
}

function backupAt(set: string, day: string, extra: string[] = []): Promise<CliResult> {
  return fc(['backup', source, '--to', `/Backups/${set}`, ...extra], { FICHIER_DAV_BACKUP_NOW: `${day}T02:00:00Z` });
}

async function listed(set: string): Promise<string[]> {
  const result = await fc(['backup', '--list', `/Backups/${set}`, '--json']);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as Array<{ name: string }>).map((b) => b.name);
}

/** Resolves when the child's stderr has printed `text`. */
function waitForStderr(child: ReturnType<typeof spawn>, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes(text)) resolve();
    });
    child.once('close', () => reject(new Error(`exited before printing "${text}":\n${seen}`)));
  });
}

async function spoolFiles(set: string): Promise<string[]> {
  // The account's state folder (and its backup spool) lives under the platform's state directory.
  const base = join(work, 'state', 'fichier-dav');
  if (!existsSync(base)) return [];
  const marker = `${sep}backup-spool${sep}${set}${sep}`;
  return (await readdir(base, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile() && `${join(entry.parentPath, entry.name)}`.includes(marker))
    .map((entry) => entry.name);
}

const name = (set: string, day: string, ext = '.tar.zst'): string => `${set}-${day.replace(/-/g, '')}T020000Z${ext}`;

describe('fichier-dav backup', () => {
  it('ten daily runs with --keep-daily 3 --keep-weekly 2 leave exactly the calendar set; --dry-run removes nothing', async () => {
    const days = Array.from({ length: 10 }, (_, i) => `2026-01-${String(i + 1).padStart(2, '0')}`);
    for (const day of days) {
      const result = await backupAt('daily', day, ['--keep-daily', '3', '--keep-weekly', '2', '-q']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`backed up \\d+ entries to /Backups/daily/${name('daily', day)} \\(.*verified\\)`));
    }
    // Jan 8-10: daily; Jan 10 is also the newest of ISO week 2026-W02; Jan 4 (a Sunday) the newest of W01.
    expect((await listed('daily')).sort()).toEqual([name('daily', '2026-01-04'), name('daily', '2026-01-08'), name('daily', '2026-01-09'), name('daily', '2026-01-10')]);

    const dry = await backupAt('daily', '2026-01-11', ['--keep-last', '1', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const summary = JSON.parse(dry.stdout) as { backup: { name: string; verified: boolean }; retention: { dryRun: boolean; removed: string[]; kept: Array<{ name: string }> } };
    expect(summary.backup).toMatchObject({ name: name('daily', '2026-01-11'), verified: true });
    expect(summary.retention.dryRun).toBe(true);
    expect(summary.retention.kept.map((k) => k.name)).toEqual([name('daily', '2026-01-11')]);
    expect(summary.retention.removed.sort()).toEqual([name('daily', '2026-01-04'), name('daily', '2026-01-08'), name('daily', '2026-01-09'), name('daily', '2026-01-10')]);
    expect(await listed('daily')).toHaveLength(5);
    // Without --json the dry run lists what would go on stdout, one path a line.
    const text = await backupAt('daily', '2026-01-12', ['--keep-last', '1', '--dry-run', '-q']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain(`would remove /Backups/daily/${name('daily', '2026-01-04')}\n`);
    expect(text.stdout).toMatch(/retention: kept 1, would remove 5/);
    expect(await listed('daily')).toHaveLength(6);
  }, 300_000);

  it('a failed verification removes the bad upload, exits 7 and leaves the older backups', async () => {
    expect((await backupAt('verify', '2026-02-01', ['-q'])).code).toBe(0);
    sim.setFaults({ endPlWrongWhirlpool: 1 });
    const result = await backupAt('verify', '2026-02-02', ['--keep-last', '1']);
    expect(result.code, result.stderr).toBe(7);
    expect(result.stderr).toMatch(/error: verification failed: .*Whirlpool mismatch.*the bad copy was removed; older backups were left as they were/);
    expect(await listed('verify')).toEqual([name('verify', '2026-02-01')]);
  }, 120_000);

  it('an upload cut by the network leaves no partial backup, no spool file, and removes nothing', async () => {
    expect((await backupAt('cut', '2026-03-01', ['-q'])).code).toBe(0);
    sim.setFaults({ failures: [{ host: 'upload', endpoint: 'upload.cgi', drop: true, count: 3 }] });
    const result = await backupAt('cut', '2026-03-02', ['--keep-last', '1']);
    expect(result.code, result.stderr).toBe(5);
    expect(result.stderr).toMatch(/error: .*retry/);
    expect(await listed('cut')).toEqual([name('cut', '2026-03-01')]);
    expect(await spoolFiles('cut')).toEqual([]);
  }, 120_000);

  it('stopped by SIGTERM mid-upload: exit 130, nothing stored, nothing removed, the name is free again', async () => {
    expect((await backupAt('term', '2026-03-01', ['-q'])).code).toBe(0);
    sim.setFaults({ slow: [{ host: 'upload', endpoint: 'upload.cgi', delayMs: 20_000, count: 1 }] });
    const result = await fc(['backup', source, '--to', '/Backups/term', '--keep-last', '1'], { FICHIER_DAV_BACKUP_NOW: '2026-03-02T02:00:00Z' }, (child) => {
      void waitForStderr(child, 'uploading').then(() => child.kill('SIGTERM'), () => {});
    });
    expect(result.code, result.stderr).toBe(130);
    sim.clearFaults();
    expect(await listed('term')).toEqual([name('term', '2026-03-01')]);
    expect(await spoolFiles('term')).toEqual([]);
    const next = await backupAt('term', '2026-03-03', ['-q']);
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).not.toMatch(/taking over/);
  }, 120_000);

  it('two runs of one name at once: the second exits 6 with a clear message; after a crash the lock is taken over', async () => {
    sim.setFaults({ slow: [{ host: 'upload', endpoint: 'upload.cgi', delayMs: 15_000, count: 1 }] });
    let first!: ReturnType<typeof spawn>;
    let holding!: Promise<void>;
    const firstRun = fc(['backup', source, '--to', '/Backups/conc'], { FICHIER_DAV_BACKUP_NOW: '2026-04-01T02:00:00Z' }, (child) => {
      first = child;
      holding = waitForStderr(child, 'uploading');
    });
    await holding;
    const second = await backupAt('conc', '2026-04-02');
    expect(second.code, second.stderr).toBe(6);
    expect(second.stderr).toMatch(new RegExp(`error: another backup of /Backups/conc is running \\(pid ${first.pid} on .*\\): this run did nothing`));
    const done = await firstRun;
    expect(done.code, done.stderr).toBe(0);
    expect(await listed('conc')).toEqual([name('conc', '2026-04-01')]);

    // A run killed with SIGKILL (a crash) leaves its lock row and its spool file behind...
    sim.setFaults({ slow: [{ host: 'upload', endpoint: 'upload.cgi', delayMs: 15_000, count: 1 }] });
    const crashed = await fc(['backup', source, '--to', '/Backups/conc'], { FICHIER_DAV_BACKUP_NOW: '2026-04-03T02:00:00Z' }, (child) => {
      void waitForStderr(child, 'uploading').then(() => child.kill('SIGKILL'), () => {});
    });
    expect(crashed.code).toBe(null);
    expect(await spoolFiles('conc')).toHaveLength(1);
    sim.clearFaults();
    // ...and the next run takes the name over, cleans the spool and backs up.
    const next = await backupAt('conc', '2026-04-04');
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/taking over the lock of \/Backups\/conc from a run that is gone/);
    expect(await spoolFiles('conc')).toEqual([]);
    expect(await listed('conc')).toEqual([name('conc', '2026-04-01'), name('conc', '2026-04-04')]);
  }, 180_000);

  it('usage errors: no destination, a bad set name, --encrypt without a key, a passphrase is not a flag', async () => {
    const noTo = await fc(['backup', source]);
    expect(noTo.code).toBe(2);
    expect(noTo.stderr).toMatch(/--to needs the backup folder/);
    const badName = await fc(['backup', source, '--to', '/Backups/my backups']);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(/backup name "my backups" must be/);
    const noKey = await fc(['backup', source, '--to', '/Backups/k', '--encrypt']);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/--encrypt needs a key/);
    await writeFile(join(work, 'recipients.txt'), 'age1notchecked\n');
    const forgotten = await fc(['backup', source, '--to', '/Backups/k', '--recipients-file', join(work, 'recipients.txt')]);
    expect(forgotten.code).toBe(2);
    expect(forgotten.stderr).toMatch(/--recipients-file is set but --encrypt is not/);
    const flag = await fc(['backup', source, '--to', '/Backups/k', '--encrypt', '--passphrase', 'x']);
    expect(flag.code).toBe(2);
    // Nothing was created on the account: the set's folder does not exist.
    const list = await fc(['backup', '--list', '/Backups/k', '--json']);
    expect(list.code).toBe(3);
    expect(list.stderr).toMatch(/no such file or folder: \/Backups\/k/);
  }, 120_000);
});

describe('fichier-dav restore', () => {
  it('an encrypted backup restores byte-exact (through a cut download) and is unreadable without the key', async () => {
    const identity = await generateIdentity();
    await writeFile(join(work, 'recipients.txt'), `# the restore key's public half\n${await identityToRecipient(identity)}\n`);
    await writeFile(join(work, 'identity.txt'), `${identity}\n`);
    const made = await fc(['backup', source, '--to', '/Backups/enc', '--encrypt', '--recipients-file', join(work, 'recipients.txt'), '--json'], { FICHIER_DAV_BACKUP_NOW: '2026-05-01T02:00:00Z' });
    expect(made.code, made.stderr).toBe(0);
    const file = `/Backups/enc/${name('enc', '2026-05-01', '.tar.zst.age')}`;
    expect(JSON.parse(made.stdout).backup).toMatchObject({ path: file, encrypted: true, verified: true });

    // What 1fichier holds is age ciphertext with none of the plaintext.
    const link = await fc(['link', file, '--public-only', '--json']);
    expect(link.code, link.stderr).toBe(0);
    const chunks: Buffer[] = [];
    for await (const chunk of sim.contentOf((JSON.parse(link.stdout) as { url: string }).url)) chunks.push(chunk as Buffer);
    const stored = Buffer.concat(chunks);
    expect(stored.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    expect(stored.includes(Buffer.from('plaintext-marker-5a4b3c2d1e'))).toBe(false);

    const noKey = await fc(['restore', file, join(work, 'nokey')]);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toMatch(/this backup is encrypted: give its key with --identity-file/);
    const stranger = await generateIdentity();
    await writeFile(join(work, 'stranger.txt'), `${stranger}\n`);
    const wrongKey = await fc(['restore', file, join(work, 'wrong'), '--identity-file', join(work, 'stranger.txt')]);
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stderr).toMatch(/cannot decrypt the backup: the key given does not open it/);
    expect(existsSync(join(work, 'wrong'))).toBe(false);

    sim.setFaults({ cutDownload: { bytes: 40_000, count: 1 } });
    const restored = await fc(['restore', file, join(work, 'back'), '--identity-file', join(work, 'identity.txt'), '--json']);
    expect(restored.code, restored.stderr).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({ backup: file, encrypted: true, verified: true });
    for (const path of ['notes.txt', 'photos/2026/img.raw']) {
      expect((await readFile(join(work, 'back', 'data', path))).equals(await readFile(join(source, path))), path).toBe(true);
    }
    // The wrong key's download stays for a retry with the right key; the good restore left none.
    expect((await readdir(work)).filter((entry) => entry.endsWith('.part'))).toEqual([`.wrong-${name('enc', '2026-05-01', '.tar.zst.age')}.part`]);
  }, 180_000);

  it('refuses a non-empty destination without --force, and a file that is not a backup', async () => {
    expect((await backupAt('plain', '2026-06-01', ['--compression', 'gzip', '-q'])).code).toBe(0);
    const file = `/Backups/plain/${name('plain', '2026-06-01', '.tar.gz')}`;
    await mkdir(join(work, 'busy'));
    await writeFile(join(work, 'busy', 'keep.txt'), 'mine');
    const busy = await fc(['restore', file, join(work, 'busy')]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(/is not empty: restore into a new folder, or add --force/);
    const forced = await fc(['restore', file, join(work, 'busy'), '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await readFile(join(work, 'busy', 'keep.txt'), 'utf8')).toBe('mine');
    expect((await readFile(join(work, 'busy', 'data', 'notes.txt'))).equals(await readFile(join(source, 'notes.txt')))).toBe(true);
    const notBackup = await fc(['restore', '/Backups/plain/readme.txt', join(work, 'x')]);
    expect(notBackup.code).toBe(2);
    expect(notBackup.stderr).toMatch(/is not a backup archive/);
  }, 120_000);
});
