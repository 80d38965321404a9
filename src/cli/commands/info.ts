/**
 * `fichier-dav info`: the account's e-mail, offer, subscription end and storage, computed as the
 * drive's quota is (used = cold storage, total = available cold storage, as rclone's `about`).
 */
import type { Command } from 'commander';
import type { AccountInfo } from '../../fichier/index.js';
import { accountCommand, printJson, runAccountCommand } from './common.js';
import { humanSize, isoDate, shortDate, table } from './format.js';
import type { GlobalFlags } from './session.js';

const OFFERS: Record<number, string> = { 0: 'free', 1: 'premium', 2: 'access', 3: 'gold' };

export function offerName(offer: number | undefined): string {
  if (offer === undefined) return 'unknown';
  return OFFERS[offer] ?? `offer ${offer}`;
}

export function storageOf(info: AccountInfo): { usedBytes: number; totalBytes: number; availableBytes: number } {
  const usedBytes = info.coldStorage ?? info.hotStorage ?? 0;
  const totalBytes = info.availableColdStorage ?? info.allowedColdStorage ?? 0;
  return { usedBytes, totalBytes, availableBytes: Math.max(0, totalBytes - usedBytes) };
}

export function registerInfo(program: Command): void {
  accountCommand(program, 'info', 'show the account: e-mail, offer, subscription end, storage used and available, CDN credits')
    .option('--json', 'print JSON')
    .option('--bytes', 'exact byte counts instead of human sizes')
    .action(async (flags: GlobalFlags & { json?: boolean; bytes?: boolean }) => {
      await runAccountCommand(flags, async (io) => {
        const info = await io.account.userInfo();
        const storage = storageOf(info);
        if (flags.json) {
          printJson(io, {
            email: info.email ?? null,
            offer: info.offer ?? null,
            offerName: offerName(info.offer),
            subscriptionEnd: isoDate(info.subscriptionEnd),
            usedBytes: storage.usedBytes,
            availableBytes: storage.availableBytes,
            totalBytes: storage.totalBytes,
            hotStorageBytes: info.hotStorage ?? null,
            coldStorageBytes: info.coldStorage ?? null,
            cdnCredits: info.cdn ?? null,
            cdnForced: info.useCdn,
            uploadForbidden: info.uploadForbidden,
          });
          return;
        }
        const size = (n: number) => (flags.bytes ? `${n} B` : humanSize(n));
        const rows = [
          ['account', info.email ?? '-'],
          ['offer', offerName(info.offer)],
          ['subscription end', shortDate(info.subscriptionEnd)],
          ['storage used', size(storage.usedBytes)],
          ['storage available', `${size(storage.availableBytes)} of ${size(storage.totalBytes)}`],
        ];
        rows.push(['CDN credits', info.cdn === undefined ? '-' : `${info.cdn} GB`]);
        // use_cdn: every download goes through the CDN and spends these credits (see docs/rate-limits.md).
        rows.push(['CDN forced', info.useCdn ? 'yes (downloads spend CDN credits)' : 'no']);
        if (info.uploadForbidden) rows.push(['uploads', 'forbidden by 1fichier (over quota?)']);
        io.out(table(rows));
      });
    });
}
