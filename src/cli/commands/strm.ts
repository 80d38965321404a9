/**
 * `fichier-dav strm SRC_FOLDER LOCAL_DIR`: writes a `.strm` library of a drive folder (one `.strm`
 * per video holding its signed stream link on the bridge, subtitles and .nfo copied beside them).
 * Signed with the account's link secret, so a `serve` given the same `--state-dir` plays them;
 * run it again to follow renames, moves and deletions (or let `serve --strm-dir` keep it in step).
 */
import type { Command } from 'commander';
import { loadSettings, settingOption } from '../config.js';
import { ExitCode } from '../exit-codes.js';
import { syncStrm } from '../../strm/sync.js';
import { accountCommand, printJson, remotePath, runAccountCommand } from './common.js';
import type { GlobalFlags } from './session.js';

/** Where links point when --public-url is not given: serve's default address. */
const DEFAULT_PUBLIC_URL = 'http://127.0.0.1:8080';

export function registerStrm(program: Command): void {
  let current: string | undefined;
  const command = accountCommand(program, 'strm <src_folder> <local_dir>', 'write a .strm library of a drive folder into a local folder (for Jellyfin, Emby, Kodi)').option('--json', 'print JSON');
  command.addOption(settingOption('publicUrl'));
  command.action(async (source: string, localDir: string, flags: GlobalFlags & { json?: boolean }) => {
    await runAccountCommand(
      flags,
      async (io) => {
        const { values } = await loadSettings(['publicUrl'], flags);
        const publicUrl = values.publicUrl ?? DEFAULT_PUBLIC_URL;
        if (!values.publicUrl) io.err(`no --public-url given: links point at ${DEFAULT_PUBLIC_URL} (serve's default), reachable from this machine only`);
        const folder = (current = remotePath(source));
        const result = await syncStrm({ drive: io.account.drive, source: folder, localDir, publicUrl, secret: io.account.linkSecret(), signal: io.signal });
        if (flags.json) printJson(io, { source: folder, localDir, publicUrl, ...result });
        else {
          io.out(`${result.videos} videos: ${result.written} .strm written, ${result.renamed} renamed, ${result.removed} removed, ${result.copied} files copied, ${result.unchanged} unchanged`);
        }
        return ExitCode.ok;
      },
      () => current,
    );
  });
}
