/**
 * A native reference hop for bench rows 2 and 2b: haproxy in TCP mode with `splice` on both
 * directions, forwarding every connection to one download host. It copies no byte through user
 * space (the kernel moves socket pages to a pipe and on), so what it loses against the direct
 * path is what any relay on this machine loses to the extra loopback hop and the third process on
 * the same cores, not what Node costs. The Node hops (hop-child.ts) show what Node adds on top.
 *
 * haproxy is optional: without it on PATH, `start` answers undefined and the row says so.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sleep } from './clock.js';

export class NativeHop {
  private constructor(
    private readonly child: ChildProcess,
    private readonly dir: string,
    /** The target URL with its host and port replaced by the hop's. */
    readonly url: string,
  ) {}

  /** True when an haproxy binary runs here. */
  static available(): boolean {
    return spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0;
  }

  /**
   * Starts haproxy relaying a free loopback port to `target`'s host and port; undefined when
   * haproxy is not installed. Rejects when it does not accept connections within 10 s.
   */
  static async start(target: string): Promise<NativeHop | undefined> {
    if (!NativeHop.available()) return undefined;
    const upstream = new URL(target);
    const port = await freePort();
    const dir = mkdtempSync(path.join(tmpdir(), 'fichier-dav-hop-'));
    const config = path.join(dir, 'haproxy.cfg');
    writeFileSync(
      config,
      [
        'global',
        '  maxconn 64',
        'defaults',
        '  mode tcp',
        '  timeout connect 5s',
        '  timeout client 300s',
        '  timeout server 300s',
        // Forced rather than splice-auto: the point of this hop is the zero-copy floor.
        '  option splice-request',
        '  option splice-response',
        'listen hop',
        `  bind 127.0.0.1:${port}`,
        `  server download ${upstream.hostname}:${upstream.port || 80}`,
        '',
      ].join('\n'),
    );
    // -db: stay in the foreground (no daemon), so the child is haproxy itself.
    const child = spawn('haproxy', ['-db', '-f', config], { stdio: ['ignore', 'ignore', 'inherit'] });
    const hopUrl = new URL(target);
    hopUrl.host = `127.0.0.1:${port}`;
    const hop = new NativeHop(child, dir, hopUrl.href);
    try {
      await waitForPort(port, child);
    } catch (error) {
      await hop.close();
      throw error;
    }
    return hop;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A loopback port free a moment ago (the kernel picks it; haproxy binds it right after). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === 'string') throw new Error('no free loopback port');
  return address.port;
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`haproxy exited with code ${child.exitCode} before listening`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(50);
  }
  throw new Error('haproxy did not listen within 10 s');
}
