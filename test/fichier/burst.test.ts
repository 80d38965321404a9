import { afterEach, expect, it } from 'vitest';
import { harness, SCALE, type Harness } from './helpers.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('200 concurrent mixed calls: zero floods, the configured spacing and the 30 s per-folder rule hold', async () => {
  h = await harness();
  const { sim, client } = h;
  const folders: number[] = [];
  const files: string[] = [];
  for (let i = 0; i < 5; i++) {
    const f = await sim.addFolder({ parentId: 0, name: `dir${i}` });
    folders.push(f);
    for (let j = 0; j < 4; j++) files.push(await sim.addFile({ folderId: f, name: `f${j}.txt`, content: `${i}/${j}` }));
  }
  sim.reset();

  const calls: Array<() => Promise<unknown>> = [];
  for (let i = 0; i < 200; i++) {
    const folder = folders[Math.floor(i / 10) % folders.length];
    const file = files[(i * 7) % files.length];
    const priority = i % 3 === 0 ? 'background' : 'interactive';
    switch (i % 10) {
      case 0:
        calls.push(() => client.listFolder(folder, { priority })); // identical ones share
        break;
      case 1:
        calls.push(() => client.listFiles(folder, { priority, fresh: i % 20 === 1 })); // a second kind of listing of the same folder
        break;
      case 2:
        calls.push(() => client.listFolder(folder, { files: false, priority }));
        break;
      case 3:
        calls.push(() => client.userInfo({ priority }));
        break;
      case 4:
      case 5:
        calls.push(() => client.fileInfo(file, { priority }));
        break;
      case 6:
      case 7:
        calls.push(() => client.getDownloadToken(file, { priority }));
        break;
      case 8:
        calls.push(() => client.chattr([file], { description: `d${i}` }, { priority }));
        break;
      default:
        calls.push(() => client.remoteList({ priority }));
    }
  }
  const results = await Promise.allSettled(calls.map((c) => c()));
  const failed = results.filter((r) => r.status === 'rejected');
  expect(failed.map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);

  const stats = sim.stats();
  expect(stats.floods).toBe(0);
  const log = sim.log().filter((e) => e.host === 'api');
  expect(log.every((e) => e.outcome === 'OK')).toBe(true);
  expect(log.length).toBeGreaterThan(50);

  // Spacing: at 2 calls/s (burst 1), N calls take at least (N-1) × 500 ms (scaled) overall, and
  // no 10 s (scaled) window holds more than 2 × 10 + 1 calls.
  const times = log.map((e) => e.ms).sort((a, b) => a - b);
  const step = 500 * SCALE;
  expect(times.at(-1)! - times[0]).toBeGreaterThanOrEqual((times.length - 1) * step - 2);
  const windowMs = 10_000 * SCALE;
  for (let i = 0, j = 0; i < times.length; i++) {
    while (times[i] - times[j] >= windowMs) j++;
    expect(i - j + 1).toBeLessThanOrEqual(21);
  }

  // The per-folder rule: listings of one folder (file/ls, folder/ls with or without files) ≥ 30 s apart.
  for (const f of folders) {
    const ls = log
      .filter((e) => (e.endpoint === 'file/ls.cgi' || e.endpoint === 'folder/ls.cgi') && (e.body as { folder_id: number }).folder_id === f)
      .map((e) => e.ms)
      .sort((a, b) => a - b);
    expect(ls.length).toBeGreaterThanOrEqual(2);
    for (let k = 1; k < ls.length; k++) expect(ls[k] - ls[k - 1]).toBeGreaterThanOrEqual(30_000 * SCALE - 1);
  }
  // user/info at most once per 60 s
  const ui = log.filter((e) => e.endpoint === 'user/info.cgi').map((e) => e.ms);
  for (let k = 1; k < ui.length; k++) expect(ui[k] - ui[k - 1]).toBeGreaterThanOrEqual(60_000 * SCALE - 1);
});
