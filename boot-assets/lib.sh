# Shared by build.sh and parts/*.sh (sourced): logging and .deb download + extraction.
# Needs CACHE (the download cache directory).

log() { printf 'boot-assets: %s\n' "$*" >&2; }

# fetch_deb PKG: downloads the current .deb of PKG into the cache (once) and extracts it with
# dpkg-deb -x — never installed on the host; prints the extracted root directory.
fetch_deb() {
  local pkg=$1 dir="$CACHE/$1"
  if [ ! -d "$dir/root" ]; then
    rm -rf "$dir"; mkdir -p "$dir"
    # _apt drops privileges for downloads: let it write into the cache directory.
    ( cd "$dir" && chmod 777 . && { apt-get download -q "$pkg" >&2 || { apt-get update -q >&2 && apt-get download -q "$pkg" >&2; }; } )
    dpkg-deb -x "$dir"/*.deb "$dir/root"
  fi
  printf '%s\n' "$dir/root"
}

# build_ab_disk IMG KERNEL INITRD OVERLAY SLOT_MIB: the installable A/B disk layout every rackboot
# OS image shares (parts/30-image.sh describes it), built and populated without mounting:
#   p1 bios-boot 1 MiB (GRUB i386-pc core.img), p2 ESP 1 MiB (\EFI\BOOT\BOOTX64.EFI),
#   p3 rackboot-a and p4 rackboot-b, SLOT_MIB each: ext2 with /boot/{vmlinuz,initrd.img,grub/grub.cfg}.
# The slots' initrd is INITRD with the files of the directory OVERLAY appended as a second cpio
# (later archives override earlier ones, so OVERLAY/init replaces /init). GRUB passes
# rackboot.slot= and rackboot.image_size= (the state block's offset, image/README.md).
# Fixed timestamps, UUIDs and serials: the same inputs give the same digest. Needs OUT CACHE.
build_ab_disk() {
  local img=$1 kernel=$2 initrd=$3 overlay=$4 slot_size=$5
  local dir stage gcommon gpc gefi mtools mkimage stamp stamp_debugfs MiB bios_start bios_size esp_size
  local esp_start a_start b_start total size_bytes slot other r uuid f common_mods core_bytes raw
  dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/image
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
  bios_start=1; bios_size=1; esp_size=1
  esp_start=$((bios_start + bios_size)); a_start=$((esp_start + esp_size)); b_start=$((a_start + slot_size))
  total=$((b_start + slot_size + 1)) # +1 MiB: room for the backup GPT
  size_bytes=$((total * MiB))

  # --- initramfs: INITRD + the overlay cpio ---
  find "$overlay" -exec touch -h -t "$stamp" {} +
  cp "$initrd" "$stage/initrd.img"
  ( cd "$overlay" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 --reproducible 2>/dev/null | gzip -9n ) >> "$stage/initrd.img"

  # --- slots A and B (ext2, populated without mounting) ---
  for slot in a b; do
    other=$([ $slot = a ] && echo b || echo a)
    r="$stage/slot-$slot"
    mkdir -p "$r/boot/grub"
    cp "$kernel" "$r/boot/vmlinuz"
    cp "$stage/initrd.img" "$r/boot/initrd.img"
    sed -e "s/@SLOT@/$slot/g" -e "s/@OTHER@/$other/g" -e "s/@SIZE@/$size_bytes/g" \
      "$dir/grub.cfg.in" > "$r/boot/grub/grub.cfg"
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
  # shellcheck disable=SC2086 # one word per module
  "$mkimage" -d "$gefi" -O x86_64-efi -o "$stage/BOOTX64.EFI" -p /boot/grub -c "$dir/grub-early.cfg" \
    $common_mods efi_gop >&2
  truncate -s $((esp_size * MiB)) "$stage/esp.fs"
  "$mtools" -c mformat -i "$stage/esp.fs" -N 7a1e0e5f -v ESP -h 64 -s 32 -t $((esp_size * MiB / 64 / 32 / 512)) ::
  "$mtools" -c mmd -i "$stage/esp.fs" ::/EFI ::/EFI/BOOT
  touch -t "$stamp" "$stage/BOOTX64.EFI"
  "$mtools" -c mcopy -m -i "$stage/esp.fs" "$stage/BOOTX64.EFI" ::/EFI/BOOT/BOOTX64.EFI

  # --- GRUB for BIOS: core.img (diskboot.img + compressed kernel and modules) ---
  # shellcheck disable=SC2086
  "$mkimage" -d "$gpc" -O i386-pc -o "$stage/core.img" -p /boot/grub -c "$dir/grub-early.cfg" \
    $common_mods biosdisk >&2
  core_bytes=$(stat -c %s "$stage/core.img")
  [ "$core_bytes" -le $((bios_size * MiB)) ] || { log "image: core.img ($core_bytes bytes) does not fit the BIOS boot partition"; return 1; }

  # --- the disk: GPT, partitions, boot code ---
  raw="$stage/disk.raw"
  truncate -s "$size_bytes" "$raw"
  sgdisk -U 7a1e0000-0000-4000-8000-000000000d15 \
    -n "1:$((bios_start * 2048)):+${bios_size}M" -t 1:EF02 -c 1:bios-boot -u 1:7a1e0000-0000-4000-8000-000000000001 \
    -n "2:$((esp_start * 2048)):+${esp_size}M" -t 2:EF00 -c 2:ESP -u 2:7a1e0000-0000-4000-8000-000000000002 \
    -n "3:$((a_start * 2048)):+${slot_size}M" -t 3:8300 -c 3:rackboot-a -u 3:7a1e0000-0000-4000-8000-000000000003 \
    -n "4:$((b_start * 2048)):+${slot_size}M" -t 4:8300 -c 4:rackboot-b -u 4:7a1e0000-0000-4000-8000-000000000004 \
    "$raw" >/dev/null
  dd if="$stage/esp.fs" of="$raw" bs=512 seek=$((esp_start * 2048)) conv=notrunc status=none
  dd if="$stage/a.fs" of="$raw" bs=512 seek=$((a_start * 2048)) conv=notrunc status=none
  dd if="$stage/b.fs" of="$raw" bs=512 seek=$((b_start * 2048)) conv=notrunc status=none
  dd if="$stage/core.img" of="$raw" bs=512 seek=$((bios_start * 2048)) conv=notrunc status=none
  # boot.img's code (first 440 bytes; the protective MBR's partition table stays), patched the
  # way grub-bios-setup does for an embedded core: GRUB_BOOT_MACHINE_KERNEL_SECTOR (0x5c, LBA of
  # diskboot.img), the drive-check jump at 0x66 turned into NOPs (hard disk), and diskboot.img's
  # first blocklist entry (last 12 bytes of its sector: start u64, len u16, segment u16) moved
  # from its default LBA 2 to the sector right after diskboot.img.
  dd if="$gpc/boot.img" of="$raw" bs=440 count=1 conv=notrunc status=none
  le64 $((bios_start * 2048)) | dd of="$raw" bs=1 seek=$((0x5c)) conv=notrunc status=none
  printf '\x90\x90' | dd of="$raw" bs=1 seek=$((0x66)) conv=notrunc status=none
  le64 $((bios_start * 2048 + 1)) | dd of="$raw" bs=1 seek=$((bios_start * 2048 * 512 + 512 - 12)) conv=notrunc status=none

  mv "$raw" "$img.tmp"
  mv "$img.tmp" "$img"
  rm -rf "$stage"; trap - EXIT
  log "$(basename "$img"): $size_bytes bytes, sha256:$(sha256sum "$img" | cut -d' ' -f1)"
}

# le64 N: N as 8 little-endian bytes on stdout.
le64() { printf "$(printf '%016x' "$1" | sed -E 's/(..)(..)(..)(..)(..)(..)(..)(..)/\\x\8\\x\7\\x\6\\x\5\\x\4\\x\3\\x\2\\x\1/')"; }
