/**
 * `fichier-dav simulate`: runs the 1fichier simulator standalone. Prints ONE JSON line with its
 * addresses (and the API key, generated when not given), then serves until SIGINT/SIGTERM.
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
// Only the option lists: the simulator itself loads when the command runs.
import { FIXTURE_NAMES, type FixtureName } from '../simulator/options.js';
import type { StartOptions } from '../simulator/index.js';

function int(name: string, min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be an integer`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be between ${min} and ${max}`);
    return n;
  };
}

function fixture(value: string): string {
  if (!(FIXTURE_NAMES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`must be one of ${FIXTURE_NAMES.map((name) => `"${name}"`).join(', ')}`);
  }
  return value;
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

interface SimulateFlags {
  port: number;
  host: string;
  publicHost?: string;
  apiKey?: string;
  freeApiKey?: string;
  fixture: string;
  timeScale: number;
  uploadNodes: number;
  tlsCert?: string;
  tlsKey?: string;
  dataDir?: string;
  floodCode?: number;
  noLimits?: boolean;
  limits: boolean;
  options?: string;
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('run the local 1fichier simulator (API host, upload nodes, download host)')
    .option('--port <port>', 'API port; upload nodes and download host use the next ports (0 = ephemeral)', int('--port', 0, 65535), 0)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--public-host <host>', 'host name written in handed-out URLs (default: --host)')
    .option('--api-key <key>', 'premium API key to accept (generated when absent; FICHIER_API_KEY is also read)')
    .option('--free-api-key <key>', 'a key that authenticates as a free account (#200)')
    .option('--fixture <name>', `start-up content: ${FIXTURE_NAMES.join(' | ')}`, fixture, 'empty')
    .option('--time-scale <s>', 'multiply every duration (windows, locks, token lifetime) by this', positive, 1)
    .option('--upload-nodes <n>', 'number of upload node listeners', int('--upload-nodes', 1, 16), 2)
    .option('--tls-cert <file>', 'PEM certificate: serve every listener over HTTPS')
    .option('--tls-key <file>', 'PEM private key for --tls-cert')
    .option('--data-dir <dir>', 'where uploads are spooled (default: a temp dir removed on exit)')
    .option('--no-limits', 'switch off rate limits and flood detection')
    .option('--options <json>', 'any other simulator options as a JSON object (see docs/simulator.md)')
    .action(async (flags: SimulateFlags) => {
      if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
        program.error('error: --tls-cert and --tls-key go together');
      }
      let extra: Record<string, unknown> = {};
      if (flags.options) {
        try {
          extra = JSON.parse(flags.options) as Record<string, unknown>;
        } catch {
          program.error('error: --options must be a JSON object');
        }
        if (!extra || typeof extra !== 'object' || Array.isArray(extra)) program.error('error: --options must be a JSON object');
      }
      const apiKey = flags.apiKey ?? process.env.FICHIER_API_KEY ?? randomBytes(16).toString('hex');
      const options: StartOptions = {
        ...(extra as StartOptions),
        apiKey,
        port: flags.port,
        host: flags.host,
        fixture: flags.fixture as FixtureName,
        timeScale: flags.timeScale,
        uploadNodes: flags.uploadNodes,
        limitsEnabled: flags.limits,
        ...(flags.freeApiKey ? { freeApiKey: flags.freeApiKey } : {}),
        ...(flags.publicHost ? { publicHost: flags.publicHost } : {}),
        ...(flags.tlsCert ? { tlsCert: flags.tlsCert, tlsKey: flags.tlsKey } : {}),
        ...(flags.dataDir ? { dataDir: flags.dataDir } : {}),
      };
      let sim;
      try {
        // Loaded on demand: `serve` and the client library never load the simulator.
        const { startSimulator } = await import('../simulator/index.js');
        sim = await startSimulator(options);
      } catch (err) {
        program.error(`error: cannot start the simulator: ${err instanceof Error ? err.message : String(err)}`);
      }
      process.stdout.write(
        JSON.stringify({ apiUrl: sim.apiUrl, apiOrigin: sim.apiOrigin, uploadHosts: sim.uploadHosts, downloadHost: sim.downloadHost, apiKey }) + '\n',
      );
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      await sim.close();
    });
}
