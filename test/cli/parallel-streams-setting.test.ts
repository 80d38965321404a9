/**
 * `--parallel-streams` against the connection caps: a reader's lanes never take the last free
 * connection of its file or of the account, so a number above min(caps) - 1 could never run. It
 * was accepted and silently became that smaller number; now serve refuses it at start, naming the
 * cap and the fix, from whichever source the value came (flag, environment, config file).
 */
import type { ChildProcess } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI_MAIN } from '../support/built-cli.js';
import { runCli, tempDir } from './helpers.js';

// Nothing is reached: the check comes before the key is used (the API URL is a closed port).
const base = ['serve', '--api-url', 'http://127.0.0.1:9/v1', '--port', '0'];
const env = { FICHIER_API_KEY: 'parallel-streams-setting-key' };
// A serve that is not refused (the old code) keeps retrying the closed port: killed after the test.
const children: ChildProcess[] = [];
const onSpawn = (child: ChildProcess) => {
  children.push(child);
  setTimeout(() => child.kill('SIGKILL'), 30_000).unref();
};
let dir: string | undefined;

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('--parallel-streams out of reach of the connection caps', () => {
  it('is refused with the cap and the fix, as a flag, an environment variable or a config key (exit 2)', async () => {
    dir = await tempDir('parallel-streams');
    const flag = await runCli(CLI_MAIN, [...base, '--state-dir', dir, '--parallel-streams', '8'], { env, onSpawn });
    expect(flag.code, flag.stderr).toBe(2);
    expect(flag.stderr).toContain(
      'error: --parallel-streams 8 cannot be reached: --download-connections-per-file is 6 and one connection is always left free for a seek, so a reader gets at most 5; raise --download-connections-per-file to 9 or more, or lower --parallel-streams',
    );
    const fromEnv = await runCli(CLI_MAIN, [...base, '--state-dir', dir, '--download-connections', '3'], { env: { ...env, FICHIER_DAV_PARALLEL_STREAMS: '4' }, onSpawn });
    expect(fromEnv.code, fromEnv.stderr).toBe(2);
    expect(fromEnv.stderr).toContain('--download-connections is 3 and one connection is always left free for a seek, so a reader gets at most 2; raise --download-connections to 5 or more');
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ parallelStreams: 30 }));
    const fromFile = await runCli(CLI_MAIN, [...base, '--state-dir', dir, '--config', config], { env, onSpawn });
    expect(fromFile.code, fromFile.stderr).toBe(2);
    expect(fromFile.stderr).toContain('--parallel-streams 30 cannot be reached');
  }, 120_000);
});
