/**
 * The server holds the key to a whole 1fichier account: listening beyond this machine without
 * authentication would hand the account to the network. That needs an explicit --allow-anonymous.
 */
import { isIP } from 'node:net';

export class ExposureError extends Error {
  override readonly name = 'ExposureError';
}

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * `/metrics` and `/healthz` have no authentication: off loopback they would show anyone the
 * bridge's traffic, errors and upstream state. Serving them there needs an explicit opt-in.
 */
export function assertSafeMetricsExposure(host: string, allowPublic: boolean): void {
  if (allowPublic || isLoopbackHost(host)) return;
  throw new ExposureError(
    `refusing to serve /metrics on ${host}: it has no authentication, so anyone who can reach it would read the bridge's counters. ` +
      'Keep --metrics-host on 127.0.0.1 and scrape through an SSH tunnel or an authenticating proxy, or pass --metrics-public if the network is trusted.',
  );
}

export function assertSafeExposure(host: string, authenticated: boolean, allowAnonymous: boolean): void {
  if (authenticated || allowAnonymous || isLoopbackHost(host)) return;
  throw new ExposureError(
    `refusing to serve ${host} without authentication: anyone who can reach it would control the 1fichier account. ` +
      'Add users (--user NAME with FICHIER_DAV_PASS, or --htpasswd FILE), or pass --allow-anonymous if the network is trusted.',
  );
}
