/**
 * Where a per-user program keeps its configuration on each platform, as each platform's own
 * guidelines say: the XDG Base Directory spec on Linux and BSD ($XDG_CONFIG_HOME, else
 * ~/.config), ~/Library/Application Support on macOS, %APPDATA% (the roaming profile) on Windows.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The directory holding config.json: `<platform config dir>/fichier-dav`. */
export function configDirectory(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  // XDG_CONFIG_HOME wins everywhere when set: people who set it on macOS mean it.
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'fichier-dav');
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', 'fichier-dav');
  if (platform === 'win32') return join(env.APPDATA || join(homedir(), 'AppData', 'Roaming'), 'fichier-dav');
  return join(homedir(), '.config', 'fichier-dav');
}
