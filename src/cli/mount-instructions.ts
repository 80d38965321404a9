/** How to mount a running bridge on each OS; printed by `demo` and `serve`. */
import { networkInterfaces } from 'node:os';

/** Hosts that mean "every interface": no client can connect to them by that name. */
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '']);

function urlFor(host: string, port: number, tls: boolean): string {
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `${tls ? 'https' : 'http'}://${shown}:${port}/`;
}

/**
 * The URLs clients use to reach a server bound to `host`, best first. Bound to every interface
 * (0.0.0.0 or ::), that is each non-internal address of this machine (IPv4 first: other machines
 * need one of those), then loopback for this machine itself; bound to one host, just that host.
 */
export function reachableUrls(
  host: string,
  port: number,
  tls = false,
  interfaces: () => ReturnType<typeof networkInterfaces> = networkInterfaces,
): string[] {
  if (!WILDCARD_HOSTS.has(host)) return [urlFor(host, port, tls)];
  let found: ReturnType<typeof networkInterfaces>;
  try {
    found = interfaces();
  } catch {
    // A sandbox without netlink sockets (systemd's RestrictAddressFamilies) cannot list them.
    found = {};
  }
  const addresses = Object.values(found)
    .flatMap((list) => list ?? [])
    .filter((address) => !address.internal && (host === '0.0.0.0' ? address.family === 'IPv4' : true))
    // Link-local IPv6 addresses need a zone index no mount dialog accepts.
    .filter((address) => !(address.family === 'IPv6' && address.address.toLowerCase().startsWith('fe80:')))
    .sort((a, b) => (a.family === b.family ? 0 : a.family === 'IPv4' ? -1 : 1))
    .map((address) => urlFor(address.address, port, tls));
  return [...new Set([...addresses, urlFor('127.0.0.1', port, tls)])];
}

/**
 * The mount commands for `url`. `login` is the user name clients must give when the server asks
 * for one (`--user`; `NAME` for an htpasswd file): the commands then carry it, since the plain ones
 * would only get 401. Passwords are never printed: each command asks for one or shows where it goes.
 */
export function mountInstructions(url: string, login?: string): string {
  const plain = url.replace(/\/$/, '');
  const hostPort = plain.replace(/^https?:\/\//, '');
  const davScheme = plain.startsWith('https:') ? 'davs' : 'dav';
  const quoted = login === undefined ? '' : /^[\w.@-]+$/.test(login) ? login : `'${login.replaceAll("'", "'\\''")}'`;
  const lines = [
    'Mount it:',
    `  Windows  Explorer > This PC > Map network drive > Folder: ${plain}/`,
    login === undefined ? `           or: net use Z: ${plain}/` : `           or: net use Z: ${plain}/ /user:${quoted} *`,
    `  macOS    Finder > Go > Connect to Server (Cmd+K) > ${plain}/`,
    `           or: mkdir -p ~/fichier && mount_webdav ${login === undefined ? '' : '-i '}${plain}/ ~/fichier`,
    `  Linux    Files (Nautilus/Dolphin): ${davScheme}://${hostPort}/`,
    `           davfs2: sudo mount -t davfs ${plain}/ /mnt/fichier`,
    login === undefined
      ? `           rclone: rclone lsf :webdav: --webdav-url ${plain}/`
      : `           rclone: rclone lsf :webdav: --webdav-url ${plain}/ --webdav-user ${quoted} --webdav-pass "$(rclone obscure 'PASSWORD')"`,
    login === undefined ? `  curl     curl -X PROPFIND -H 'Depth: 1' ${plain}/` : `  curl     curl -u ${quoted} -X PROPFIND -H 'Depth: 1' ${plain}/`,
  ];
  if (login !== undefined && plain.startsWith('http:')) {
    lines.push('  (Windows sends passwords over http:// only with BasicAuthLevel 2: see docs/security.md)');
  }
  return lines.join('\n');
}
