/**
 * The demo as its banner tells a newcomer to use it: export what it prints, run `fichier-dav ls /`
 * in another terminal, then mount (a PROPFIND of the root). The CLI and the bridge must share the
 * account's state (API budget, saved listings), or the root is listed twice inside 1fichier's 30 s
 * window: the simulated account floods and the mount waits 20 s for a 503. A `download` of the
 * trailer checks its Whirlpool against the one the demo lists.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI_MAIN } from '../support/built-cli.js';

let demo: ChildProcess | undefined;
let home: string | undefined;

afterAll(async () => {
  demo?.kill('SIGTERM');
  if (home) await rm(home, { recursive: true, force: true });
});

describe('the demo banner, followed literally', () => {
  it('`fichier-dav ls /` with the printed exports, then a mount: 207 and no flood', async () => {
    home = await mkdtemp(join(tmpdir(), 'fichier-dav-demo-walk-'));
    const env = { PATH: process.env.PATH ?? '', HOME: home, XDG_STATE_HOME: join(home, 'state'), XDG_CONFIG_HOME: join(home, 'config') };
    demo = spawn(process.execPath, [CLI_MAIN, 'demo', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    demo.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    demo.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    await new Promise<void>((resolve, reject) => {
      demo!.stdout!.on('data', () => /Press Ctrl\+C to stop/.test(out) && resolve());
      demo!.once('exit', (code) => reject(new Error(`demo exited with ${code}:\n${out}`)));
    });
    // Every `export NAME=VALUE` line, as a shell would apply it.
    const exports = [...out.matchAll(/^\s+export (\w+)=(.*)$/gm)].map(([, name, value]) => {
      const shell = spawnSync('sh', ['-c', `printf %s ${value}`], { encoding: 'utf8' });
      return [name, shell.stdout] as const;
    });
    const cliEnv: Record<string, string> = { ...env, ...Object.fromEntries(exports) };
    const ls = spawnSync(process.execPath, [CLI_MAIN, 'ls', '/'], { env: cliEnv, encoding: 'utf8' });
    expect(ls.status, ls.stderr).toBe(0);
    expect(ls.stdout).toContain('LISEZMOI.txt');
    // A download checks 1fichier's Whirlpool: the demo's large synthetic files carry their real one.
    const down = spawnSync(process.execPath, [CLI_MAIN, 'download', '/Vidéos/bande-annonce.mp4', `${home}/`], { env: cliEnv, encoding: 'utf8' });
    expect(down.status, down.stderr).toBe(0);
    expect(down.stdout).toContain('Whirlpool verified');

    const davUrl = /served at (http:\/\/\S+)/.exec(out)![1];
    const mounted = await fetch(davUrl, { method: 'PROPFIND', headers: { Depth: '1' } });
    expect(mounted.status).toBe(207);
    expect(await mounted.text()).toContain('LISEZMOI.txt');
    const apiOrigin = new URL(cliEnv.FICHIER_DAV_API_URL!).origin;
    const stats = (await (await fetch(`${apiOrigin}/__sim/stats`)).json()) as { floods: number };
    expect(stats.floods).toBe(0);
  }, 120_000);
});
