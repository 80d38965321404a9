/**
 * The account commands, spawned as a user runs them, against a simulator at time scale 0.01 (the
 * CLI runs with the same scale). Results are checked on the simulator's side: stored bytes
 * (contentOf), bytes served, calls.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { buildCli, runCli, tempDir, type CliResult } from './helpers.js';

const API_KEY = 'cli-test-key-5f3a9c0d7e';
let cli: Awaited<ReturnType<typeof buildCli>>;
let sim: Simulator;
let work: string;
const outputs: string[] = [];

beforeAll(async () => {
  cli = await buildCli('cli-commands');
  sim = await startSimulator({ apiKey: API_KEY, timeScale: 0.01, fixture: 'empty' });
}, 180_000);

afterAll(async () => {
  await sim?.close();
  await cli?.cleanup();
});

beforeEach(async () => {
  // Each test is a fresh machine: its own cache (state, ledger) and config dirs.
  work = await tempDir('cli');
});

async function fc(args: string[], extraEnv: Record<string, string | undefined> = {}, timeScale = '0.01'): Promise<CliResult> {
  // A few more tries than the default: at time scale 0.01 a process may start inside a window the previous test opened.
  const [command, ...rest] = args;
  const result = await runCli(cli.mainJs, [command, '--retries', '5', ...rest, '--api-url', sim.apiUrl, '--time-scale', timeScale], {
    cwd: work,
    env: { FICHIER_API_KEY: API_KEY, XDG_CACHE_HOME: join(work, 'cache'), XDG_STATE_HOME: join(work, 'state'), XDG_CONFIG_HOME: join(work, 'config'), ...extraEnv },
  });
  outputs.push(result.stdout, result.stderr);
  return result;
}

async function bytesOf(url: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of sim.contentOf(url)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The public URL of a remote file, through the CLI itself. */
async function urlOf(path: string): Promise<string> {
  const result = await fc(['link', path, '--public-only', '--json']);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { url: string }).url;
}

