/**
 * The simulator in its own process, driven over IPC by the bench. Keeping it out of the bench
 * process means the bench's HTTP client, the simulator and the bridge each get their own event
 * loop, so neither path is starved by the load generator sharing its thread.
 */
import { startSimulator, type Simulator, type StartOptions } from '../simulator/index.js';

export interface SyntheticFileSpec {
  name: string;
  size: number;
  seed: number;
}

export type SimRequest =
  | { op: 'start'; options: StartOptions }
  | { op: 'addFolder'; parentId: number; name: string }
  | { op: 'addFiles'; folderId: number; files: SyntheticFileSpec[] }
  | { op: 'stats' }
  | { op: 'log' }
  | { op: 'close' };

export interface SimAddresses {
  apiUrl: string;
  apiOrigin: string;
  uploadHosts: string[];
  downloadHost: string;
  apiKey: string;
}

let sim: Simulator | undefined;

async function handle(request: SimRequest): Promise<unknown> {
  if (request.op === 'start') {
    if (sim) throw new Error('simulator already started');
    sim = await startSimulator(request.options);
    const { apiUrl, apiOrigin, uploadHosts, downloadHost, apiKey } = sim;
    return { apiUrl, apiOrigin, uploadHosts, downloadHost, apiKey } satisfies SimAddresses;
  }
  if (!sim) throw new Error('simulator not started');
  switch (request.op) {
    case 'addFolder':
      return sim.addFolder({ parentId: request.parentId, name: request.name });
    case 'addFiles': {
      const urls: string[] = [];
      for (const f of request.files) {
        urls.push(await sim.addFile({ folderId: request.folderId, name: f.name, synthetic: { size: f.size, seed: f.seed } }));
      }
      return urls;
    }
    case 'stats':
      return sim.stats();
    case 'log':
      return sim.log();
    case 'close':
      await sim.close();
      setImmediate(() => process.exit(0));
      return true;
  }
}

process.on('message', (message: { id: number; request: SimRequest }) => {
  handle(message.request).then(
    (value) => process.send?.({ id: message.id, ok: true, value }),
    (error: unknown) => process.send?.({ id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
