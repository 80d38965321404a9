/**
 * `fichier-dav demo` (what `npm start` runs): an in-process 1fichier simulator with sample content
 * plus the bridge in front of it, so anyone can mount a "1fichier account" in a minute without one.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { startBridge } from './bridge.js';
import { addSettingOptions, DEMO_SETTING_KEYS, loadSettings } from './config.js';
import { CliError } from './exit-codes.js';
import { createLogger } from './logging.js';
import { mountInstructions, reachableUrls } from './mount-instructions.js';
import { onShutdown } from './shutdown.js';

export function registerDemo(program: Command): void {
  const command = program
    .command('demo')
    .description('run a local 1fichier simulator with sample content and serve it over WebDAV')
    .addHelpText('after', '\nThe demo logs at warn unless --log-level (or FICHIER_DAV_LOG_LEVEL) says otherwise.');
  addSettingOptions(command, DEMO_SETTING_KEYS);
  command.action(async (flags: Record<string, unknown> & { config?: string }) => {
    let settings;
    try {
      settings = await loadSettings(DEMO_SETTING_KEYS, flags);
    } catch (error) {
      if (error instanceof CliError) program.error(`error: ${error.message}`, { exitCode: 2 });
      throw error;
    }
    const { host, port } = settings.values;
    const logLevel = settings.origins.logLevel === 'default' ? 'warn' : settings.values.logLevel;
    // Loaded here, not at the top: only demo and simulate need the simulator, so `serve` and the
    // client library never load it.
    const { startSimulator } = await import('../simulator/index.js');
    const apiKey = randomBytes(16).toString('hex');
    const sim = await startSimulator({ apiKey, fixture: 'demo' });
    const stateDir = await mkdtemp(join(tmpdir(), 'fichier-dav-demo-'));
    const bridge = await startBridge({
      apiKey,
      apiUrl: sim.apiUrl,
      host,
      port,
      stateDir,
      // The demo account is a throw-away simulator: no secret to protect, on any interface.
      allowAnonymous: true,
      logger: createLogger({ level: logLevel, secrets: [apiKey] }),
    }).catch(async (error: NodeJS.ErrnoException) => {
      await sim.close();
      if (error.code === 'EADDRINUSE') {
        program.error(`error: port ${port} is in use; run with PORT=8081 npm start (or --port)`, { exitCode: 2 });
      }
      throw error;
    });
    // Handlers first: a supervisor may signal as soon as it reads the banner.
    onShutdown(async () => {
      await bridge.close();
      await sim.close();
      await rm(stateDir, { recursive: true, force: true });
    });
    const url = reachableUrls(host, bridge.port)[0];
    process.stdout.write(
      [
        `fichier-dav demo: a simulated 1fichier account (API at ${sim.apiUrl}) served at ${url}`,
        '',
        mountInstructions(url),
        '',
        // The simulator's throw-away key is no secret: printing it lets the account CLI use the demo.
        'Use the account CLI against the same simulated account (from another terminal):',
        `  export FICHIER_DAV_API_URL=${sim.apiUrl}`,
        `  export FICHIER_API_KEY=${apiKey}`,
        // The CLI shares the bridge's state (API budget, saved listings): without it, `ls /` then
        // a mount lists the root twice inside 1fichier's 30 s window and the account floods.
        `  export FICHIER_DAV_STATE_DIR=${shellWord(stateDir)}`,
        '  fichier-dav info && fichier-dav ls /',
        '',
        'Press Ctrl+C to stop.',
        '',
      ].join('\n'),
    );
  });
}

/** `word` as one POSIX shell word (quoted only when it needs to be). */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}