async function lsJson(path: string): Promise<Array<{ name: string; kind: string; size: number; checksum: string | null }>> {
  const result = await fc(['ls', path, '--json']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
}

let folderCounter = 0;
async function freshFolder(): Promise<{ id: number; path: string }> {
  const name = `t${++folderCounter}-${randomBytes(3).toString('hex')}`;
  return { id: await sim.addFolder({ name }), path: `/${name}` };
}

describe('fichier-dav info', () => {
  it('shows the e-mail, the offer and the storage, as text and as JSON', async () => {
    const human = await fc(['info']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/^account\s+simulator@example\.invalid$/m);
    expect(human.stdout).toMatch(/^offer\s+premium$/m);
    expect(human.stdout).toMatch(/^subscription end\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/m);
    expect(human.stdout).toMatch(/^storage used\s+\S+/m);

    // The second call within 1fichier's 60 s user/info window is answered from the ledger (new state dir: a new answer).
    work = await tempDir('cli');
    const json = await fc(['info', '--json']);
    expect(json.code, json.stderr).toBe(0);
    const info = JSON.parse(json.stdout);
    const options = sim.options();
    expect(info).toMatchObject({ email: 'simulator@example.invalid', offer: 1, offerName: 'premium', totalBytes: options.coldStorageQuota });
    expect(info.usedBytes + info.availableBytes).toBe(options.coldStorageQuota);
    expect(new Date(info.subscriptionEnd).getTime()).toBeGreaterThan(Date.now());
  });

  it('a second info inside the user/info window costs no API call', async () => {
    // At time scale 1 the CLI keeps 1fichier's real 60 s window (process start-up alone outlasts a scaled one).
    // The previous test's user/info may still be inside the simulator's (scaled) window: start clean,
    // or its flood answer would send a scale-1 CLI into a real 30 s cool-down.
    sim.reset();
    expect((await fc(['info'], {}, '1')).code).toBe(0);
    const before = sim.stats().calls['user/info.cgi'] ?? 0;
    const again = await fc(['info', '--json'], {}, '1');
    expect(again.code, again.stderr).toBe(0);
    expect(sim.stats().calls['user/info.cgi'] ?? 0).toBe(before);
  });
});

describe('fichier-dav ls', () => {
  it('lists a folder as a table and as JSON, with duplicates named as the drive names them', async () => {
    const folder = await freshFolder();
    await sim.addFolder({ parentId: folder.id, name: 'sub' });
    const older = await sim.addFile({ folderId: folder.id, name: 'dup.txt', content: 'old!', date: Date.now() - 3_600_000 });
    await sim.addFile({ folderId: folder.id, name: 'dup.txt', content: 'newer', date: Date.now() - 60_000 });
    await sim.addFile({ folderId: folder.id, name: 'big.bin', synthetic: { size: 5 * 1024 * 1024, seed: 3 } });
    const olderId = older.slice(older.indexOf('?') + 1);

    const table = await fc(['ls', folder.path]);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^KIND\s+SIZE\s+DATE \(UTC\)\s+NAME$/);
    expect(lines[1]).toMatch(/^dir\s+-\s+\d{4}-\d{2}-\d{2} \d{2}:\d{2}\s+sub\/$/);
    expect(table.stdout).toMatch(/^file\s+5\.0 MiB\s+\S+ \S+\s+big\.bin$/m);
    expect(table.stdout).toMatch(/^file\s+5 B\s+\S+ \S+\s+dup\.txt$/m);
    expect(table.stdout).toContain(`dup [${olderId}].txt`);

    const exact = await fc(['ls', folder.path, '--bytes']);
    expect(exact.stdout).toMatch(/^file\s+5242880\s+\S+ \S+\s+big\.bin$/m);

    const json = await lsJson(folder.path);
    expect(json.map((e) => [e.kind, e.name, e.size])).toEqual([
      ['folder', 'sub', 0],
      ['file', 'big.bin', 5 * 1024 * 1024],
      // Code-point order: ' ' sorts before '.'.
      ['file', `dup [${olderId}].txt`, 4],
      ['file', 'dup.txt', 5],
    ]);
    // The alias path reaches the older duplicate, exactly as on the mounted drive.
    const aliasUrl = await urlOf(`${folder.path}/dup [${olderId}].txt`);
    expect((await bytesOf(aliasUrl)).toString()).toBe('old!');
  });

  it('shows one file when given a file path', async () => {
    const folder = await freshFolder();
    await sim.addFile({ folderId: folder.id, name: 'one.txt', content: 'abc' });
    const result = await fc(['ls', `${folder.path}/one.txt`, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([expect.objectContaining({ name: 'one.txt', path: `${folder.path}/one.txt`, size: 3 })]);
  });
});

describe('fichier-dav upload', () => {
  it('uploads several files with plain progress lines when stderr is not a terminal, and skips empty files', async () => {
    const folder = await freshFolder();
    const files = { 'a.bin': randomBytes(3 * 1024 * 1024), 'b.txt': Buffer.from('hello b'), 'c.dat': randomBytes(70_000) };
    for (const [name, content] of Object.entries(files)) await writeFile(join(work, name), content);
    await writeFile(join(work, 'empty.txt'), '');

    const result = await fc(['upload', 'a.bin', 'b.txt', 'c.dat', 'empty.txt', `${folder.path}/in/here`, '-p', '--progress-interval', '0.05']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`3 of 3 file(s) uploaded to ${folder.path}/in/here, 1 skipped\n`);
    expect(result.stderr).toContain(`warning: skipping ${join(work, 'empty.txt')}: 1fichier cannot store empty (0-byte) files`);
    // No terminal control sequences: plain lines only.
    expect(result.stderr).not.toMatch(/\u001b\[/);
    for (const [name, content] of Object.entries(files)) {
      expect(result.stderr).toMatch(new RegExp(`^upload ${name.replace('.', '\\.')}: done, \\S+ \\S+ in \\S+ \\(\\S+ \\S+/s\\)$`, 'm'));
      expect(result.stderr).toContain(`uploaded ${join(work, name)} -> ${folder.path}/in/here/${name}`);
      expect((await bytesOf(await urlOf(`${folder.path}/in/here/${name}`))).equals(content)).toBe(true);
    }
    expect(result.stderr).toMatch(/^upload total: 3 files, \S+ \S+ \/ \S+ \S+ \(100%\) in \S+ \(\S+ \S+\/s\)$/m);
    // Every progress line has the documented shape.
    for (const line of result.stderr.trim().split('\n')) {
      expect(line).toMatch(/^(warning: skipping |uploaded |upload \S+: (done, |\S+ \S+ \/ \S+ \S+ \(\d+%\), \S+ \S+\/s, ETA )|upload total( so far)?: )/);
    }
    const listing = await lsJson(`${folder.path}/in/here`);
    expect(listing.map((e) => e.name).sort()).toEqual(['a.bin', 'b.txt', 'c.dat']);
  });

  it('uploads a directory tree with -r, refuses a directory without -r and a missing folder without -p', async () => {
    const folder = await freshFolder();
    await mkdir(join(work, 'tree', 'sub', 'deeper'), { recursive: true });
    await writeFile(join(work, 'tree', 'top.txt'), 'top');
    await writeFile(join(work, 'tree', 'sub', 'deeper', 'leaf.txt'), 'leaf');
    await writeFile(join(work, 'tree', '.DS_Store'), 'junk');

    const noR = await fc(['upload', 'tree', folder.path]);
    expect(noR.code).toBe(2);
    expect(noR.stderr).toContain('is a directory: add -r to upload it with its content');
    const noP = await fc(['upload', '-r', 'tree', `${folder.path}/missing`]);
    expect(noP.code).toBe(3);
    expect(noP.stderr).toContain(`no such file or folder: ${folder.path}/missing`);
    expect(noP.stderr).toContain('add -p to create it');

    const ok = await fc(['upload', '-r', 'tree', folder.path, '-q']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('skipping');
    expect(ok.stderr).toContain('.DS_Store: an OS housekeeping file');
    expect((await bytesOf(await urlOf(`${folder.path}/tree/sub/deeper/leaf.txt`))).toString()).toBe('leaf');
    expect((await bytesOf(await urlOf(`${folder.path}/tree/top.txt`))).toString()).toBe('top');
    expect((await lsJson(`${folder.path}/tree`)).map((e) => e.name)).toEqual(['sub', 'top.txt']);
  });

  it('refuses to replace an existing remote file without --force, and replaces it safely with --force', async () => {
    const folder = await freshFolder();
    const oldUrl = await sim.addFile({ folderId: folder.id, name: 'same.txt', content: 'old' });
    await writeFile(join(work, 'same.txt'), 'new content');
    const refused = await fc(['upload', 'same.txt', folder.path]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${folder.path}/same.txt already exists (add --force to replace it`);
    const forced = await fc(['upload', 'same.txt', folder.path, '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    const url = await urlOf(`${folder.path}/same.txt`);
    expect(url).not.toBe(oldUrl);
    expect((await bytesOf(url)).toString()).toBe('new content');
    expect((await lsJson(folder.path)).map((e) => e.name)).toEqual(['same.txt']);
  });
});

describe('fichier-dav download', () => {
  it('resumes from LOCAL.part with one ranged request for the missing bytes only', async () => {
    const folder = await freshFolder();
    const content = randomBytes(2 * 1024 * 1024 + 123);
    await sim.addFile({ folderId: folder.id, name: 'movie.mkv', content });
    const half = 1024 * 1024;
    await writeFile(join(work, 'movie.mkv.part'), content.subarray(0, half));
    const before = sim.stats();

    const result = await fc(['download', `${folder.path}/movie.mkv`, 'movie.mkv']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`downloaded ${folder.path}/movie.mkv -> movie.mkv (2.0 MiB, Whirlpool verified)\n`);
    expect(result.stderr).toMatch(/^resuming movie\.mkv\.part at 1\.0 MiB of 2\.0 MiB$/m);
    expect(result.stderr).toMatch(/^download movie\.mkv: done, .* resumed at 1\.0 MiB$/m);
    expect((await readFile(join(work, 'movie.mkv'))).equals(content)).toBe(true);
    expect(existsSync(join(work, 'movie.mkv.part'))).toBe(false);
    const after = sim.stats();
    expect(after.bytesServed - before.bytesServed).toBe(content.length - half);
    expect(after.downloadRequests - before.downloadRequests).toBe(1);
  });

  it('an interrupted download keeps only LOCAL.part; running it again completes it from there', async () => {
    const folder = await freshFolder();
    const content = randomBytes(3 * 1024 * 1024);
    await sim.addFile({ folderId: folder.id, name: 'cut.bin', content });
    // Every transfer breaks after 256 KiB: the drive's resumes run out and the command fails.
    // This test's fresh state dir does not know the key yet: its first command identifies it with
    // user/info, which may fall inside the window the previous test's last command opened (60 s x
    // 0.01). A command with the usual retries does that here, so the download below (1 retry) meets
    // only the cut transfers, not a flood answer.
    expect((await fc(['ls', folder.path])).code).toBe(0);
    sim.setFaults({ cutDownload: { bytes: 256 * 1024, count: 100 } });
    const broken = await fc(['download', `${folder.path}/cut.bin`, 'cut.bin', '--retries', '1']);
    sim.clearFaults();
    expect(broken.code).not.toBe(0);
    expect(existsSync(join(work, 'cut.bin'))).toBe(false);
    const partial = await readFile(join(work, 'cut.bin.part'));
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(content.length);
    expect(partial.equals(content.subarray(0, partial.length))).toBe(true);

    const before = sim.stats().bytesServed;
    const resumed = await fc(['download', `${folder.path}/cut.bin`, 'cut.bin']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect((await readFile(join(work, 'cut.bin'))).equals(content)).toBe(true);
    expect(sim.stats().bytesServed - before).toBe(content.length - partial.length);
  });

  it('Ctrl-C during a download exits 130 and leaves nothing under the final name', async () => {
    const folder = await freshFolder();
    await sim.addFile({ folderId: folder.id, name: 'slow.bin', content: randomBytes(300_000) });
    // The download host takes 5 s to answer: the signal arrives while the request is in flight.
    sim.setFaults({ slow: [{ host: 'download', delayMs: 5_000, count: 1 }] });
    try {
      const result = await runCli(
        cli.mainJs,
        ['download', `${folder.path}/slow.bin`, 'slow.bin', '-v', '--api-url', sim.apiUrl, '--time-scale', '0.01'],
        {
          cwd: work,
          env: { FICHIER_API_KEY: API_KEY, XDG_CACHE_HOME: join(work, 'cache'), XDG_STATE_HOME: join(work, 'state'), XDG_CONFIG_HOME: join(work, 'config') },
          onSpawn: (child) => {
            let seen = '';
            let signalled = false;
            child.stderr!.on('data', (chunk: Buffer) => {
              seen += chunk.toString();
              // The token is fetched: the ranged GET is on its way to the slowed host. One SIGINT
              // only: a second one is "stop now" (exit 130 without the message).
              if (!signalled && seen.includes('download/get_token.cgi ok')) {
                signalled = true;
                setTimeout(() => child.kill('SIGINT'), 300);
              }
            });
          },
        },
      );
      outputs.push(result.stdout, result.stderr);
      expect(result.code).toBe(130);
      expect(result.stderr).toContain('fichier-dav: interrupted; slow.bin.part is kept: run the same command again to resume');
      expect(result.stderr).not.toMatch(/operation was aborted/i);
      expect(existsSync(join(work, 'slow.bin'))).toBe(false);
    } finally {
      sim.clearFaults();
    }
  });

  it('refuses to overwrite LOCAL without --force, and downloads into a directory', async () => {
    const folder = await freshFolder();
    await sim.addFile({ folderId: folder.id, name: 'doc.txt', content: 'remote bytes' });
    await writeFile(join(work, 'doc.txt'), 'precious local');
    const refused = await fc(['download', `${folder.path}/doc.txt`, 'doc.txt']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('doc.txt already exists (add --force to overwrite it)');
    expect(await readFile(join(work, 'doc.txt'), 'utf8')).toBe('precious local');
    const forced = await fc(['download', `${folder.path}/doc.txt`, 'doc.txt', '--force']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(await readFile(join(work, 'doc.txt'), 'utf8')).toBe('remote bytes');
    await mkdir(join(work, 'into'));
    const intoDir = await fc(['download', `${folder.path}/doc.txt`, 'into']);
    expect(intoDir.code, intoDir.stderr).toBe(0);
    expect(await readFile(join(work, 'into', 'doc.txt'), 'utf8')).toBe('remote bytes');
  });
});

describe('fichier-dav link', () => {
  it('prints the public URL and a fresh direct link that serves the file', async () => {
    const folder = await freshFolder();
    const url = await sim.addFile({ folderId: folder.id, name: 'share.txt', content: 'shared bytes' });
    const tokens = sim.stats().calls['download/get_token.cgi'] ?? 0;
    const result = await fc(['link', `${folder.path}/share.txt`]);
    expect(result.code, result.stderr).toBe(0);
    const [publicLine, directLine] = result.stdout.trim().split('\n');
    expect(publicLine).toBe(`public  ${url}`);
    const direct = /^direct  (\S+)  \(valid about 5 minutes\)$/.exec(directLine)?.[1];
    expect(direct).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    expect(sim.stats().calls['download/get_token.cgi']).toBe(tokens + 1);
    const response = await fetch(direct!);
    expect(await response.text()).toBe('shared bytes');

    const onFolder = await fc(['link', folder.path]);
    expect(onFolder.code).toBe(1);
    expect(onFolder.stderr).toContain('is a folder: 1fichier gives links to files only');
  });
});

describe('fichier-dav mkdir, rm, mv', () => {
  it('mkdir -p creates every missing level and accepts existing ones; plain mkdir refuses an existing path', async () => {
    const folder = await freshFolder();
    const result = await fc(['mkdir', '-p', `${folder.path}/a/b/c`]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe(`created ${folder.path}/a\ncreated ${folder.path}/a/b\ncreated ${folder.path}/a/b/c\n`);
    expect((await lsJson(`${folder.path}/a/b`)).map((e) => [e.kind, e.name])).toEqual([['folder', 'c']]);
    const again = await fc(['mkdir', '-p', `${folder.path}/a/b/c`]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('');
    const plain = await fc(['mkdir', `${folder.path}/a`]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain(`${folder.path}/a already exists`);
    const noParent = await fc(['mkdir', `${folder.path}/x/y`]);
    expect(noParent.code).toBe(3);
  });

  it('rm removes files, refuses folders without -r, and rm -r removes a whole tree', async () => {
    const folder = await freshFolder();
    const sub = await sim.addFolder({ parentId: folder.id, name: 'tree' });
    const deeper = await sim.addFolder({ parentId: sub, name: 'deeper' });
    await sim.addFile({ folderId: sub, name: 'one.txt', content: '1' });
    await sim.addFile({ folderId: deeper, name: 'two.txt', content: '2' });
    await sim.addFile({ folderId: folder.id, name: 'lone.txt', content: 'lone' });

    const file = await fc(['rm', `${folder.path}/lone.txt`]);
    expect(file.code, file.stderr).toBe(0);
    expect(file.stdout).toBe(`removed ${folder.path}/lone.txt\n`);
    const refused = await fc(['rm', `${folder.path}/tree`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${folder.path}/tree is a folder: add -r to remove it with everything inside`);
    const tree = await fc(['rm', '-r', `${folder.path}/tree`]);
    expect(tree.code, tree.stderr).toBe(0);
    expect(await lsJson(folder.path)).toEqual([]);
    const gone = await fc(['ls', `${folder.path}/tree`]);
    expect(gone.code).toBe(3);
  });

  it('mv renames in place, moves into an existing folder, and keeps the bytes (server-side, no transfer)', async () => {
    const folder = await freshFolder();
    const dest = await sim.addFolder({ parentId: folder.id, name: 'dest' });
    await sim.addFile({ folderId: folder.id, name: 'file.txt', content: 'moving bytes' });
    const served = sim.stats().bytesServed;
    const received = sim.stats().bytesReceived;

    const rename = await fc(['mv', `${folder.path}/file.txt`, `${folder.path}/renamed.txt`]);
    expect(rename.code, rename.stderr).toBe(0);
    expect(rename.stdout).toBe(`moved ${folder.path}/file.txt -> ${folder.path}/renamed.txt\n`);
    const into = await fc(['mv', `${folder.path}/renamed.txt`, `${folder.path}/dest`]);
    expect(into.code, into.stderr).toBe(0);
    expect(into.stdout).toBe(`moved ${folder.path}/renamed.txt -> ${folder.path}/dest/renamed.txt\n`);
    expect((await lsJson(folder.path)).map((e) => e.name)).toEqual(['dest']);
    expect((await bytesOf(await urlOf(`${folder.path}/dest/renamed.txt`))).toString()).toBe('moving bytes');
    expect(sim.stats().bytesServed).toBe(served);
    expect(sim.stats().bytesReceived).toBe(received);
    expect(dest).toBeGreaterThan(0);

    const folderMove = await fc(['mv', `${folder.path}/dest`, `${folder.path}/dest2`]);
    expect(folderMove.code, folderMove.stderr).toBe(0);
    expect((await lsJson(`${folder.path}/dest2`)).map((e) => e.name)).toEqual(['renamed.txt']);
  });
});

describe('fichier-dav remote-upload and remote-status', () => {
  it('1fichier fetches a loopback URL into the folder; remote-status follows the request', async () => {
    const payload = randomBytes(200_000);
    const server = http.createServer((req, res) => {
      if (req.url === '/payload.bin') res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': payload.length }).end(payload);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const source = `http://127.0.0.1:${(server.address() as AddressInfo).port}/payload.bin`;
    try {
      const folder = await freshFolder();
      const request = await fc(['remote-upload', source, '--to', `${folder.path}/incoming`, '-p']);
      expect(request.code, request.stderr).toBe(0);
      const id = /^remote upload request (\d+): 1 URL\(s\) into /m.exec(request.stdout)?.[1];
      expect(id).toBeDefined();
      expect(request.stdout).toContain(`fichier-dav remote-status ${id}`);

      let status: { done: boolean; results: Array<{ status: string; url: string; downloadLink: string | null }> } | undefined;
      for (let attempt = 0; attempt < 50 && !status?.done; attempt++) {
        const result = await fc(['remote-status', id!, '--json']);
        expect(result.code, result.stderr).toBe(0);
        status = JSON.parse(result.stdout);
        if (!status!.done) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(status).toMatchObject({ done: true, results: [{ status: 'OK', url: source }] });
      expect((await bytesOf(status!.results[0].downloadLink!)).equals(payload)).toBe(true);

      const list = await fc(['remote-status']);
      expect(list.code, list.stderr).toBe(0);
      expect(list.stdout).toMatch(new RegExp(`^${id}\\s+\\S+ \\S+\\s+done `, 'm'));
      const human = await fc(['remote-status', id!]);
      expect(human.stdout).toMatch(new RegExp(`^OK\\s+${source.replace(/[.?]/g, '\\$&')}\\s+https://1fichier\\.com/\\?`, 'm'));

      const listing = await lsJson(`${folder.path}/incoming`);
      expect(listing).toEqual([expect.objectContaining({ name: 'payload.bin', size: payload.length })]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('an unknown request id is a not-found (exit 3); a bad URL is a usage error (exit 2)', async () => {
    const unknown = await fc(['remote-status', '999999']);
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain('no such remote-upload request: 999999 (run `fichier-dav remote-status` to list them)');
    const bad = await fc(['remote-upload', 'file:///etc/passwd', '--to', '/']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not an http(s) or ftp URL: file:///etc/passwd');
  });
});

describe('secrets', () => {
  it('the API key never appears in any output of this file', () => {
    expect(outputs.length).toBeGreaterThan(20);
    for (const text of outputs) expect(text).not.toContain(API_KEY);
  });
});
