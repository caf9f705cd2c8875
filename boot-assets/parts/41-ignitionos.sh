#!/usr/bin/env bash
# ignitionos: a real Ignition OS for the lifecycle tests: the cloudos root (Debian packages from
# mmdebstrap, cached by 40-cloudos.sh) with cloud-init disabled, Debian's Ignition binary, and a
# first-boot stage before systemd: /init (boot-assets/ignitionos/init) brings the NIC up with
# dhclient, runs `ignition --stage=fetch` and `--stage=files --root=/` (config from
# ignition.config.url=), logs Ignition's output to the kernel log (so `journalctl -b` has its
# "parsing config with SHA512" line, as the initramfs journal has on Flatcar), releases the
# network and execs systemd, which starts the units the config enabled (presets, first boot).
# No rackboot agent: completion comes only from the report unit rendered into the config.
#   ignitionos-vmlinuz      = testos-vmlinuz
#   ignitionos-initrd.img   root file system, zstd cpio (about 70 MiB; needs about 1 GiB of RAM)
# Env from build.sh: OUT CACHE IF_MISSING.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

if [ "$IF_MISSING" = 1 ] && [ -f "$OUT/ignitionos-vmlinuz" ] && [ -f "$OUT/ignitionos-initrd.img" ] \
  && [ -z "$(find "$0" "$here/ignitionos" "$OUT/testos-vmlinuz" -newer "$OUT/ignitionos-initrd.img" -print -quit)" ]; then
  exit 0
fi
tarball=$(ls -t "$CACHE"/cloudos-root-*.tar 2>/dev/null | head -n 1 || true)
[ -n "$tarball" ] || { log "ignitionos skipped: no cloudos root in the cache (40-cloudos.sh needs mmdebstrap)"; exit 0; }

build_ignitionos() {
  local start r kpkg kroot kver ig
  start=$(date +%s)
  stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
  r="$stage/root"
  mkdir -p "$r"
  tar -C "$r" -xf "$tarball"
  rm -rf "$r"/var/cache/apt/* "$r"/var/lib/apt/lists/* "$r"/var/log/*.log
  kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  kroot=$(fetch_deb "$kpkg")
  kver=$(ls "$kroot/lib/modules" | head -n 1)
  mkdir -p "$r/lib/modules/$kver"
  declare -A seen=()
  add_mod() {
    local name=$1 line path dep
    line=$(grep -E "(^|/)$name\.ko(\.[a-z]+)?:" "$kroot/lib/modules/$kver/modules.dep" | head -n 1) || true
    [ -n "$line" ] || return 0
    path=${line%%:*}
    [ -z "${seen[$path]:-}" ] || return 0
    seen[$path]=1
    mkdir -p "$r/lib/modules/$kver/$(dirname "$path")"
    cp "$kroot/lib/modules/$kver/$path" "$r/lib/modules/$kver/$path"
    for dep in ${line#*:}; do add_mod "$(basename "${dep%%.ko*}")"; done
  }
  for m in virtio_pci virtio_net virtio_blk virtio_rng af_packet; do add_mod "$m"; done
  cp "$kroot/lib/modules/$kver/modules.order" "$kroot/lib/modules/$kver/modules.builtin"* "$r/lib/modules/$kver/" 2>/dev/null || true
  chroot "$r" /sbin/depmod -a "$kver"
  # Debian's Ignition (the binary its dracut module runs; dynamically linked to libc and libblkid).
  ig=$(find "$(fetch_deb ignition)" -type f -name ignition -perm -u+x | head -n 1)
  install -m 0755 "$ig" "$r/usr/bin/ignition"
  install -m 0755 "$here/ignitionos/init" "$r/init"
  rm -f "$r/etc/machine-id"
  # Debian's Ignition reads /etc/selinux/config and then always pipes what it wrote to setfiles.
  # This image has no SELinux policy (as the test OS's Ignition initrd): the config says so, and a
  # setfiles that only drains the path list stands in for policycoreutils.
  mkdir -p "$r/etc/selinux"
  printf 'SELINUX=disabled\nSELINUXTYPE=targeted\n' > "$r/etc/selinux/config"
  printf '#!/bin/sh\nn=$(tr "\\0" "\\n" | grep -c .)\necho "setfiles (ignitionos): no SELinux policy; $n path patterns left unlabelled" >&2\nexit 0\n' > "$r/usr/sbin/setfiles"
  chmod 0755 "$r/usr/sbin/setfiles"
  printf 'ignitionos\n' > "$r/etc/hostname"
  # No cloud-init here; the network after the first-boot stage is systemd-networkd (DHCP on en*).
  touch "$r/etc/cloud/cloud-init.disabled"
  mkdir -p "$r/etc/systemd/network"
  printf '[Match]\nName=en* eth*\n\n[Network]\nDHCP=ipv4\n' > "$r/etc/systemd/network/20-dhcp.network"
  systemctl --root="$r" enable systemd-networkd.service systemd-networkd-wait-online.service >/dev/null 2>&1
  systemctl --root="$r" mask getty@tty1.service apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1 || true
  ( cd "$r" && find . -xdev | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | zstd -q -T0 -12 ) > "$OUT/ignitionos-initrd.img.tmp"
  mv "$OUT/ignitionos-initrd.img.tmp" "$OUT/ignitionos-initrd.img"
  cp "$OUT/testos-vmlinuz" "$OUT/ignitionos-vmlinuz"
  log "ignitionos built in $(( $(date +%s) - start )) s: $(du -h "$OUT/ignitionos-initrd.img" | cut -f1) initramfs"
}
log "ignitionos: cloudos root + Debian's Ignition in a first-boot stage"
# A failed build must not fail the other boot assets (set -e is ignored inside a || list).
set +e; ( set -e; build_ignitionos ); rc=$?; set -e
[ $rc = 0 ] || { rm -f "$OUT/ignitionos-initrd.img.tmp"; log "ignitionos build FAILED ($rc, see above); the other assets are unaffected"; }
