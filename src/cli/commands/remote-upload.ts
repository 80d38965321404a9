/**
 * `fichier-dav remote-upload URL... --to DIR`: 1fichier fetches the URLs itself
 * (remote/request.cgi); nothing passes through this machine. `remote-status` follows the request.
 */
import type { Command } from 'commander';
import { CliError, ExitCode } from '../exit-codes.js';
import { accountCommand, printJson, remotePath, runAccountCommand } from './common.js';
import { ensureFolder } from './remote-folders.js';
import type { GlobalFlags } from './session.js';

interface RemoteUploadFlags extends GlobalFlags {
  to?: string;
  parents?: boolean;
  json?: boolean;
  header?: string[];
}

function collectHeader(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function parseHeaders(raw: string[] | undefined): Record<string, string> | undefined {
  if (!raw || raw.length === 0) return undefined;
  const headers: Record<string, string> = {};
  for (const line of raw) {
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : '';
    if (!/^[A-Za-z0-9-]+$/.test(name)) throw new CliError(`--header must look like "Name: value", got ${JSON.stringify(line)}`, ExitCode.usage);
    headers[name] = line.slice(colon + 1).trim();
  }
  return headers;
}

export function registerRemoteUpload(program: Command): void {
  let current: string | undefined;
  accountCommand(program, 'remote-upload <urls...>', 'ask 1fichier to fetch URLs into a remote folder itself (remote upload)')
    .requiredOption('--to <dir>', 'remote folder that receives the files')
    .option('-p, --parents', 'create the remote folder (and its parents) when missing')
    .option('-H, --header <line>', 'HTTP header 1fichier sends to the remote server, "Name: value" (repeatable)', collectHeader)
    .option('--json', 'print JSON')
    .action(async (urls: string[], flags: RemoteUploadFlags) => {
      await runAccountCommand(
        flags,
        async (io) => {
          for (const url of urls) {
            if (!/^(https?|ftp):\/\/\S+$/i.test(url)) throw new CliError(`not an http(s) or ftp URL: ${url}`, ExitCode.usage);
          }
          const headers = parseHeaders(flags.header);
          const dir = (current = remotePath(flags.to));
          await ensureFolder(io.account.drive, dir, Boolean(flags.parents));
          const ref = await io.account.drive.upstreamRef(dir);
          if (ref.kind !== 'folder') throw new CliError(`${dir} is not a folder`, ExitCode.failed);
          const request = await io.account.client.remoteRequest(urls, ref.id, { headers, signal: io.signal });
          // Files will appear in that folder without us: the saved listing can no longer be trusted.
          io.account.distrustFolder(ref.id);
          if (flags.json) {
            printJson(io, { id: request.id, folder: dir, urls });
            return;
          }
          io.out(`remote upload request ${request.id}: ${urls.length} URL(s) into ${dir}`);
          io.out(`follow it with: fichier-dav remote-status ${request.id}`);
        },
        () => current,
      );
    });
}
