/**
 * Reading a credentials file (the users file, an htpasswd file) with a size cap. Such a file is a
 * few kilobytes (a bcrypt line is about 70 bytes); a path pointing at a device or a huge file by
 * mistake (`/dev/zero`, a log) must give a clear error, not fill the memory while it is read, at
 * start or on a SIGHUP reload.
 */
import { open } from 'node:fs/promises';

/** 4 MiB: tens of thousands of users. */
export const MAX_CREDENTIALS_FILE_BYTES = 4 * 1024 * 1024;

/** Why a credentials file could not be read, in words for the operator. */
export class CredentialsFileReadError extends Error {
  override readonly name = 'CredentialsFileReadError';
}

/**
 * The file's text (UTF-8). Throws CredentialsFileReadError naming the reason: the errno code
 * (ENOENT, EACCES, EISDIR…) or `larger than 4 MiB` when more than `maxBytes` bytes can be read
 * (devices included: only maxBytes + 1 bytes are ever read).
 */
export async function readCredentialsFile(file: string, maxBytes = MAX_CREDENTIALS_FILE_BYTES): Promise<string> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new CredentialsFileReadError((error as NodeJS.ErrnoException).code ?? 'error');
  }
  try {
    const buffer = Buffer.alloc(maxBytes + 1);
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, null);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    if (filled > maxBytes) throw new CredentialsFileReadError(`larger than ${Math.round(maxBytes / 1024 / 1024)} MiB, which no credentials file is: is it the right path?`);
    return buffer.subarray(0, filled).toString('utf8');
  } catch (error) {
    if (error instanceof CredentialsFileReadError) throw error;
    throw new CredentialsFileReadError((error as NodeJS.ErrnoException).code ?? 'error');
  } finally {
    await handle.close();
  }
}
