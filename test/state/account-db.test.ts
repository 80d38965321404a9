import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openAccountDb } from '../../src/state/account-db.js';

describe('account database', () => {
  it('creates a part once and upgrades it by version, across two connections', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fd-db-'));
    const a = openAccountDb(dir);
    const b = openAccountDb(dir);
    const runs: number[] = [];
    const part = (version: number) => ({
      name: 'sample',
      version,
      migrate(db: typeof a.db, from: number) {
        runs.push(from);
        if (from < 1) db.exec('CREATE TABLE sample (k TEXT PRIMARY KEY, v INTEGER)');
        if (from < 2 && version >= 2) db.exec('ALTER TABLE sample ADD COLUMN w INTEGER');
      },
    });
    a.defineSchema(part(1));
    b.defineSchema(part(1));
    b.defineSchema(part(2));
    a.defineSchema(part(2));
    expect(runs).toEqual([0, 1]);
    a.write(() => a.db.prepare('INSERT INTO sample (k, v, w) VALUES (?, ?, ?)').run('x', 1, 2));
    expect(b.db.prepare('SELECT v, w FROM sample WHERE k = ?').get('x')).toEqual({ v: 1, w: 2 });
    a.close();
    b.close();
  });
});
