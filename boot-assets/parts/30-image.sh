#!/usr/bin/env bash
# The installable OS image: $OUT/rackboot-os.raw, a raw GPT disk that boots from disk under
# both SeaBIOS and OVMF and is served by digest like every other asset.
#   p1 bios-boot  1 MiB   GRUB i386-pc core.img (boot.img in the protective MBR points at it)
#   p2 ESP        1 MiB   FAT, \EFI\BOOT\BOOTX64.EFI = GRUB x86_64-efi (removable-media path:
#                         OVMF boots it without any Boot#### variable)
#   p3 rackboot-a 11 MiB  ext2: /boot/{vmlinuz,initrd.img,grub/grub.cfg}  (active slot)
#   p4 rackboot-b 11 MiB  ext2: the same payload (the slot an A/B upgrade would write)
# The kernel is the test OS kernel; the initramfs is the test OS initramfs with
# boot-assets/image/init appended as a second cpio (it overrides /init). GRUB comes from
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
gcommon=$(fetch_deb grub-common)
gpc=$(fetch_deb grub-pc-bin)/usr/lib/grub/i386-pc
gefi=$(fetch_deb grub-efi-amd64-bin)/usr/lib/grub/x86_64-efi
mtools=$(fetch_deb mtools)/usr/bin/mtools
mkimage="$gcommon/usr/bin/grub-mkimage"

stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
export SOURCE_DATE_EPOCH=1700000000 E2FSPROGS_FAKE_TIME=1700000000
stamp=202311142213.20
stamp_debugfs=20231114221320

MiB=$((1024 * 1024))
bios_start=1; bios_size=1; esp_size=1; slot_size=11
esp_start=$((bios_start + bios_size)); a_start=$((esp_start + esp_size)); b_start=$((a_start + slot_size))
total=$((b_start + slot_size + 1)) # +1 MiB: room for the backup GPT
size_bytes=$((total * MiB))

# --- initramfs: test OS initramfs + our /init ---
mkdir -p "$stage/ovl"
install -m 0755 "$here/image/init" "$stage/ovl/init"
printf 'rackboot-os\n' > "$stage/ovl/etc-hostname"
mkdir -p "$stage/ovl/etc"; mv "$stage/ovl/etc-hostname" "$stage/ovl/etc/hostname"
find "$stage/ovl" -exec touch -h -t "$stamp" {} +
cp "$OUT/testos-initrd.img" "$stage/initrd.img"
( cd "$stage/ovl" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 --reproducible 2>/dev/null | gzip -9n ) >> "$stage/initrd.img"

# --- slots A and B (ext2, populated without mounting) ---
for slot in a b; do
  other=$([ $slot = a ] && echo b || echo a)
  r="$stage/slot-$slot"
  mkdir -p "$r/boot/grub"
  cp "$OUT/testos-vmlinuz" "$r/boot/vmlinuz"
  cp "$stage/initrd.img" "$r/boot/initrd.img"
  sed -e "s/@SLOT@/$slot/g" -e "s/@OTHER@/$other/g" -e "s/@SIZE@/$size_bytes/g" \
    "$here/image/grub.cfg.in" > "$r/boot/grub/grub.cfg"
  find "$r" -exec touch -h -t "$stamp" {} +
  uuid=$([ $slot = a ] && echo 7a1e0000-0000-4000-8000-00000000000a || echo 7a1e0000-0000-4000-8000-00000000000b)
  mkfs.ext2 -q -F -L "rackboot-$slot" -U "$uuid" -E "hash_seed=$uuid,root_owner=0:0" -N 64 -m 0 -b 1024 \
    -d "$r" "$stage/$slot.fs" "$((slot_size * 1024))" >&2
  # mke2fs -d stamps inode ctimes with the wall clock (E2FSPROGS_FAKE_TIME does not reach them).
  for f in / /lost+found /boot /boot/grub /boot/vmlinuz /boot/initrd.img /boot/grub/grub.cfg; do
    printf 'sif %s ctime %s\n' "$f" "$stamp_debugfs"
  done | debugfs -w -f - "$stage/$slot.fs" >/dev/null 2>&1
done

