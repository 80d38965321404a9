/**
 * The local state on the account database: a `state.json` of an earlier version is imported once
 * (nothing lost, nothing doubled), and a second process of the account sees each change at once.
 */
import { mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalState } from '../../src/drive/local-state.js';

const tag = { namespace: 'http://apple.com/ns', name: 'tags', xml: 'red' };

describe('LocalState on the account database', () => {
  it('imports a state.json of an earlier version once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fd-ls-'));
    writeFileSync(
      join(dir, 'state.json'),
      JSON.stringify({
        version: 1,
        files: { '/docs/empty.txt': { kind: 'empty', size: 0, created: '2026-01-01T00:00:00.000Z', modified: '2026-01-02T00:00:00.000Z' } },
        properties: { '/docs/empty.txt': [tag] },
      }),
    );
    const state = await LocalState.open(dir);
    expect(state.file('/docs/empty.txt')).toEqual({ kind: 'empty', size: 0, created: '2026-01-01T00:00:00.000Z', modified: '2026-01-02T00:00:00.000Z' });
    expect(state.properties('/docs/empty.txt')).toEqual([tag]);
    expect(existsSync(join(dir, 'state.json'))).toBe(false);
    expect(existsSync(join(dir, 'state.json.imported'))).toBe(true);
    await state.removeFile('/docs/empty.txt');
    state.close();
    // Reopened: the removal stands (the old file is not imported again).
    const reopened = await LocalState.open(dir);
    expect(reopened.file('/docs/empty.txt')).toBeUndefined();
    reopened.close();
  });

  it('a second process sees an empty file and a property as soon as the first stored them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fd-ls-'));
    const serve = await LocalState.open(dir);
    const cli = await LocalState.open(dir);
    await serve.putEmpty('/a.txt');
    await serve.patchProperties('/a.txt', [{ op: 'set', property: tag }]);
    expect(cli.file('/a.txt')?.kind).toBe('empty');
    expect(cli.properties('/a.txt')).toEqual([tag]);
    await cli.moveTree('/a.txt', '/b.txt');
    expect(serve.file('/a.txt')).toBeUndefined();
    expect(serve.properties('/b.txt')).toEqual([tag]);
    serve.close();
    cli.close();
  });
});
