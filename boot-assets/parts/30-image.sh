#!/usr/bin/env bash
# The installable OS image: $OUT/rackboot-os.raw, a raw GPT disk that boots from disk under
# both SeaBIOS and OVMF and is served by digest like every other asset.
#   p1 bios-boot  1 MiB   GRUB i386-pc core.img (boot.img in the protective MBR points at it)
#   p2 ESP        1 MiB   FAT, \EFI\BOOT\BOOTX64.EFI = GRUB x86_64-efi (removable-media path:
#                         OVMF boots it without any Boot#### variable)
#   p3 rackboot-a 11 MiB  ext2: /boot/{vmlinuz,initrd.img,grub/grub.cfg}  (active slot)
#   p4 rackboot-b 11 MiB  ext2: the same payload (the slot an A/B upgrade would write)
# The kernel is the test OS kernel; the initramfs is the test OS initramfs with
# boot-assets/image/init appended as a second cpio (it overrides /init). The layout and its
# build are build_ab_disk in lib.sh (parts/42-cloudos-disk.sh uses it too). GRUB comes from
# Debian's grub-pc-bin / grub-efi-amd64-bin (+ grub-common for grub-mkimage) and mtools
# builds the FAT: all EXTRACTED from .debs, nothing installed on the host.
# Fixed timestamps, UUIDs and serials make the build reproducible, so the digest only
# changes when an input does. Env from build.sh: OUT CACHE IF_MISSING.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"
img="$OUT/rackboot-os.raw"

if [ "$IF_MISSING" = 1 ] && [ -f "$img" ] \
  && [ -z "$(find "$here/image" "$0" "$OUT/testos-vmlinuz" "$OUT/testos-initrd.img" -newer "$img" -print -quit)" ]; then
  exit 0
fi
[ -f "$OUT/testos-vmlinuz" ] && [ -f "$OUT/testos-initrd.img" ] || { log "image: test OS kernel/initrd missing"; exit 1; }


log "installable OS image (GRUB for BIOS and UEFI, A/B slots)"
overlay=$(mktemp -d); chmod 0755 "$overlay"
install -m 0755 "$here/image/init" "$overlay/init"
install -D -m 0644 "$here/image/state-block.sh" "$overlay/usr/lib/rackboot/state-block.sh"
mkdir -p "$overlay/etc"; printf 'rackboot-os\n' > "$overlay/etc/hostname"
build_ab_disk "$img" "$OUT/testos-vmlinuz" "$OUT/testos-initrd.img" "$overlay" 11
rm -rf "$overlay"
