/** `fichier-dav remote-status [ID]`: the remote-upload requests (remote/ls), or one in detail (remote/info). */
import type { Command } from 'commander';
import { NotFoundError } from '../../fichier/index.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { accountCommand, printJson, runAccountCommand } from './common.js';
import { isoDate, shortDate, table } from './format.js';
import type { GlobalFlags } from './session.js';

function text(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : '';
}

export function registerRemoteStatus(program: Command): void {
  accountCommand(program, 'remote-status [id]', 'list remote-upload requests, or show one request and its per-URL results')
    .option('--json', 'print JSON')
    .action(async (rawId: string | undefined, flags: GlobalFlags & { json?: boolean }) => {
      await runAccountCommand(flags, async (io) => {
        if (rawId === undefined) {
          const requests = await io.account.client.remoteList({ signal: io.signal });
          if (flags.json) {
            printJson(
              io,
              requests.map((r) => ({ id: r.id, requested: isoDate(r.requestDate), executed: isoDate(r.executionDate), done: r.executionDate !== undefined })),
            );
            return;
          }
          if (requests.length === 0) {
            io.out('no remote-upload requests');
            return;
          }
          const rows = requests.map((r) => [String(r.id), shortDate(r.requestDate), r.executionDate ? `done ${shortDate(r.executionDate)}` : 'pending']);
          io.out(table([['ID', 'REQUESTED (UTC)', 'STATE'], ...rows]));
          return;
        }
        if (!/^\d{1,15}$/.test(rawId)) throw new CliError(`a remote-upload request id is a number, got ${JSON.stringify(rawId)}`, ExitCode.usage);
        let info;
        try {
          info = await io.account.client.remoteInfo(Number(rawId), { signal: io.signal });
        } catch (error) {
          if (error instanceof NotFoundError) {
            throw new CliError(`no such remote-upload request: ${rawId} (run \`fichier-dav remote-status\` to list them)`, ExitCode.notFound);
          }
          throw error;
        }
        const results = info.results.map((r) => ({
          status: text(r.status),
          url: text(r.url),
          downloadLink: text(r.download_link) || null,
          message: text(r.message) || null,
        }));
        const done = info.executionDate !== undefined;
        if (flags.json) {
          printJson(io, { id: info.id, requested: isoDate(info.requestDate), executed: isoDate(info.executionDate), done, links: info.links, results });
          return;
        }
        io.out(
          table([
            ['request', String(info.id)],
            ['requested', shortDate(info.requestDate)],
            ['state', done ? `done ${shortDate(info.executionDate)}` : 'pending'],
          ]),
        );
        if (results.length > 0) {
          io.out('');
          io.out(table([['STATUS', 'URL', 'FILE', 'MESSAGE'], ...results.map((r) => [r.status || '-', r.url, r.downloadLink ?? '-', r.message ?? ''])]));
        } else if (!done) {
          io.out(`URLs: ${info.links.join(' ')}`);
        }
      });
    });
}
