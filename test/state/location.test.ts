/**
 * Where an account's state lives: the platform's state directory (never a cache), named by the
 * account, found again after a key rotation or with a trailing `/` on the API URL, and moved once
 * from the cache folder earlier versions used.
 */
import { mkdirSync, mkdtempSync, writeFileSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  accountFolderName,
  IdentifyCooldownError,
  keyFingerprint,
  legacyStateDirs,
  locateAccountState,
  normalizeApiUrl,
  stateRoot,
} from '../../src/state/location.js';

describe('stateRoot', () => {
  it("is the platform's state directory, never a cache", () => {
    expect(stateRoot({ XDG_STATE_HOME: '/x/state' }, 'linux', '/home/u')).toBe('/x/state/fichier-dav');
    expect(stateRoot({}, 'linux', '/home/u')).toBe('/home/u/.local/state/fichier-dav');
    expect(stateRoot({}, 'freebsd', '/home/u')).toBe('/home/u/.local/state/fichier-dav');
    expect(stateRoot({}, 'darwin', '/Users/u')).toBe('/Users/u/Library/Application Support/fichier-dav');
    expect(stateRoot({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32', 'C:\\Users\\u')).toContain('fichier-dav');
    expect(stateRoot({ XDG_CACHE_HOME: '/x/cache' }, 'linux', '/home/u')).not.toContain('cache');
  });
});

describe('account folder names', () => {
  it('ignore trailing slashes and name the API host when it is not 1fichier', () => {
    expect(normalizeApiUrl('https://api.1fichier.com/v1/')).toBe('https://api.1fichier.com/v1');
    expect(accountFolderName('me@example.org', 'https://api.1fichier.com/v1/')).toBe('me@example.org');
    expect(accountFolderName('me@example.org', 'http://127.0.0.1:8181/v1')).toBe('me@example.org~127.0.0.1_8181');
    expect(accountFolderName('../../etc', 'https://api.1fichier.com/v1')).not.toContain('/');
  });

  it('fingerprints a key without showing it', () => {
    expect(keyFingerprint('secret-key-123')).not.toContain('secret');
    expect(keyFingerprint('secret-key-123')).toBe(keyFingerprint('secret-key-123'));
    expect(keyFingerprint('secret-key-124')).not.toBe(keyFingerprint('secret-key-123'));
  });
});

describe('locateAccountState', () => {
  function machine() {
    const home = mkdtempSync(join(tmpdir(), 'fd-loc-'));
    const env = { XDG_STATE_HOME: join(home, 'state'), XDG_CACHE_HOME: join(home, 'cache') };
    let asked = 0;
    const locate = (apiKey: string, extra: { apiUrl?: string; account?: string; stateDir?: string; email?: string } = {}) =>
      locateAccountState({
        apiKey,
        apiUrl: extra.apiUrl ?? 'https://api.1fichier.com/v1',
        account: extra.account,
        stateDir: extra.stateDir,
        env,
        platform: 'linux',
        home,
        identify: async () => {
          asked++;
          return { email: extra.email ?? 'me@example.org' };
        },
      });
    return { home, env, locate, asked: () => asked };
  }

  it('asks who a key belongs to once, and finds the same folder after a key rotation', async () => {
    const m = machine();
    const first = await m.locate('key-one');
    expect(first).toMatchObject({ how: 'identified', dir: join(m.home, 'state', 'fichier-dav', 'me@example.org') });
    expect(await m.locate('key-one', { apiUrl: 'https://api.1fichier.com/v1/' })).toMatchObject({ how: 'known-key', dir: first.dir });
    expect(m.asked()).toBe(1);
    // A new key of the same account: one question, the same folder.
    expect(await m.locate('key-two')).toMatchObject({ how: 'identified', dir: first.dir });
    expect(m.asked()).toBe(2);
    expect(readFileSync(join(m.home, 'state', 'fichier-dav', 'keys.json'), 'utf8')).not.toContain('key-one');
  });

  it('--state-dir wins; --account names the folder without asking', async () => {
    const m = machine();
    expect(await m.locate('k', { stateDir: '/somewhere' })).toEqual({ dir: '/somewhere', how: 'state-dir' });
    expect(await m.locate('k', { account: 'work' })).toMatchObject({ how: 'account', dir: join(m.home, 'state', 'fichier-dav', 'work') });
    expect(m.asked()).toBe(0);
  });

  it('moves the folder an earlier version kept under the cache directory, once', async () => {
    const m = machine();
    const [legacy] = legacyStateDirs('https://api.1fichier.com/v1', 'old-key', m.env, m.home);
    mkdirSync(legacy, { recursive: true });
    writeFileSync(join(legacy, 'state.json'), JSON.stringify({ version: 1, files: {}, properties: {} }));
    const found = await m.locate('old-key');
    expect(found.migratedFrom).toBe(legacy);
    expect(existsSync(join(found.dir, 'state.json'))).toBe(true);
    expect(existsSync(legacy)).toBe(false);
  });

  it('after a flood while identifying, the next process does not ask again before the cool-down ends', async () => {
    const m = machine();
    const flooding = () =>
      locateAccountState({
        apiKey: 'k',
        apiUrl: 'https://api.1fichier.com/v1',
        env: m.env,
        platform: 'linux',
        home: m.home,
        identify: async () => {
          throw new Error('Flood detected');
        },
        cooldownAfter: () => 30_000,
      });
    await expect(flooding()).rejects.toThrow('Flood detected');
    await expect(m.locate('k')).rejects.toBeInstanceOf(IdentifyCooldownError);
    expect(m.asked()).toBe(0);
  });
});
