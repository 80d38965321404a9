/**
 * `fichier-dav demo` (what `npm start` runs): an in-process 1fichier simulator with sample content
 * plus the bridge in front of it, so anyone can mount a "1fichier account" in a minute without one.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { startSimulator } from '../simulator/index.js';
import { startBridge } from './bridge.js';
import { createLogger, parseLogLevel } from './logging.js';
import { mountInstructions } from './mount-instructions.js';
import { portNumber } from './serve.js';
import { onShutdown } from './shutdown.js';

interface DemoFlags {
  port?: number;
  host: string;
  logLevel: string;
}

export function registerDemo(program: Command): void {
  const command = program
    .command('demo')
    .description('run a local 1fichier simulator with sample content and serve it over WebDAV')
    .option('--port <port>', 'WebDAV port (without the flag: PORT, else 8080)', portNumber)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--log-level <level>', 'error | warn | info | debug', 'warn')
    .action(async (flags: DemoFlags) => {
      try {
        flags.port ??= process.env.PORT ? portNumber(process.env.PORT) : 8080;
      } catch {
        command.error(`error: PORT=${process.env.PORT} is not a port number (0-65535)`, { exitCode: 2 });
      }
      const apiKey = randomBytes(16).toString('hex');
      const sim = await startSimulator({ apiKey, fixture: 'demo' });
      const stateDir = await mkdtemp(join(tmpdir(), 'fichier-dav-demo-'));
      const bridge = await startBridge({
        apiKey,
        apiUrl: sim.apiUrl,
        host: flags.host,
        port: flags.port,
        stateDir,
        // The demo account is a throw-away simulator: no secret to protect, on any interface.
        allowAnonymous: true,
        logger: createLogger({ level: parseLogLevel(flags.logLevel), secrets: [apiKey] }),
      }).catch(async (error: NodeJS.ErrnoException) => {
        await sim.close();
        if (error.code === 'EADDRINUSE') {
          program.error(`error: port ${flags.port} is in use; run with PORT=8081 npm start (or --port)`, { exitCode: 2 });
        }
        throw error;
      });
      // Handlers first: a supervisor may signal as soon as it reads the banner.
      onShutdown(async () => {
        await bridge.close();
        await sim.close();
        await rm(stateDir, { recursive: true, force: true });
      });
      process.stdout.write(
        [
          `fichier-dav demo: a simulated 1fichier account (API at ${sim.apiUrl}) served at ${bridge.url}`,
          '',
          mountInstructions(bridge.url),
          '',
          'Press Ctrl+C to stop.',
          '',
        ].join('\n'),
      );
    });
}
