/**
 * State folders for the Redis tests' bridges: each bridge stands for a machine of its own, where
 * the key was accepted before (a restart), so no bridge spends an API call checking it.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AcceptedKeys } from '../../src/state/accepted-keys.js';
import { openAccountDb } from '../../src/state/account-db.js';
import { keyFingerprint } from '../../src/state/location.js';

/** Marks `key` accepted in the state folder `dir` (created if missing); returns `dir`. */
export function acceptKeyIn(dir: string, key: string): string {
  const db = openAccountDb(dir);
  new AcceptedKeys(db).accept(keyFingerprint(key));
  db.close();
  return dir;
}

/** A new temporary state folder where `key` is accepted, pushed onto `dirs` for clean-up. */
export async function acceptedStateDir(key: string, dirs: string[], prefix = 'fichier-dav-redis-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return acceptKeyIn(dir, key);
}
