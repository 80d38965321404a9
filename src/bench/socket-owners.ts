/**
 * Which bridge process owns a TCP connection, by its local port (Linux /proc): the simulator's
 * flood records name each call's connection as `address:port`, and a row that sees a flood names
 * the bridge behind it. Connections close (keep-alive ends) before a row reads the records, so the
 * owners are sampled while the row runs and remembered. Elsewhere than Linux nothing is found and
 * records keep their bare ports.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Local port → inode for every TCP socket of this machine (IPv4 and IPv6). */
function socketInodes(): Map<string, number> {
  const byInode = new Map<string, number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const port = parseInt(cols[1]!.split(':')[1] ?? '', 16);
      if (Number.isFinite(port)) byInode.set(cols[9]!, port);
    }
  }
  return byInode;
}

function socketsOf(pid: number): string[] {
  const out: string[] = [];
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return out;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.push(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return out;
}

export class SocketOwners {
  private readonly owners = new Map<number, string>();
  private timer: NodeJS.Timeout | undefined;

  /** `processes`: label → pid, e.g. { 'bridge one': 1234 }. */
  constructor(private readonly processes: () => Record<string, number>) {}

  /** Records who owns which local port now. */
  sample(): void {
    const inodes = socketInodes();
    for (const [label, pid] of Object.entries(this.processes())) {
      for (const inode of socketsOf(pid)) {
        const port = inodes.get(inode);
        if (port !== undefined) this.owners.set(port, label);
      }
    }
  }

  /** Samples every `ms` until `stop()`. */
  start(ms = 100): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), ms);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
  }

  /** `127.0.0.1:34567` → `bridge one (127.0.0.1:34567)` when the port's owner was seen. */
  name(caller: string): string {
    const port = Number(caller.slice(caller.lastIndexOf(':') + 1));
    const owner = this.owners.get(port);
    return owner ? `${owner} (${caller})` : caller;
  }
}
