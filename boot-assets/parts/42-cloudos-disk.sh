#!/usr/bin/env bash
# cloudos-disk.raw: cloudos (40-cloudos.sh) as an installable disk, for cloud-init profiles that
# install (`install.image`): the A/B GPT layout of rackboot-os.raw (build_ab_disk in lib.sh, GRUB
# for BIOS and UEFI), each slot holding cloudos's kernel and initramfs plus a first stage
# (boot-assets/cloudos/disk-init) that turns the installer's state block into cloud-init's NoCloud
# seed before systemd starts. The test OS agent installs it (PXE), then the machine boots it from
# its disk; still no rackboot agent inside. Env from build.sh: OUT CACHE IF_MISSING.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
img="$OUT/cloudos-disk.raw"

[ -f "$OUT/cloudos-vmlinuz" ] && [ -f "$OUT/cloudos-initrd.img" ] || { log "cloudos-disk skipped: no cloudos (40-cloudos.sh)"; exit 0; }
if [ "$IF_MISSING" = 1 ] && [ -f "$img" ] \
  && [ -z "$(find "$0" "$here/lib.sh" "$here/image" "$here/cloudos" "$OUT/cloudos-vmlinuz" "$OUT/cloudos-initrd.img" -newer "$img" -print -quit)" ]; then
  exit 0
fi

log "cloudos-disk: cloudos on the A/B disk layout"
start=$(date +%s)
overlay=$(mktemp -d); chmod 0755 "$overlay"
install -m 0755 "$here/cloudos/disk-init" "$overlay/init"
install -D -m 0644 "$here/image/state-block.sh" "$overlay/usr/lib/rackboot/state-block.sh"
# A slot holds the kernel and the initramfs (+ the small overlay), with 5 % and 2 MiB for ext2's own blocks.
payload=$(( ($(stat -c %s "$OUT/cloudos-vmlinuz") + $(stat -c %s "$OUT/cloudos-initrd.img")) / 1048576 + 1 ))
build_ab_disk "$img" "$OUT/cloudos-vmlinuz" "$OUT/cloudos-initrd.img" "$overlay" $((payload + payload / 20 + 2))
rm -rf "$overlay"
log "cloudos-disk built in $(( $(date +%s) - start )) s: $(du -h --apparent-size "$img" | cut -f1)"
