/**
 * `.strm` libraries on the demo account: the `strm` command (the built CLI, as users run it) and
 * `serve --strm-dir`. Every video gets a `.strm` holding a signed stream link on the bridge; real
 * ffprobe reads a video through it (ranges, bytes exact); a tampered or foreign signature is 403;
 * after a rename on the account the old link still plays and a re-sync renames the `.strm`.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBridge, type RunningBridge } from '../../src/cli/bridge.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { CLI_MAIN } from '../support/built-cli.js';
import { KEY, SCALE } from '../integration/helpers.js';
import { removeOnAccount, renameOnAccount } from '../links/helpers.js';

const run = promisify(execFile);
let sim: Simulator;
let bridge: RunningBridge;
let work: string;
let stateDir: string;
let clip: Buffer;
let clipUrl: string;
let subtitleUrl: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'fichier-dav-strm-'));
  stateDir = join(work, 'state');
  await run(
    'ffmpeg',
    ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x180:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000', '-t', '4', '-c:v', 'mpeg4', '-c:a', 'aac', '-f', 'mp4', join(work, 'clip.mp4')],
    { timeout: 120_000 },
  );
  clip = await readFile(join(work, 'clip.mp4'));
  sim = await startSimulator({ apiKey: KEY, timeScale: SCALE, fixture: 'demo' });
  const series = await sim.addFolder({ name: 'Séries' });
  clipUrl = await sim.addFile({ folderId: series, name: 'Épisode 1.mp4', content: clip });
  subtitleUrl = await sim.addFile({ folderId: series, name: 'Épisode 1.fr.srt', content: '1\n00:00:00,000 --> 00:00:02,000\nBonjour\n' });
  await sim.addFile({ folderId: series, name: 'tvshow.nfo', content: '<tvshow><title>Séries</title></tvshow>' });
  await sim.addFile({ folderId: series, name: 'notes.txt', content: 'not for the library' });
  bridge = await startBridge({ apiKey: KEY, apiUrl: sim.apiUrl, port: 0, stateDir, client: { timeScale: SCALE } });
}, 180_000);

afterAll(async () => {
  await bridge?.close();
  await sim?.close();
  await rm(work, { recursive: true, force: true });
});

async function strmCommand(source: string, dir: string): Promise<Record<string, number>> {
  const { stdout } = await run(
    process.execPath,
    [CLI_MAIN, 'strm', source, dir, '--api-url', sim.apiUrl, '--state-dir', stateDir, '--time-scale', String(SCALE), '--public-url', bridge.publicUrl, '--json'],
    { env: { PATH: process.env.PATH ?? '', HOME: work, FICHIER_API_KEY: KEY }, timeout: 120_000 },
  );
  return JSON.parse(stdout) as Record<string, number>;
}

async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(dir, join(entry.parentPath, entry.name))).sort();
}

async function ffprobe(target: string): Promise<Record<string, unknown>> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', target], { timeout: 120_000 });
  const parsed = JSON.parse(stdout) as { format: Record<string, unknown> };
  delete parsed.format.filename;
  return parsed;
}

describe('fichier-dav strm on the demo account', () => {
  const library = () => join(work, 'library');

  it('writes one .strm per video, mirrors the tree, copies subtitles and .nfo, embeds no 1fichier token', async () => {
    const result = await strmCommand('/', library());
    expect(await files(library())).toEqual(
      [
        '.fichier-dav-strm.json',
        'Séries/Épisode 1.fr.srt',
        'Séries/Épisode 1.strm',
        'Séries/tvshow.nfo',
        'Vidéos/Film de démonstration (2024).strm',
        'Vidéos/bande-annonce.strm',
      ].sort(),
    );
    expect(result).toMatchObject({ videos: 3, written: 3, copied: 2, removed: 0 });
    expect(await readFile(join(library(), 'Séries', 'Épisode 1.fr.srt'), 'utf8')).toContain('Bonjour');
    for (const name of ['Séries/Épisode 1.strm', 'Vidéos/bande-annonce.strm', 'Vidéos/Film de démonstration (2024).strm']) {
      const text = await readFile(join(library(), name), 'utf8');
      expect(text).toMatch(new RegExp(`^${bridge.publicUrl.replace(/[.]/g, '\\.')}/stream/[a-z0-9]{20}/[^?/]+\\?sig=[A-Za-z0-9_-]{43}\\n$`));
      expect(text).not.toContain(KEY);
      expect(text).not.toContain(sim.downloadHost.replace(/^https?:\/\//, ''));
    }
  }, 180_000);

  it('ffprobe reads the video through its .strm link, and ranges are byte-exact', async () => {
    const link = (await readFile(join(library(), 'Séries', 'Épisode 1.strm'), 'utf8')).trim();
    expect(await ffprobe(link)).toEqual(await ffprobe(join(work, 'clip.mp4')));
    const tail = await fetch(link, { headers: { Range: `bytes=${clip.length - 5000}-` } });
    expect(tail.status).toBe(206);
    expect(Buffer.from(await tail.arrayBuffer()).equals(clip.subarray(clip.length - 5000))).toBe(true);
    const middle = await fetch(link, { headers: { Range: 'bytes=1000-20999' } });
    expect(Buffer.from(await middle.arrayBuffer()).equals(clip.subarray(1000, 21000))).toBe(true);
  }, 180_000);

  it('a tampered or foreign signature gets 403 and costs no API call', async () => {
    const link = (await readFile(join(library(), 'Séries', 'Épisode 1.strm'), 'utf8')).trim();
    const foreign = (await readFile(join(library(), 'Vidéos', 'bande-annonce.strm'), 'utf8')).trim();
    const before = sim.stats().calls;
    const signature = new URL(link).searchParams.get('sig')!;
    const tampered = link.replace(signature, signature.slice(0, -1) + (signature.endsWith('A') ? 'B' : 'A'));
    expect((await fetch(tampered)).status).toBe(403);
    expect((await fetch(link.replace(signature, new URL(foreign).searchParams.get('sig')!))).status).toBe(403);
    expect(sim.stats().calls).toEqual(before);
  }, 120_000);

  it('after a rename on the account the old link still plays, and a re-sync renames the .strm', async () => {
    const oldStrm = join(library(), 'Séries', 'Épisode 1.strm');
    const link = (await readFile(oldStrm, 'utf8')).trim();
    await renameOnAccount(sim, clipUrl, 'S01E01 - Pilote.mp4');
    expect(await ffprobe(link)).toEqual(await ffprobe(join(work, 'clip.mp4')));
    await removeOnAccount(sim, subtitleUrl);
    // The saved listing may be reused inside 1fichier's 30 s window: sync again until the rename shows.
    let result: Record<string, number> = {};
    for (let tries = 0; tries < 20 && !(result.renamed === 1); tries += 1) result = await strmCommand('/', library());
    expect(result).toMatchObject({ renamed: 1, removed: 1 });
    const now = await files(library());
    expect(now).toContain('Séries/S01E01 - Pilote.strm');
    expect(now).not.toContain('Séries/Épisode 1.strm');
    expect(now).not.toContain('Séries/Épisode 1.fr.srt');
    // Same file, same id: the link names the new name and plays.
    const renamed = (await readFile(join(library(), 'Séries', 'S01E01 - Pilote.strm'), 'utf8')).trim();
    expect(new URL(renamed).pathname.split('/')[2]).toBe(new URL(link).pathname.split('/')[2]);
    expect(Buffer.from(await (await fetch(renamed)).arrayBuffer()).equals(clip)).toBe(true);
    // Nothing changed since: a new sync writes nothing.
    expect(await strmCommand('/', library())).toMatchObject({ written: 0, renamed: 0, removed: 0, copied: 0, videos: 3 });
  }, 180_000);
});

describe('serve --strm-dir', () => {
  it('keeps the library in step with the bridge own writes', async () => {
    const dir = join(work, 'kept');
    const kept = await startBridge({
      apiKey: KEY,
      apiUrl: sim.apiUrl,
      port: 0,
      stateDir: join(work, 'state-kept'),
      client: { timeScale: SCALE },
      notify: { strm: { dir, source: '/Vidéos' }, debounceMs: 60_000 },
    });
    try {
      const base = kept.url.replace(/\/$/, '');
      await kept.notifications!.strmSettled();
      expect(await files(dir)).toEqual(['.fichier-dav-strm.json', 'Film de démonstration (2024).strm', 'bande-annonce.strm']);
      expect((await fetch(`${base}/Vid%C3%A9os/nouveau.mkv`, { method: 'PUT', body: clip })).status).toBe(201);
      await kept.notifications!.strmSettled();
      expect(await files(dir)).toContain('nouveau.strm');
      const link = (await readFile(join(dir, 'nouveau.strm'), 'utf8')).trim();
      expect(link.startsWith(`${kept.publicUrl}/stream/`)).toBe(true);
      expect((await fetch(`${base}/Vid%C3%A9os/nouveau.mkv`, { method: 'MOVE', headers: { Destination: `${base}/Vid%C3%A9os/Nouveau%20nom.mkv` } })).status).toBe(201);
      await kept.notifications!.strmSettled();
      expect(await files(dir)).toEqual(['.fichier-dav-strm.json', 'Film de démonstration (2024).strm', 'Nouveau nom.strm', 'bande-annonce.strm']);
      expect(Buffer.from(await (await fetch(link)).arrayBuffer()).equals(clip)).toBe(true);
      expect((await fetch(`${base}/Vid%C3%A9os/Nouveau%20nom.mkv`, { method: 'DELETE' })).status).toBe(204);
      await kept.notifications!.strmSettled();
      expect(await files(dir)).toEqual(['.fichier-dav-strm.json', 'Film de démonstration (2024).strm', 'bande-annonce.strm']);
      expect((await fetch(link)).status).toBe(404);
    } finally {
      await kept.close();
    }
  }, 180_000);
});
