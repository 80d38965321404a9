/** How to mount a running bridge on each OS; printed by `demo` and `serve`. */
export function mountInstructions(url: string): string {
  const plain = url.replace(/\/$/, '');
  const hostPort = plain.replace(/^https?:\/\//, '');
  const davScheme = plain.startsWith('https:') ? 'davs' : 'dav';
  return [
    'Mount it:',
    `  Windows  Explorer > This PC > Map network drive > Folder: ${plain}/`,
    `           or: net use Z: ${plain}/`,
    `  macOS    Finder > Go > Connect to Server (Cmd+K) > ${plain}/`,
    `           or: mkdir -p ~/fichier && mount_webdav ${plain}/ ~/fichier`,
    `  Linux    Files (Nautilus/Dolphin): ${davScheme}://${hostPort}/`,
    `           davfs2: sudo mount -t davfs ${plain}/ /mnt/fichier`,
    `           rclone: rclone lsf :webdav: --webdav-url ${plain}/`,
    `  curl     curl -X PROPFIND -H 'Depth: 1' ${plain}/`,
  ].join('\n');
}
