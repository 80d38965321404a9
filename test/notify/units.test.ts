/** The notifier's parts alone: path mapping, listing differences, Plex section parsing, debounced batches. */
import { describe, expect, it } from 'vitest';
import { listingChanges } from '../../src/drive/changes.js';
import type { CachedFolder } from '../../src/drive/folder-cache.js';
import { ChangeNotifier } from '../../src/notify/notifier.js';
import { parsePathRule, PathMap } from '../../src/notify/path-map.js';
import { parseSections, type Batch } from '../../src/notify/targets.js';
import { changesOfWrite } from '../../src/notify/webdav-changes.js';

describe('path mapping', () => {
  it('maps by the longest prefix, per target, whole segments only', () => {
    const map = new PathMap(['/Vidéos=/mnt/fichier/Vidéos', '/Vidéos/Séries=/srv/tv', 'plex:/=/data', 'jellyfin:/Films=D:\\Films'].map(parsePathRule));
    expect(map.map('jellyfin', '/Vidéos/a.mkv')).toBe('/mnt/fichier/Vidéos/a.mkv');
    expect(map.map('jellyfin', '/Vidéos/Séries/S01/e1.mkv')).toBe('/srv/tv/S01/e1.mkv');
    expect(map.map('jellyfin', '/Vidéos2/a.mkv')).toBeUndefined();
    expect(map.map('jellyfin', '/Films/x y.mkv')).toBe('D:\\Films\\x y.mkv');
    expect(map.map('plex', '/Documents/a.pdf')).toBe('/data/Documents/a.pdf');
    expect(new PathMap([]).map('webhook', '/a/b')).toBe('/a/b');
    expect(() => parsePathRule('Vidéos=/x')).toThrow(/must start with \//);
    expect(() => parsePathRule('/Vidéos')).toThrow(/DRIVE_PATH=SERVER_PATH/);
  });

  it("turns answered writes (the account's paths) into changes; failures and housekeeping files into none", () => {
    const time = new Date(0);
    expect(changesOfWrite({ method: 'PUT', path: '/Alice/Vidéos/a b.mkv', status: 201, folder: false, size: 9 }, time)).toEqual([
      { event: 'created', path: '/Alice/Vidéos/a b.mkv', kind: 'file', size: 9, time },
    ]);
    expect(changesOfWrite({ method: 'MOVE', path: '/A/x.mkv', to: '/B/y.mkv', status: 204, folder: false }, time)).toEqual([
      { event: 'moved', path: '/B/y.mkv', oldPath: '/A/x.mkv', kind: 'file', time },
    ]);
    expect(changesOfWrite({ method: 'DELETE', path: '/A', status: 204, folder: true }, time)).toEqual([{ event: 'deleted', path: '/A', kind: 'folder', time }]);
    expect(changesOfWrite({ method: 'PUT', path: '/A/x.mkv', status: 0, folder: false }, time)).toEqual([]);
    expect(changesOfWrite({ method: 'PUT', path: '/A/x.mkv', status: 423, folder: false }, time)).toEqual([]);
    expect(changesOfWrite({ method: 'PUT', path: '/A/.DS_Store', status: 201, folder: false }, time)).toEqual([]);
    expect(changesOfWrite({ method: 'PROPPATCH', path: '/A/x.mkv', status: 207, folder: false }, time)).toEqual([]);
  });
});

describe('listing differences', () => {
  const folder = (files: Array<[string, string, number]>, folders: Array<[number, string]> = []): CachedFolder => ({
    id: 7,
    name: 'V',
    fetchedAt: 0,
    folders: folders.map(([id, name]) => ({ id, name })),
    files: files.map(([url, name, size]) => ({ url, name, size, modified: new Date(0) })),
  });
  it('tells created, deleted, renamed, replaced and resized files and folders apart', () => {
    const before = folder([['u1', 'a.mkv', 1], ['u2', 'b.mkv', 2], ['u3', 'c.mkv', 3], ['u4', 'd.mkv', 4]], [[1, 'S1'], [2, 'S2']]);
    const after = folder([['u1', 'a2.mkv', 1], ['u2', 'b.mkv', 20], ['u5', 'c.mkv', 30], ['u6', 'e.mkv', 6]], [[1, 'Saison 1'], [3, 'S3']]);
    const changes = listingChanges('/V', before, after, new Date(0)).map(({ event, path, oldPath, kind }) => ({ event, path, oldPath, kind }));
    expect(changes).toEqual(
      expect.arrayContaining([
        { event: 'moved', path: '/V/a2.mkv', oldPath: '/V/a.mkv', kind: 'file' },
        { event: 'modified', path: '/V/b.mkv', oldPath: undefined, kind: 'file' },
        { event: 'modified', path: '/V/c.mkv', oldPath: undefined, kind: 'file' },
        { event: 'created', path: '/V/e.mkv', oldPath: undefined, kind: 'file' },
        { event: 'deleted', path: '/V/d.mkv', oldPath: undefined, kind: 'file' },
        { event: 'moved', path: '/V/Saison 1', oldPath: '/V/S1', kind: 'folder' },
        { event: 'created', path: '/V/S3', oldPath: undefined, kind: 'folder' },
        { event: 'deleted', path: '/V/S2', oldPath: undefined, kind: 'folder' },
      ]),
    );
    expect(changes).toHaveLength(8);
    expect(listingChanges('/V', before, before, new Date(0))).toEqual([]);
  });
});

describe('Plex sections', () => {
  it('reads the XML form too', () => {
    const xml = '<MediaContainer size="1"><Directory key="3" title="Films &amp; co"><Location id="3" path="/mnt/a &amp; b"/></Directory></MediaContainer>';
    expect(parseSections(xml)).toEqual([{ key: '3', locations: ['/mnt/a & b'] }]);
  });
});

describe('the notifier', () => {
  it('sends changes of one folder made within the quiet time as one batch, once', async () => {
    const batches: Batch[] = [];
    const notifier = new ChangeNotifier({ targets: [{ name: 'webhook', describe: 'test', send: async (batch) => void batches.push(batch) }], debounceMs: 50 });
    const time = new Date();
    notifier.notify([{ event: 'created', path: '/V/a.mkv', kind: 'file', time }]);
    notifier.notify([{ event: 'created', path: '/V/b.mkv', kind: 'file', time }, { event: 'created', path: '/W/c.mkv', kind: 'file', time }]);
    // Waits for the timers (no flush): nothing here measures how long they took.
    while (notifier.pending() > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(batches.map((batch) => [batch.folder, batch.events.map((change) => change.path)]).sort()).toEqual([
      ['/V', ['/V/a.mkv', '/V/b.mkv']],
      ['/W', ['/W/c.mkv']],
    ]);
    await notifier.close();
  });

  it('gives up after its tries and counts every outcome', async () => {
    const outcomes: string[] = [];
    let tries = 0;
    const notifier = new ChangeNotifier({
      targets: [{ name: 'plex', describe: 'test', send: async () => void (tries += 1, (() => { throw new Error('down'); })()) }],
      retry: { attempts: 3, firstDelayMs: 5 },
      onOutcome: (_target, outcome) => outcomes.push(outcome),
    });
    notifier.notify([{ event: 'deleted', path: '/V/a.mkv', kind: 'file', time: new Date() }]);
    await notifier.flush();
    expect(tries).toBe(3);
    expect(outcomes).toEqual(['failed', 'retried', 'failed', 'retried', 'failed', 'dropped']);
    expect(notifier.pending()).toBe(0);
  });
});

describe('serve settings for notifications', () => {
  it('needs the key with the URL, reads secrets from files, and is off when nothing is set', async () => {
    const { notifyOptionsFrom } = await import('../../src/cli/serve.js');
    const { mkdtemp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    await expect(notifyOptionsFrom({ strmSource: '/' })).resolves.toBeUndefined();
    await expect(notifyOptionsFrom({ strmSource: '/', notifyJellyfin: 'http://127.0.0.1:8096' })).rejects.toThrow(/FICHIER_DAV_NOTIFY_JELLYFIN_KEY/);
    await expect(notifyOptionsFrom({ strmSource: '/', notifyPlex: 'http://127.0.0.1:32400' })).rejects.toThrow(/FICHIER_DAV_NOTIFY_PLEX_TOKEN/);
    const dir = await mkdtemp(join(tmpdir(), 'fichier-dav-notify-key-'));
    try {
      await writeFile(join(dir, 'key'), 'from-a-file\n');
      await writeFile(join(dir, 'empty'), '\n');
      const options = await notifyOptionsFrom({ strmSource: '/', notifyJellyfin: 'http://j', notifyJellyfinKeyFile: join(dir, 'key'), watch: ['/V'], notifyDelay: 5000 });
      expect(options).toMatchObject({ jellyfin: { url: 'http://j', apiKey: 'from-a-file' }, watch: ['/V'], debounceMs: 5000 });
      await expect(notifyOptionsFrom({ strmSource: '/', notifyPlex: 'http://p', notifyPlexTokenFile: join(dir, 'empty') })).rejects.toThrow(/is empty/);
      await expect(notifyOptionsFrom({ strmSource: '/', notifyPlex: 'http://p', notifyPlexTokenFile: join(dir, 'missing') })).rejects.toThrow(/cannot read/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
