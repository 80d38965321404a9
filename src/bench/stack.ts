/**
 * One simulator process + one or more bridge processes for a row, torn down afterwards, and the
 * upstream counters a row reads from the simulator (API calls, get_token, downloads, floods).
 */
import type { StartOptions } from '../simulator/index.js';
import { BridgeProcess } from './bridge-process.js';
import { DirectClient } from './direct.js';
import { SimProcess, type SimStats } from './sim-process.js';

export const DIRECT_RATE = 2;

export interface Counters {
  api: number;
  getToken: number;
  listings: number;
  downloads: number;
  floods: number;
  uploads: number;
}

export function counters(stats: SimStats): Counters {
  let api = 0;
  for (const [endpoint, n] of Object.entries(stats.calls)) {
    // API endpoints are "dir/name.cgi"; upload.cgi, end.pl and downloads are on other hosts.
    if (endpoint.includes('/')) api += n;
  }
  return {
    api,
    getToken: stats.calls['download/get_token.cgi'] ?? 0,
    listings: (stats.calls['folder/ls.cgi'] ?? 0) + (stats.calls['file/ls.cgi'] ?? 0),
    downloads: stats.downloadRequests,
    floods: stats.floods,
    uploads: stats.calls['upload.cgi'] ?? 0,
  };
}

export function diff(after: Counters, before: Counters): Counters {
  return {
    api: after.api - before.api,
    getToken: after.getToken - before.getToken,
    listings: after.listings - before.listings,
    downloads: after.downloads - before.downloads,
    floods: after.floods - before.floods,
    uploads: after.uploads - before.uploads,
  };
}

/** Counters of no call at all. */
export function noCalls(): Counters {
  return { api: 0, getToken: 0, listings: 0, downloads: 0, floods: 0, uploads: 0 };
}

/** `a` and `b` together. */
export function addCounters(a: Counters, b: Counters): Counters {
  return { api: a.api + b.api, getToken: a.getToken + b.getToken, listings: a.listings + b.listings, downloads: a.downloads + b.downloads, floods: a.floods + b.floods, uploads: a.uploads + b.uploads };
}

const open = new Set<Stack>();

/** Tears down every stack still running (a row that timed out leaves its processes behind). */
export async function closeAllStacks(): Promise<void> {
  await Promise.allSettled([...open].map((stack) => stack.close()));
}

export class Stack {
  readonly bridges: BridgeProcess[] = [];

  private constructor(
    readonly sim: SimProcess,
    readonly timeScale: number,
  ) {}

  static async start(timeScale: number, simOptions: StartOptions = {}): Promise<Stack> {
    const sim = await SimProcess.start({ apiKey: 'bench-api-key', timeScale, ...simOptions });
    const stack = new Stack(sim, timeScale);
    open.add(stack);
    return stack;
  }

  /** Starts a bridge on this stack's simulator; `onSpawn` learns its pid before it serves. */
  async bridge(flags: string[] = [], onSpawn?: (pid: number) => void, startTimeoutMs?: number): Promise<BridgeProcess> {
    const bridge = await BridgeProcess.start({ apiUrl: this.sim.addresses.apiUrl, apiKey: this.sim.addresses.apiKey, timeScale: this.timeScale, flags, onSpawn, startTimeoutMs });
    this.bridges.push(bridge);
    return bridge;
  }

  direct(): DirectClient {
    return new DirectClient(this.sim.addresses, DIRECT_RATE / this.timeScale);
  }

  async counters(): Promise<Counters> {
    return counters(await this.sim.stats());
  }

  async close(): Promise<void> {
    open.delete(this);
    await Promise.allSettled(this.bridges.map((b) => b.close()));
    await this.sim.close();
  }
}

export async function withStack<T>(timeScale: number, simOptions: StartOptions, fn: (stack: Stack) => Promise<T>): Promise<T> {
  const stack = await Stack.start(timeScale, simOptions);
  try {
    return await fn(stack);
  } catch (error) {
    // What the bridge logged (errors only) is usually the reason a row failed.
    const logged = stack.bridges.map((b) => b.errors().trim()).filter(Boolean).join(' | ').replace(/\s+/g, ' ');
    if (!logged) throw error;
    throw new Error(`${error instanceof Error ? error.message : String(error)} (bridge log: ${logged.slice(-400)})`);
  } finally {
    await stack.close();
  }
}
