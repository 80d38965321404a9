#!/usr/bin/env bash
# Mounts a running fichier-dav with davfs2 (Linux).
#   scripts/mount-davfs.sh [URL] [MOUNTPOINT]      default: http://127.0.0.1:8080/ ~/fichier
#   scripts/mount-davfs.sh --unmount [MOUNTPOINT]
# Needs: sudo apt-get install davfs2. Credentials (if the server has auth) go in ~/.davfs2/secrets
# as "URL user password" (chmod 600); this script never takes a password on the command line.
set -euo pipefail

if [ "${1:-}" = "--unmount" ]; then
  mountpoint="${2:-$HOME/fichier}"
  sudo umount "$mountpoint"
  echo "unmounted $mountpoint"
  exit 0
fi

url="${1:-http://127.0.0.1:8080/}"
mountpoint="${2:-$HOME/fichier}"

if ! command -v mount.davfs >/dev/null 2>&1; then
  echo "error: davfs2 is not installed; run: sudo apt-get install davfs2" >&2
  exit 2
fi
if ! curl -fsS -X OPTIONS "$url" -o /dev/null; then
  echo "error: nothing answers at $url; start it first: npx fichier-dav serve (or npm start for the demo)" >&2
  exit 2
fi

mkdir -p "$mountpoint"
# davfs2 locks by default; fichier-dav supports LOCK. use_expect100 off: not needed, saves a round trip.
sudo mount -t davfs "$url" "$mountpoint" -o "uid=$(id -u),gid=$(id -g),file_mode=0644,dir_mode=0755"
echo "mounted $url on $mountpoint (unmount: $0 --unmount $mountpoint)"
