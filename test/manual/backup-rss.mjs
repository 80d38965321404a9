#!/usr/bin/env node
/**
 * By hand, not in the suite (it writes and moves several GiB): peak resident memory of `backup`
 * and `restore` for a small and a large source tree, to show that memory does not grow with the
 * archive. Needs `npm run build` first and GNU time (/usr/bin/time, Debian package "time").
 *
 *   node test/manual/backup-rss.mjs [large GiB, default 2] [small MiB, default 64]
 *
 * Prints one line per run: size, seconds, peak RSS (GNU time's "Maximum resident set size").
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { once } from 'node:events';

const root = resolve(import.meta.dirname, '..', '..');
const { startSimulator } = await import(join(root, 'dist', 'simulator', 'index.js'));
const largeGiB = Number(process.argv[2] ?? 2);
const smallMiB = Number(process.argv[3] ?? 64);
const FILE_MIB = 64;

/** A tree of incompressible files of FILE_MIB each (the worst case: the archive is as large as the tree). */
async function makeTree(dir, totalMiB) {
  await mkdir(join(dir, 'data', 'sub'), { recursive: true });
  for (let i = 0, left = totalMiB; left > 0; i += 1, left -= FILE_MIB) {
    const out = createWriteStream(join(dir, 'data', i % 2 ? 'sub' : '', `f${i}.bin`));
    for (let m = 0; m < Math.min(FILE_MIB, left); m += 1) if (!out.write(randomBytes(1024 * 1024))) await once(out, 'drain');
    out.end();
    await once(out, 'finish');
  }
}

function timed(args, env) {
  return new Promise((resolvePromise, reject) => {
    const started = Date.now();
    const child = spawn('/usr/bin/time', ['-v', process.execPath, join(root, 'dist', 'cli', 'main.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const kb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1]);
      resolvePromise({ code, seconds: (Date.now() - started) / 1000, peakMiB: kb / 1024, stdout, stderr });
    });
  });
}

const apiKey = 'rss-measure-key-1234567890';
const sim = await startSimulator({ apiKey, timeScale: 0.01, fixture: 'empty' });
try {
  for (const [label, mib] of [
    ['small', smallMiB],
    ['large', largeGiB * 1024],
  ]) {
    const work = await mkdtemp(join(tmpdir(), 'fichier-dav-rss-'));
    try {
      await makeTree(work, mib);
      const env = { PATH: process.env.PATH, HOME: process.env.HOME, FICHIER_API_KEY: apiKey, XDG_CACHE_HOME: join(work, 'cache') };
      const common = ['--api-url', sim.apiUrl, '--time-scale', '0.01', '-q'];
      const backup = await timed(['backup', join(work, 'data'), '--to', `/Backups/rss-${label}`, '--json', ...common], env);
      if (backup.code !== 0) throw new Error(`backup failed (${backup.code}): ${backup.stderr}`);
      const made = JSON.parse(backup.stdout).backup;
      console.log(`backup  ${label}: tree ${mib} MiB, archive ${(made.size / 1024 ** 2).toFixed(0)} MiB, ${backup.seconds.toFixed(0)} s, peak RSS ${backup.peakMiB.toFixed(0)} MiB`);
      const restore = await timed(['restore', made.path, join(work, 'restored'), ...common], env);
      if (restore.code !== 0) throw new Error(`restore failed (${restore.code}): ${restore.stderr}`);
      console.log(`restore ${label}: ${restore.seconds.toFixed(0)} s, peak RSS ${restore.peakMiB.toFixed(0)} MiB`);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
} finally {
  await sim.close();
}
