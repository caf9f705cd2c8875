#!/usr/bin/env bash
# Builds the boot assets into boot-assets/build/ from Debian packages (downloaded and extracted,
# never installed on the host): iPXE loaders, and more as sections below are added.
# Usage: build.sh [--if-missing]   (--if-missing: only build what is absent)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/build"
cache="$here/.cache"; CACHE=$cache
mkdir -p "$out" "$cache"
if_missing=0; [ "${1:-}" = --if-missing ] && if_missing=1
# One build at a time (npm test set-up and tests may start it concurrently).
exec 9>"$cache/.build.lock"
flock 9

# shellcheck source=lib.sh
source "$here/lib.sh"


# --- iPXE loaders (Debian package ipxe) ---
if [ $if_missing = 0 ] || [ ! -f "$out/undionly.kpxe" ] || [ ! -f "$out/ipxe.efi" ] || [ ! -f "$out/snponly.efi" ]; then
  log "iPXE loaders"
  root=$(fetch_deb ipxe)
  install -m 0644 "$root/usr/lib/ipxe/undionly.kpxe" "$out/undionly.kpxe"
  install -m 0644 "$root/boot/ipxe.efi" "$out/ipxe.efi"
  install -m 0644 "$root/usr/lib/ipxe/snponly.efi" "$out/snponly.efi"
fi

# Further sections (test OS kernel + initramfs, disk image, Secure Boot chain) append here.
for part in "$here"/parts/*.sh; do
  [ -e "$part" ] || continue
  IF_MISSING=$if_missing OUT="$out" CACHE="$cache" bash "$part"
done

# The manifest (digests and sizes of every artifact) is written last.
if [ -x "$here/manifest.sh" ]; then OUT="$out" bash "$here/manifest.sh"; fi
