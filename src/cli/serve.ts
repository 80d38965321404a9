/**
 * `fichier-dav serve`: serves a 1fichier account (or a simulator, with --api-url) over WebDAV.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { ApiKeyError, loadApiKey } from './api-key.js';
import { startBridge } from './bridge.js';
import { consoleLogger, parseLogLevel } from './console-logger.js';
import { onShutdown } from './shutdown.js';

interface ServeFlags {
  apiUrl: string;
  apiKeyFile?: string;
  host: string;
  port: number;
  stateDir?: string;
  downloads: 'stream' | 'redirect';
  rate: number;
  timeScale: number;
  logLevel: string;
}

export function portNumber(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('must be a port number (0-65535)');
  return Number(value);
}

function downloadsMode(value: string): 'stream' | 'redirect' {
  if (value !== 'stream' && value !== 'redirect') throw new InvalidArgumentError('must be "stream" or "redirect"');
  return value;
}

function rate(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 3) throw new InvalidArgumentError('must be a number in (0, 3]: 1fichier allows about 3 calls/s');
  return n;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve a 1fichier account over WebDAV (API key from FICHIER_API_KEY or --api-key-file)')
    .option('--api-url <url>', '1fichier API base URL (a simulator\'s apiUrl for testing)', 'https://api.1fichier.com/v1')
    .option('--api-key-file <file>', 'read the API key from this file instead of FICHIER_API_KEY')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on', portNumber, Number(process.env.PORT ?? 8080))
    .option('--state-dir <dir>', 'local state: empty files, properties, housekeeping files (default: under ~/.cache/fichier-dav)')
    .option('--downloads <mode>', 'stream (through the bridge) or redirect (302 to the direct link)', downloadsMode, 'stream')
    .option('--rate <calls>', 'API calls per second (at most 3)', rate, 2)
    .option('--time-scale <s>', 'multiply every API-limit duration (only for simulators run with the same scale)', positive, 1)
    .option('--log-level <level>', 'error | warn | info', 'info')
    .action(async (flags: ServeFlags) => {
      let apiKey: string;
      try {
        apiKey = await loadApiKey(flags.apiKeyFile);
      } catch (error) {
        if (error instanceof ApiKeyError) program.error(`error: ${error.message}`, { exitCode: 2 });
        throw error;
      }
      const logger = consoleLogger(parseLogLevel(flags.logLevel));
      const bridge = await startBridge({
        apiKey,
        apiUrl: flags.apiUrl,
        host: flags.host,
        port: flags.port,
        stateDir: flags.stateDir,
        downloads: flags.downloads,
        logger,
        client: { ratePerSecond: flags.rate, timeScale: flags.timeScale },
      }).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRINUSE') program.error(`error: port ${flags.port} is in use; choose another with --port`, { exitCode: 2 });
        throw error;
      });
      logger.info('serving', { url: bridge.url, api: flags.apiUrl });
      process.stdout.write(`fichier-dav: serving ${flags.apiUrl} at ${bridge.url}\n`);
      onShutdown(async () => {
        await bridge.close();
      });
    });
}