# --- GRUB for UEFI: BOOTX64.EFI in a FAT ESP ---
common_mods="part_gpt ext2 fat search search_label search_fs_uuid search_fs_file normal configfile linux echo test"
"$mkimage" -d "$gefi" -O x86_64-efi -o "$stage/BOOTX64.EFI" -p /boot/grub -c "$here/image/grub-early.cfg" \
  $common_mods efi_gop >&2
truncate -s $((esp_size * MiB)) "$stage/esp.fs"
"$mtools" -c mformat -i "$stage/esp.fs" -N 7a1e0e5f -v ESP -h 64 -s 32 -t $((esp_size * MiB / 64 / 32 / 512)) ::
"$mtools" -c mmd -i "$stage/esp.fs" ::/EFI ::/EFI/BOOT
touch -t "$stamp" "$stage/BOOTX64.EFI"
"$mtools" -c mcopy -m -i "$stage/esp.fs" "$stage/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI

# --- GRUB for BIOS: core.img (diskboot.img + compressed kernel and modules) ---
"$mkimage" -d "$gpc" -O i386-pc -o "$stage/core.img" -p /boot/grub -c "$here/image/grub-early.cfg" \
  $common_mods biosdisk >&2
core_bytes=$(stat -c %s "$stage/core.img")
[ "$core_bytes" -le $((bios_size * MiB)) ] || { log "image: core.img ($core_bytes bytes) does not fit the BIOS boot partition"; exit 1; }

# --- the disk: GPT, partitions, boot code ---
raw="$stage/disk.raw"
truncate -s "$size_bytes" "$raw"
sgdisk -U 7a1e0000-0000-4000-8000-000000000d15 \
  -n "1:$((bios_start * 2048)):+${bios_size}M" -t 1:EF02 -c 1:bios-boot -u 1:7a1e0000-0000-4000-8000-000000000001 \
  -n "2:$((esp_start * 2048)):+${esp_size}M" -t 2:EF00 -c 2:ESP -u 2:7a1e0000-0000-4000-8000-000000000002 \
  -n "3:$((a_start * 2048)):+${slot_size}M" -t 3:8300 -c 3:rackboot-a -u 3:7a1e0000-0000-4000-8000-000000000003 \
  -n "4:$((b_start * 2048)):+${slot_size}M" -t 4:8300 -c 4:rackboot-b -u 4:7a1e0000-0000-4000-8000-000000000004 \
  "$raw" >/dev/null
put() { dd if="$1" of="$raw" bs=512 seek="$2" conv=notrunc status=none; }
put "$stage/esp.fs" $((esp_start * 2048))
put "$stage/a.fs" $((a_start * 2048))
put "$stage/b.fs" $((b_start * 2048))
put "$stage/core.img" $((bios_start * 2048))
# boot.img's code (first 440 bytes; the protective MBR's partition table stays), patched the
# way grub-bios-setup does for an embedded core: GRUB_BOOT_MACHINE_KERNEL_SECTOR (0x5c, LBA of
# diskboot.img), the drive-check jump at 0x66 turned into NOPs (hard disk), and diskboot.img's
# first blocklist entry (last 12 bytes of its sector: start u64, len u16, segment u16) moved
# from its default LBA 2 to the sector right after diskboot.img.
dd if="$gpc/boot.img" of="$raw" bs=440 count=1 conv=notrunc status=none
le64() { printf "$(printf '%016x' "$1" | sed -E 's/(..)(..)(..)(..)(..)(..)(..)(..)/\\x\8\\x\7\\x\6\\x\5\\x\4\\x\3\\x\2\\x\1/')"; }
le64 $((bios_start * 2048)) | dd of="$raw" bs=1 seek=$((0x5c)) conv=notrunc status=none
printf '\x90\x90' | dd of="$raw" bs=1 seek=$((0x66)) conv=notrunc status=none
le64 $((bios_start * 2048 + 1)) | dd of="$raw" bs=1 seek=$((bios_start * 2048 * 512 + 512 - 12)) conv=notrunc status=none

mv "$raw" "$img.tmp"
mv "$img.tmp" "$img"
log "rackboot-os.raw: $size_bytes bytes, sha256:$(sha256sum "$img" | cut -d' ' -f1)"
