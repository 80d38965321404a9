/** user/info.cgi (fichier-api.md §4.1): the full field set, with rclone's mix of string and number types. */
import { formatParis } from '../paris-time.js';
import { ok, type ApiAnswer, type ApiCall } from './types.js';

const SETTABLE = ['ftp_mode', 'ftp_did', 'ftp_report', 'ru_report', 'default_domain', 'page_limit', 'default_port', 'default_port_files', 'use_cdn', 'download_menu'] as const;

/** Account settings that user/info can also write; kept per simulator instance. */
export type AccountSettings = Record<(typeof SETTABLE)[number], number>;

export function defaultSettings(): AccountSettings {
  return { ftp_mode: 0, ftp_did: 0, ftp_report: 0, ru_report: 0, default_domain: 0, page_limit: 100, default_port: 0, default_port_files: 0, use_cdn: 0, download_menu: 0 };
}

const settingsByCtx = new WeakMap<object, AccountSettings>();

export function userInfo(call: ApiCall): ApiAnswer {
  const { ctx } = call;
  let settings = settingsByCtx.get(ctx);
  if (!settings) settingsByCtx.set(ctx, (settings = { ...defaultSettings(), use_cdn: ctx.opts.useCdn ? 1 : 0 }));
  for (const k of SETTABLE) {
    const v = call.body[k];
    if (typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v))) settings[k] = Number(v);
  }
  const now = ctx.clock.now();
  const used = ctx.store.usedBytes();
  const quota = ctx.opts.coldStorageQuota;
  // rclone's working struct (2022) declares these as strings; everything else as numbers.
  const str = (n: number): string | number => (ctx.opts.userInfoTypes === 'mixed' ? String(n) : n);
  return ok({
    email: 'simulator@example.invalid',
    offer: str(1),
    subscription_end: formatParis(now + 365 * 86_400_000),
    '2fa': str(0),
    mail_rm: str(0),
    ftp_mode: str(settings.ftp_mode),
    ftp_did: settings.ftp_did,
    ftp_report: str(settings.ftp_report),
    ru_report: str(settings.ru_report),
    default_domain: settings.default_domain,
    page_limit: settings.page_limit,
    default_port: str(settings.default_port),
    default_port_files: str(settings.default_port_files),
    cdn: ctx.opts.userInfoTypes === 'mixed' ? String(ctx.opts.cdnCredits) : ctx.opts.cdnCredits,
    use_cdn: str(settings.use_cdn),
    download_menu: str(settings.download_menu),
    default_quota: quota,
    default_cold_storage_quota: quota,
    hot_storage: 0,
    cold_storage: used,
    stats_date: formatParis(now),
    allowed_cold_storage: quota,
    available_storage: quota,
    available_cold_storage: quota,
    overquota: 0,
    upload_forbidden: str(0),
    extended_quota: 0,
    extended_quota_end: '',
  });
}
