import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ACCOUNT_SETTING_KEYS,
  SERVE_SETTING_KEYS,
  SETTINGS,
  apiKeyFileToRead,
  defaultConfigPath,
  loadSettings,
  parseConfigText,
  readConfigFile,
  resolveSettings,
  settingsReferenceMarkdown,
} from '../../src/cli/config.js';
import { CliError, ExitCode } from '../../src/cli/exit-codes.js';
import { root, tempDir } from './helpers.js';

const file = (values: Record<string, unknown>) => ({ path: '/etc/fichier-dav.json', values });

describe('resolveSettings: flag > environment > config file > default', () => {
  it('takes the default when nothing is set', () => {
    const { values, origins } = resolveSettings(['rate', 'apiUrl', 'stateDir'], { flags: {}, env: {} });
    expect(values).toEqual({ rate: 2, apiUrl: 'https://api.1fichier.com/v1', stateDir: undefined });
    expect(origins).toEqual({ rate: 'default', apiUrl: 'default', stateDir: 'default' });
  });

  it('a config file beats the default, the environment beats the file, a flag beats everything', () => {
    const sources = { file: file({ rate: 1 }) };
    expect(resolveSettings(['rate'], { ...sources, flags: {}, env: {} }).values.rate).toBe(1);
    expect(resolveSettings(['rate'], { ...sources, flags: {}, env: { FICHIER_DAV_RATE: '2.5' } }).values.rate).toBe(2.5);
    const all = resolveSettings(['rate'], { ...sources, flags: { rate: '0.5' }, env: { FICHIER_DAV_RATE: '2.5' } });
    expect(all.values.rate).toBe(0.5);
    expect(all.origins.rate).toBe('flag');
  });

  it('an empty environment variable counts as unset', () => {
    const { values, origins } = resolveSettings(['rate'], { flags: {}, env: { FICHIER_DAV_RATE: '' }, file: file({ rate: 1 }) });
    expect(values.rate).toBe(1);
    expect(origins.rate).toBe('file');
  });

  it('reads the first set of several environment names (FICHIER_DAV_PORT before PORT)', () => {
    expect(resolveSettings(['port'], { flags: {}, env: { PORT: '9000' } }).values.port).toBe(9000);
    expect(resolveSettings(['port'], { flags: {}, env: { PORT: '9000', FICHIER_DAV_PORT: '9001' } }).values.port).toBe(9001);
  });

  it('names the source of a bad value, with exit code 2', () => {
    const attempt = (sources: Parameters<typeof resolveSettings>[1]) => {
      try {
        resolveSettings(['rate'], sources);
      } catch (error) {
        return error as CliError;
      }
      throw new Error('no error');
    };
    const fromFlag = attempt({ flags: { rate: '9' }, env: {} });
    expect(fromFlag).toBeInstanceOf(CliError);
    expect(fromFlag.exitCode).toBe(ExitCode.usage);
    expect(fromFlag.message).toBe('--rate: must be at most 3: 1fichier allows about 3 calls/s');
    expect(attempt({ flags: {}, env: { FICHIER_DAV_RATE: 'fast' } }).message).toBe('FICHIER_DAV_RATE: must be a number');
    expect(attempt({ flags: {}, env: {}, file: file({ rate: -1 }) }).message).toBe('"rate" in /etc/fichier-dav.json: must be a positive number');
  });

  it('a config value of the wrong JSON type is named for what the setting wants (it said "must be a string" for a number)', () => {
    for (const value of [true, [5], {}]) {
      expect(() => resolveSettings(['jitterMs'], { flags: {}, env: {}, file: file({ jitterMs: value }) })).toThrow('"jitterMs" in /etc/fichier-dav.json: must be a number');
      expect(() => resolveSettings(['parallelStreams'], { flags: {}, env: {}, file: file({ parallelStreams: value }) })).toThrow('must be a number');
    }
  });

  it('refuses a timer setting beyond the longest wait a timer makes (Node fired it after 1 ms: --watch-interval 30d re-listed without pause)', () => {
    expect(() => resolveSettings(['watchInterval'], { flags: { watchInterval: '30d' }, env: {} })).toThrow('--watch-interval: must be at most 24d');
    expect(() => resolveSettings(['notifyDelay'], { flags: {}, env: {}, file: file({ notifyDelay: 3e9 }) })).toThrow('must be at most 24d');
    expect(() => resolveSettings(['idleTimeout'], { flags: {}, env: { FICHIER_DAV_IDLE_TIMEOUT: '2200000' } })).toThrow('FICHIER_DAV_IDLE_TIMEOUT: must be at most 2147483 seconds');
    expect(() => resolveSettings(['progressInterval'], { flags: { progressInterval: '1e7' }, env: {} })).toThrow('must be at most 2147483 seconds');
    // The reach itself is fine, and so is a long cache age (a comparison, not a timer).
    expect(resolveSettings(['watchInterval', 'cacheMaxAge'], { flags: { watchInterval: '24d', cacheMaxAge: '90d' }, env: {} }).values).toEqual({ watchInterval: 24 * 86_400_000, cacheMaxAge: 90 * 86_400_000 });
  });

  it('parses every kind of value from strings and from JSON numbers', () => {
    const { values } = resolveSettings(['port', 'downloads', 'timeScale', 'retries', 'apiUrl'], {
      flags: { downloads: 'redirect' },
      env: { FICHIER_DAV_TIME_SCALE: '0.01' },
      file: file({ port: 8081, retries: '4', apiUrl: 'http://127.0.0.1:9/v1/' }),
    });
    expect(values).toEqual({ port: 8081, downloads: 'redirect', timeScale: 0.01, retries: 4, apiUrl: 'http://127.0.0.1:9/v1' });
    expect(() => resolveSettings(['port'], { flags: { port: '70000' }, env: {} })).toThrow('--port: must be an integer from 0 to 65535');
    expect(() => resolveSettings(['downloads'], { flags: { downloads: 'x' }, env: {} })).toThrow('must be one of stream, redirect');
    expect(() => resolveSettings(['apiUrl'], { flags: { apiUrl: 'ftp://x' }, env: {} })).toThrow('must be an http(s) URL');
  });

  it('refuses credentials in the API URL without repeating them (the banner and logs name the URL)', () => {
    let message = '';
    try {
      resolveSettings(['apiUrl'], { flags: { apiUrl: 'http://u:topsecretpw@127.0.0.1:18700/v1' }, env: {} });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('--api-url: must not carry a user name or password');
    expect(message).not.toContain('topsecretpw');
  });

  it('expands ~ and relative paths', () => {
    const { values } = resolveSettings(['stateDir', 'apiKeyFile'], { flags: { apiKeyFile: '~/key' }, env: { FICHIER_DAV_STATE_DIR: 'rel/dir' } });
    expect(values.apiKeyFile).toBe(join(homedir(), 'key'));
    expect(values.stateDir).toBe(join(process.cwd(), 'rel/dir'));
  });
});

describe('config file', () => {
  it('refuses the API key, unknown keys, bad JSON and non-objects with exit code 2', () => {
    const codeOf = (text: string) => {
      try {
        parseConfigText(text, '/c.json');
      } catch (error) {
        expect(error).toBeInstanceOf(CliError);
        return [(error as CliError).exitCode, (error as CliError).message];
      }
      return [0, ''];
    };
    expect(codeOf('{"apiKey":"secret"}')).toEqual([2, expect.stringContaining('must not hold the API key')]);
    expect(codeOf('{"apiKey":"secret"}')[1]).not.toContain('secret');
    expect(codeOf('{"rat":2}')).toEqual([2, expect.stringContaining('unknown setting "rat"')]);
    expect(codeOf('{rate: 2}')).toEqual([2, expect.stringContaining('is not valid JSON')]);
    expect(codeOf('[1]')).toEqual([2, expect.stringContaining('must hold a JSON object')]);
    expect(parseConfigText('{"$schema":"x","rate":1}', '/c.json')).toEqual({ $schema: 'x', rate: 1 });
  });

  it("the default config file is in the platform's config directory", () => {
    expect(defaultConfigPath({}, 'linux')).toBe(join(homedir(), '.config', 'fichier-dav', 'config.json'));
    expect(defaultConfigPath({}, 'darwin')).toBe(join(homedir(), 'Library', 'Application Support', 'fichier-dav', 'config.json'));
    expect(defaultConfigPath({ APPDATA: '/c/Users/me/AppData/Roaming' }, 'win32')).toBe(join('/c/Users/me/AppData/Roaming', 'fichier-dav', 'config.json'));
    expect(defaultConfigPath({ XDG_CONFIG_HOME: '/x' }, 'darwin')).toBe(join('/x', 'fichier-dav', 'config.json'));
  });

  it('refuses a secret in the config file, naming where it goes', () => {
    expect(() => parseConfigText('{"pass":"hunter2"}', '/c.json')).toThrow(/must not hold a secret \("pass"\): set FICHIER_DAV_PASS/);
  });

  it('reads --config, then FICHIER_DAV_CONFIG, then the default path; only the default may be missing', async () => {
    const dir = await tempDir('config');
    const explicit = join(dir, 'explicit.json');
    const fromEnv = join(dir, 'env.json');
    await writeFile(explicit, '{"rate": 1}');
    await writeFile(fromEnv, '{"rate": 1.5}');
    const xdg = join(dir, 'xdg');
    expect(defaultConfigPath({ XDG_CONFIG_HOME: xdg })).toBe(join(xdg, 'fichier-dav', 'config.json'));
    expect(await readConfigFile(undefined, { XDG_CONFIG_HOME: xdg })).toBeUndefined();
    await mkdir(join(xdg, 'fichier-dav'), { recursive: true });
    await writeFile(join(xdg, 'fichier-dav', 'config.json'), '{"rate": 0.5}');
    expect((await readConfigFile(undefined, { XDG_CONFIG_HOME: xdg }))?.values).toEqual({ rate: 0.5 });
    expect((await readConfigFile(undefined, { XDG_CONFIG_HOME: xdg, FICHIER_DAV_CONFIG: fromEnv }))?.values).toEqual({ rate: 1.5 });
    expect((await readConfigFile(explicit, { XDG_CONFIG_HOME: xdg, FICHIER_DAV_CONFIG: fromEnv }))?.values).toEqual({ rate: 1 });
    await expect(readConfigFile(join(dir, 'missing.json'), {})).rejects.toThrow(/cannot read the config file .*missing\.json \(ENOENT\)/);
    const loaded = await loadSettings(['rate', 'retries'] as const, { config: explicit, retries: '5' }, {});
    expect(loaded.values).toEqual({ rate: 1, retries: 5 });
    expect(loaded.origins).toEqual({ rate: 'file', retries: 'flag' });
  });
});

describe('which API key file is read', () => {
  it('--api-key-file beats FICHIER_API_KEY, which beats FICHIER_API_KEY_FILE and the config file', () => {
    expect(apiKeyFileToRead({ apiKeyFile: '/flag' }, 'flag', { FICHIER_API_KEY: 'k' })).toBe('/flag');
    expect(apiKeyFileToRead({ apiKeyFile: '/env-file' }, 'env', { FICHIER_API_KEY: 'k' })).toBeUndefined();
    expect(apiKeyFileToRead({ apiKeyFile: '/config-file' }, 'file', { FICHIER_API_KEY: 'k' })).toBeUndefined();
    expect(apiKeyFileToRead({ apiKeyFile: '/config-file' }, 'file', {})).toBe('/config-file');
    expect(apiKeyFileToRead({}, 'default', {})).toBeUndefined();
  });
});

describe('documentation', () => {
  it('docs/configuration.md carries the configuration reference generated from SETTINGS', async () => {
    const docs = await readFile(join(root, 'docs', 'configuration.md'), 'utf8');
    expect(docs).toContain(settingsReferenceMarkdown());
    for (const setting of Object.values(SETTINGS)) {
      expect(docs).toContain(setting.flag.split(' ')[0]);
      for (const name of setting.env) expect(docs).toContain(name);
    }
  });

  it('every key the commands resolve is declared', () => {
    for (const key of [...ACCOUNT_SETTING_KEYS, ...SERVE_SETTING_KEYS]) expect(SETTINGS[key].key).toBe(key);
  });
});
