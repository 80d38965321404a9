/**
 * State folders for the Redis tests' bridges: each bridge stands for a machine of its own, where
 * the key was accepted before (a restart), so no bridge spends an API call checking it. And the
 * tear-down of such a set-up.
 */
import { mkdtemp, rm } from 'node:fs/promises';
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

/** Closes the bridges, then the simulator and Redis, then removes the state folders. */
export async function tearDown(parts: {
  bridges: Array<{ close(): Promise<void> }>;
  sim?: { close(): Promise<void> };
  redis?: { close(): Promise<void> };
  dirs: string[];
}): Promise<void> {
  await Promise.all(parts.bridges.map((bridge) => bridge.close()));
  await parts.sim?.close();
  await parts.redis?.close();
  for (const dir of parts.dirs) await rm(dir, { recursive: true, force: true });
}
