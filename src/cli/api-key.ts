/**
 * Where the API key comes from: FICHIER_API_KEY or --api-key-file (never a command-line value,
 * which would show in `ps` and shell history). A key file readable by other users is accepted
 * with a warning, since the key grants the whole account.
 */
import { readFile, stat } from 'node:fs/promises';

export class ApiKeyError extends Error {}

export async function loadApiKey(
  keyFile: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  warn: (message: string) => void = (message) => console.error(message),
): Promise<string> {
  if (keyFile) {
    let text: string;
    try {
      const info = await stat(keyFile);
      if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
        warn(`warning: ${keyFile} can be read by other users; restrict it with: chmod 600 ${keyFile}`);
      }
      text = await readFile(keyFile, 'utf8');
    } catch (error) {
      throw new ApiKeyError(`cannot read the API key file ${keyFile}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    const key = text.trim();
    if (!key) throw new ApiKeyError(`the API key file ${keyFile} is empty`);
    return key;
  }
  const key = env.FICHIER_API_KEY?.trim();
  if (!key) {
    throw new ApiKeyError(
      'no API key: set FICHIER_API_KEY or pass --api-key-file FILE (create a key at https://1fichier.com/console/params.pl; a premium account is required)',
    );
  }
  return key;
}
