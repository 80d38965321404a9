/**
 * Composes the product: 1fichier client → drive → WebDAV server. `serve`, `demo` and the
 * integration tests all start the bridge through here, so they run the same wiring.
 */
import { createHash } from 'node:crypto';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { FichierDrive, type FichierDriveOptions } from '../drive/fichier-drive.js';
import { FichierUpstream } from '../drive/fichier-upstream.js';
import { LocalState } from '../drive/local-state.js';
import { FichierClient, type FichierClientOptions, type FichierLogEvent } from '../fichier/index.js';
import type { Logger } from '../webdav/handler.js';
import { LockManager } from '../webdav/lock-manager.js';
import { createWebDavServer } from '../webdav/server.js';

export interface BridgeOptions {
  apiKey: string;
  apiUrl?: string;
  host?: string;
  /** 0 = ephemeral. */
  port?: number;
  /** Local state (empty files, dead properties, housekeeping files). Default: per account under the cache dir. */
  stateDir?: string;
  /** Spool for uploads of unknown length. Default: under the state dir. */
  spoolDir?: string;
  downloads?: 'stream' | 'redirect';
  logger?: Logger;
  /** Client and scheduler settings (rate, concurrency, time scale...). */
  client?: Omit<FichierClientOptions, 'apiKey' | 'apiUrl'>;
  drive?: Omit<FichierDriveOptions, 'upstream' | 'state' | 'spoolDir'>;
}

export interface RunningBridge {
  url: string;
  port: number;
  server: http.Server;
  client: FichierClient;
  drive: FichierDrive;
  state: LocalState;
  close(): Promise<void>;
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

/** ~/.cache/fichier-dav/<account> (XDG_CACHE_HOME honoured); the account part is a hash, never the key. */
export function defaultStateDir(apiUrl: string, apiKey: string): string {
  const base = process.env.XDG_CACHE_HOME || (homedir() ? join(homedir(), '.cache') : tmpdir());
  const account = createHash('sha256').update(`${apiUrl}\n${apiKey}`).digest('hex').slice(0, 16);
  return join(base, 'fichier-dav', account);
}

export async function startBridge(options: BridgeOptions): Promise<RunningBridge> {
  const logger = options.logger ?? silentLogger;
  const apiUrl = options.apiUrl ?? 'https://api.1fichier.com/v1';
  const stateDir = options.stateDir ?? defaultStateDir(apiUrl, options.apiKey);
  const state = await LocalState.open(stateDir);
  const client = new FichierClient({
    ...options.client,
    apiKey: options.apiKey,
    apiUrl,
    logger: options.client?.logger ?? ((event: FichierLogEvent) => logUpstream(logger, event)),
  });
  const drive = new FichierDrive({
    ...options.drive,
    upstream: new FichierUpstream(client),
    state,
    spoolDir: options.spoolDir ?? join(stateDir, 'spool'),
    onBackgroundError: (error) => logger.warn('background folder refresh failed', { error: String(error) }),
  });
  // Large uploads and long streams outlast Node's default 300 s request timeout.
  const server = createWebDavServer({
    drive,
    locks: new LockManager(),
    logger,
    downloads: options.downloads ?? 'stream',
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    server,
    client,
    drive,
    state,
    async close() {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await state.flush();
      await client.close();
    },
  };
}

function logUpstream(logger: Logger, event: FichierLogEvent): void {
  const fields = { ...event } as Record<string, unknown>;
  if (event.outcome === 'ok') logger.info('upstream', fields);
  else logger.warn('upstream', fields);
}
