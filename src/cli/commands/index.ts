/** Registers the account commands (info, ls, upload, download, link, mkdir, rm, mv, remote-upload, remote-status, backup, restore). */
import type { Command } from 'commander';
import { registerBackup } from './backup.js';
import { registerDownload } from './download.js';
import { registerInfo } from './info.js';
import { registerLink } from './link.js';
import { registerLs } from './ls.js';
import { registerMkdir } from './mkdir.js';
import { registerMv } from './mv.js';
import { registerRemoteStatus } from './remote-status.js';
import { registerRemoteUpload } from './remote-upload.js';
import { registerRestore } from './restore.js';
import { registerRm } from './rm.js';
import { registerShare } from './share.js';
import { registerStrm } from './strm.js';
import { registerUpload } from './upload.js';

export function registerAccountCommands(program: Command): void {
  registerInfo(program);
  registerLs(program);
  registerUpload(program);
  registerDownload(program);
  registerLink(program);
  registerShare(program);
  registerMkdir(program);
  registerRm(program);
  registerMv(program);
  registerRemoteUpload(program);
  registerRemoteStatus(program);
  registerBackup(program);
  registerRestore(program);
  registerStrm(program);
}
