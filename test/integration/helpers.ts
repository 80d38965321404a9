import { afterEach } from 'vitest';
/** Starts the simulator and the bridge in front of it on ephemeral ports, as `serve` would. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBridge, type BridgeOptions, type RunningBridge } from '../../src/cli/bridge.js';
import { startSimulator, type Simulator, type StartOptions } from '../../src/simulator/index.js';

export const KEY = 'bridge-test-key-0123456789';
export const SCALE = 0.01;

export interface Stack {
  sim: Simulator;
  bridge: RunningBridge;
  url: string;
  /** Number of API calls (JSON endpoints on the API host) recorded by the simulator. */
  apiCalls(): number;
  calls(endpoint: string): number;
  close(): Promise<void>;
}

export async function startStack(
  simOptions: StartOptions = {},
  bridgeOptions: Partial<BridgeOptions> = {},
): Promise<Stack> {
  const sim = await startSimulator({ apiKey: KEY, timeScale: SCALE, ...simOptions });
  const stateDir = await mkdtemp(join(tmpdir(), 'fichier-dav-it-'));
  const bridge = await startBridge({
    apiKey: KEY,
    apiUrl: sim.apiUrl,
    port: 0,
    stateDir,
    ...bridgeOptions,
    client: { timeScale: SCALE, ...bridgeOptions.client },
  });
  const calls = (endpoint: string) => sim.stats().calls[endpoint] ?? 0;
  return {
    sim,
    bridge,
    url: bridge.url.replace(/\/$/, ''),
    calls,
    apiCalls: () =>
      sim
        .log()
        .filter((entry) => entry.host === 'api' && entry.path.startsWith('/v1/'))
        .length,
    async close() {
      await bridge.close();
      await sim.close();
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

export async function readBody(response: Response): Promise<Buffer> {
  return Buffer.from(await response.arrayBuffer());
}

export async function streamToBuffer(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/**
 * A stack whose bridge has a read cache in its own temporary folder, both removed after each test
 * of the calling file (the afterEach hook is registered by this call, at the file's top level).
 * `start(sim, bridge)` passes `cacheDir` to the drive options.
 */
export function cachedStacks(prefix: string): { start(simOptions: StartOptions, bridgeOptions: Partial<BridgeOptions>): Promise<Stack> } {
  let stack: Stack | undefined;
  let cacheDir: string | undefined;
  afterEach(async () => {
    await stack?.bridge.drive.closeReadCache();
    await stack?.close();
    stack = undefined;
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
    cacheDir = undefined;
  });
  return {
    async start(simOptions, bridgeOptions) {
      cacheDir = await mkdtemp(join(tmpdir(), prefix));
      stack = await startStack(simOptions, { ...bridgeOptions, drive: { cacheDir, ...bridgeOptions.drive } });
      return stack;
    },
  };
}

/**
 * Runs `work` and returns the names and messages of the process warnings emitted meanwhile (and
 * in the turn after it), e.g. a MaxListenersExceededWarning from listeners a request left behind.
 */
export async function warningsDuring(work: () => Promise<void>): Promise<string[]> {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
  process.on('warning', onWarning);
  try {
    await work();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  return warnings;
}

/** A seeded pseudo-random generator in [0, 1) (an LCG): crash and churn tests replay a failing seed. */
export function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}
