/**
 * Real WebDAV clients against the bridge in front of the simulator: curl, rclone's WebDAV backend
 * and cadaver. Each needs its binary (Debian packages curl, rclone, cadaver; `.ci/run` installs
 * them); without it a test is skipped locally and fails in CI, so CI never passes by skipping.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, streamToBuffer, type Stack } from '../integration/helpers.js';

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
};
for (const [binary, present] of Object.entries(available)) {
  if (!present && process.env.CI) throw new Error(`${binary} is not installed; .ci/run must install it`);
}

let stack: Stack;
let work: string;
let rcloneEnv: NodeJS.ProcessEnv;
const seeded = { curlFile: '', rcloneFile: '' };

beforeAll(async () => {
  stack = await startStack();
  // Upstream content exists before the bridge first lists the account, as with a real account
  // (content added behind the bridge's back shows up after the folder cache's TTL).
  const { sim } = stack;
  seeded.curlFile = await sim.addFile({ name: 'curl range.bin', synthetic: { size: 1_000_000, seed: 1 } });
  const folder = await sim.addFolder({ name: 'rclone-read' });
  seeded.rcloneFile = await sim.addFile({ folderId: folder, name: 'video.mkv', synthetic: { size: 3_000_000, seed: 8 } });
  await sim.addFile({ folderId: folder, name: 'Résumé.txt', content: 'bonjour' });
  work = await mkdtemp(join(tmpdir(), 'fichier-dav-clients-'));
  const config = join(work, 'rclone.conf');
  await writeFile(config, '');
  rcloneEnv = {
    ...process.env,
    RCLONE_CONFIG: config,
    RCLONE_WEBDAV_URL: stack.url + '/',
    RCLONE_WEBDAV_VENDOR: 'other',
  };
});

afterAll(async () => {
  await stack?.close();
  await rm(work, { recursive: true, force: true });
});

function rclone(...args: string[]) {
  return run('rclone', args, { env: rcloneEnv, maxBuffer: 64 * 1024 * 1024, encoding: 'buffer' });
}

describe.skipIf(!available.curl)('curl', () => {
  it('lists with PROPFIND and reads ranges', async () => {
    const { sim, url } = stack;
    const fileUrl = seeded.curlFile;
    const { stdout: listing } = await run('curl', ['-s', '-X', 'PROPFIND', '-H', 'Depth: 1', `${url}/`]);
    expect(listing).toContain('<D:href>/curl%20range.bin</D:href>');
    const { stdout } = await run('curl', ['-s', '-r', '1000-1999', `${url}/curl%20range.bin`], { encoding: 'buffer' });
    expect(Buffer.from(stdout).equals(await streamToBuffer(sim.contentOf(fileUrl, 1000, 1999)))).toBe(true);
    const { stdout: headers } = await run('curl', ['-s', '-D', '-', '-o', '/dev/null', '-r', '-100', `${url}/curl%20range.bin`]);
    expect(headers).toMatch(/Content-Range: bytes 999900-999999\/1000000/i);
  });
});

describe.skipIf(!available.rclone)('rclone WebDAV backend', () => {
  it('lists with lsjson and reads with cat --offset --count', async () => {
    const { sim } = stack;
    const fileUrl = seeded.rcloneFile;
    const { stdout } = await rclone('lsjson', ':webdav:rclone-read');
    const entries = (JSON.parse(stdout.toString()) as Array<{ Name: string; Size: number }>)
      .map((entry) => `${entry.Name}:${entry.Size}`)
      .sort();
    expect(entries).toEqual(['Résumé.txt:7', 'video.mkv:3000000']);
    const { stdout: piece } = await rclone('cat', '--offset', '2500000', '--count', '4096', ':webdav:rclone-read/video.mkv');
    expect(piece.equals(await streamToBuffer(sim.contentOf(fileUrl, 2_500_000, 2_500_000 + 4095)))).toBe(true);
  });

  it('copies a tree of 200 files (empty ones, names needing the codec) and check --download finds no difference', async () => {
    const source = join(work, 'tree');
    const awkward = ['quote"s', "apostrophe's", 'less<more>', 'dollar$', 'back\\slash', 'back`tick', ' lead', 'trail ', 'Résumé été', '日本語'];
    let count = 0;
    for (let folder = 0; folder < 10; folder += 1) {
      const dir = join(source, `dir ${folder}`, folder % 3 === 0 ? 'nested' : '');
      await mkdir(dir, { recursive: true });
      for (let index = 0; index < 20; index += 1) {
        const base = index < awkward.length ? `${awkward[index]} ${folder}` : `file-${folder}-${index}`;
        const size = index % 7 === 0 ? 0 : (index * 7919 + folder * 104_729) % 300_000;
        const content = Buffer.alloc(size);
        for (let byte = 0; byte < size; byte += 1) content[byte] = (byte * 31 + index + folder) & 0xff;
        await writeFile(join(dir, `${base}.bin`), content);
        count += 1;
      }
    }
    expect(count).toBe(200);
    await rclone('copy', source, ':webdav:rclone-tree', '--transfers', '4');
    const { stdout, stderr } = await rclone('check', source, ':webdav:rclone-tree', '--download').catch(
      (error: { stdout: Buffer; stderr: Buffer }) => error,
    );
    const report = stderr.toString() + stdout.toString();
    expect(report).toMatch(/0 differences found/);
    expect(report).toMatch(/200 matching files/);
  }, 120_000);
});

describe.skipIf(!available.cadaver)('cadaver', () => {
  it('lists, uploads, downloads, moves and deletes', async () => {
    const { url } = stack;
    const local = join(work, 'cadaver-upload.txt');
    const fetched = join(work, 'cadaver-download.txt');
    await writeFile(local, 'uploaded by cadaver\n');
    const script = [
      'mkcol cadaver-dir',
      'cd cadaver-dir',
      `put ${local} up.txt`,
      'ls',
      'move up.txt moved.txt',
      `get moved.txt ${fetched}`,
      'delete moved.txt',
      'ls',
      'quit',
      '',
    ].join('\n');
    const output = await new Promise<string>((resolve, reject) => {
      const child = spawn('cadaver', [`${url}/`], { stdio: ['pipe', 'pipe', 'pipe'] });
      let text = '';
      child.stdout.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(text));
      child.stdin.end(script);
    });
    expect(output).toMatch(/Creating `cadaver-dir': succeeded/);
    expect(output).toMatch(/Uploading .* to `\/cadaver-dir\/up.txt':[\s\S]*succeeded/);
    expect(output).toMatch(/Moving `\/cadaver-dir\/up.txt' to `\/cadaver-dir\/moved.txt': +succeeded/);
    expect(output).toMatch(/Deleting `moved.txt': succeeded/);
    expect(await readFile(fetched, 'utf8')).toBe('uploaded by cadaver\n');
  });
});
