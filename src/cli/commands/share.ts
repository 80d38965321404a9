/**
 * `fichier-dav share PATH`: makes a share link served by `serve` at `<public URL>/s/<id>`, stored
 * in the account's state (so `serve` with the same `--state-dir` answers it). `--list` shows the
 * links, `--revoke ID` ends one. The link needs no WebDAV credentials: hand it to anyone.
 */
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { createShare, shareUrl, ShareRequestError } from '../../links/create-share.js';
import { ShareStore, type ShareLink } from '../../links/shares.js';
import { loadSettings, settingOption } from '../config.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { accountCommand, printJson, remotePath, runAccountCommand } from './common.js';
import type { GlobalFlags } from './session.js';

interface ShareFlags extends GlobalFlags {
  expires?: string;
  maxDownloads?: string;
  password?: boolean;
  json?: boolean;
  list?: boolean;
  revoke?: string;
}

export function registerShare(program: Command): void {
  let current: string | undefined;
  const command = accountCommand(program, 'share [path]', 'make a share link for a file or folder (served by `serve` at <public URL>/s/<id>), list or revoke links')
    .option('--expires <duration>', 'the link ends after this long: 30m, 12h, 7d, 2w (default: never)')
    .option('--max-downloads <n>', 'the link ends after this many downloads')
    .option('--password', 'ask for a password the link will need (read from stdin)')
    .option('--json', 'print JSON')
    .option('--list', 'list the links')
    .option('--revoke <id>', 'end the link with this id');
  command.addOption(settingOption('publicUrl'));
  command.action(async (raw: string | undefined, flags: ShareFlags) => {
    await runAccountCommand(
      flags,
      async (io) => {
        const shares = new ShareStore(io.account.db);
        const { values } = await loadSettings(['publicUrl'], flags);
        const origin = values.publicUrl;
        if (flags.list) {
          const links = shares.list();
          if (flags.json) return void printJson(io, links.map((l) => describe(l, shares, origin)));
          if (links.length === 0) io.out('no share links');
          for (const l of links) {
            const d = describe(l, shares, origin);
            io.out(`${l.id}  ${d.state.padEnd(9)}  ${l.kind === 'folder' ? `${l.path}/` : l.path}  downloads ${l.downloads}${l.maxDownloads ? `/${l.maxDownloads}` : ''}  expires ${d.expires ?? 'never'}${l.hasPassword ? '  password' : ''}`);
          }
          return;
        }
        if (flags.revoke !== undefined) {
          if (!shares.revoke(flags.revoke)) throw new CliError(`no share link has the id ${flags.revoke} (see share --list)`, ExitCode.notFound);
          if (flags.json) printJson(io, { id: flags.revoke, revoked: true });
          else io.out(`revoked ${flags.revoke}`);
          return;
        }
        if (raw === undefined) throw new CliError('name the file or folder to share (or use --list / --revoke ID)', ExitCode.usage);
        if (!origin) {
          throw new CliError('share links need the address people reach `serve` at: give --public-url https://files.example.com (or FICHIER_DAV_PUBLIC_URL, or "publicUrl" in the config file)', ExitCode.usage);
        }
        let maxDownloads: number | undefined;
        if (flags.maxDownloads !== undefined) {
          maxDownloads = Number(flags.maxDownloads);
          if (!/^\d+$/.test(flags.maxDownloads) || maxDownloads < 1) throw new CliError(`--max-downloads "${flags.maxDownloads}" must be a whole number of at least 1`, ExitCode.usage);
        }
        const password = flags.password ? await readPassword(io.err) : undefined;
        const path = (current = remotePath(raw));
        let made;
        try {
          made = await createShare(shares, io.account.drive, origin, { path, createdBy: 'cli', expires: flags.expires, maxDownloads, password }, io.signal);
        } catch (error) {
          if (error instanceof ShareRequestError) throw new CliError(error.message, ExitCode.usage);
          throw error;
        }
        const expires = made.link.expiresAt ? new Date(made.link.expiresAt).toISOString() : null;
        if (flags.json) printJson(io, { url: made.url, id: made.link.id, expires });
        else io.out(`${made.url}${expires ? `  (until ${expires})` : ''}`);
      },
      () => current,
    );
  });
}

function describe(l: ShareLink, shares: ShareStore, origin: string | undefined) {
  return {
    id: l.id,
    url: origin ? shareUrl(origin, l.id) : null,
    kind: l.kind,
    path: l.path,
    state: shares.state(l),
    downloads: l.downloads,
    maxDownloads: l.maxDownloads ?? null,
    expires: l.expiresAt ? new Date(l.expiresAt).toISOString() : null,
    password: l.hasPassword,
    createdBy: l.createdBy,
    created: new Date(l.createdAt).toISOString(),
  };
}

/** One line from stdin (a prompt on stderr when it is a terminal); never on the command line, where ps shows it. */
async function readPassword(err: (line: string) => void): Promise<string> {
  if (process.stdin.isTTY) err('password for the link:');
  const rl = createInterface({ input: process.stdin, terminal: false });
  const line = await new Promise<string>((resolve) => {
    rl.once('line', resolve);
    rl.once('close', () => resolve(''));
  });
  rl.close();
  if (!line) throw new CliError('--password: no password was given on stdin', ExitCode.usage);
  return line;
}
