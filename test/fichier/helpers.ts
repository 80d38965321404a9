import { startSimulator, type Simulator, type StartOptions } from '../../src/simulator/index.js';
import { FichierClient, type FichierClientOptions, type FichierLogEvent } from '../../src/fichier/index.js';

export const KEY = 'test-key-7f3a9c2e-SECRET';
export const SCALE = 0.01;

export interface Harness {
  sim: Simulator;
  client: FichierClient;
  events: FichierLogEvent[];
  close(): Promise<void>;
}

export async function harness(simOpts: StartOptions = {}, clientOpts: Partial<FichierClientOptions> = {}): Promise<Harness> {
  const sim = await startSimulator({ apiKey: KEY, timeScale: SCALE, ...simOpts });
  const events: FichierLogEvent[] = [];
  const client = new FichierClient({
    apiKey: KEY,
    apiUrl: sim.apiUrl,
    timeScale: SCALE,
    logger: (e) => events.push(e),
    ...clientOpts,
  });
  return {
    sim,
    client,
    events,
    async close() {
      await client.close();
      await sim.close();
    },
  };
}

export async function* bytesOf(buf: Buffer, chunk = 64 * 1024): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += chunk) yield buf.subarray(i, i + chunk);
}

export async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

export function apiLog(sim: Simulator) {
  return sim.log().filter((e) => e.host === 'api');
}
