import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CLI_MAIN, ROOT as root, spawnSimulatorCli, type StartedSimulator as Started } from '../support/built-cli.js';

// The CLI compiled once for the whole run by test/global-setup.ts.
const mainJs = CLI_MAIN;

/** A base port whose next `count` ports (base included) could all be bound on 127.0.0.1 just now. */
async function freeConsecutivePorts(count: number): Promise<number> {
  for (;;) {
    const base = 20000 + Math.floor(Math.random() * 12000);
    const servers: Server[] = [];
    try {
      for (let port = base; port < base + count; port++) {
        const server = createServer();
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, '127.0.0.1', () => resolve());
        });
        servers.push(server);
      }
      return base;
    } catch {
      // taken: try another base
    } finally {
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    }
  }
}

const startCli = spawnSimulatorCli;

describe('fichier-dav simulate', () => {
  it('prints one JSON line, answers POST /v1/folder/ls.cgi with the Root listing, and exits 0 on SIGTERM', async () => {
    const { child, line, exit } = await startCli(['--port', '0', '--api-key', 'cli-key', '--fixture', 'demo', '--time-scale', '0.01']);
    expect(line).toEqual({
      apiUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/v1$/),
      apiOrigin: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/),
      uploadHosts: [expect.stringMatching(/^127\.0\.0\.1:\d+$/), expect.stringMatching(/^127\.0\.0\.1:\d+$/)],
      downloadHost: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      apiKey: 'cli-key',
    });
    const res = await fetch(`${line.apiUrl as string}/folder/ls.cgi`, {
      method: 'POST',
      headers: { authorization: 'Bearer cli-key', 'content-type': 'application/json' },
      body: JSON.stringify({ folder_id: 0 }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; name: string; folder_id: number; sub_folders: unknown[] };
    expect(body).toMatchObject({ status: 'OK', name: 'Root', folder_id: 0 });
    expect(body.sub_folders.length).toBeGreaterThan(2);
    const stats = (await (await fetch(`${line.apiOrigin as string}/__sim/stats`)).json()) as { calls: Record<string, number> };
    expect(stats.calls['folder/ls.cgi']).toBe(1);
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  }, 60_000);

  it('generates a key when none is given, and uses consecutive ports from --port', async () => {
    // Three consecutive ports below Linux's ephemeral range (32768+), where the suite's other
    // listeners and client sockets take theirs; checked free first, and tried again if taken meanwhile.
    let started: Started | undefined;
    let base = 0;
    for (let attempt = 0; !started; attempt++) {
      base = await freeConsecutivePorts(3);
      try {
        started = await startCli(['--port', String(base), '--upload-nodes', '1', '--no-limits']);
      } catch (error) {
        if (attempt >= 4 || !String(error).includes('EADDRINUSE')) throw error;
      }
    }
    const { child, line, exit } = started;
    expect(line.apiKey).toMatch(/^[0-9a-f]{32}$/);
    expect(line.apiUrl).toBe(`http://127.0.0.1:${base}/v1`);
    expect(line.uploadHosts).toEqual([`127.0.0.1:${base + 1}`]);
    expect(line.downloadHost).toBe(`127.0.0.1:${base + 2}`);
    const res = await fetch(`${line.apiUrl as string}/user/info.cgi`, { method: 'POST', headers: { authorization: `Bearer ${line.apiKey as string}`, 'content-type': 'application/json' } });
    expect(res.status).toBe(200);
    child.kill('SIGINT');
    expect(await exit).toBe(0);
  }, 60_000);

  it('rejects bad arguments with a clear message and a non-zero exit', async () => {
    const child = spawn(process.execPath, [mainJs, 'simulate', '--fixture', 'nope'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).not.toBe(0);
    expect(err).toMatch(/fixture/);
  }, 30_000);
});
