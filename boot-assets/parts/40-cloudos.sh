#!/usr/bin/env bash
# cloudos: a real cloud-init OS for the lifecycle tests, from Debian packages with mmdebstrap:
# Debian's kernel (the test OS kernel) + systemd + cloud-init, booted live: the whole root file
# system is one initramfs that the kernel unpacks into RAM, and systemd runs as /init. Nothing
# of rackboot runs inside: the NoCloud-net datasource (kernel args `ds=nocloud-net;s=<url>/`)
# fetches rackboot's user-data, and completion comes only from the report unit rendered into it.
#   cloudos-vmlinuz      = testos-vmlinuz (same Debian kernel; named for the profile)
#   cloudos-initrd.img   root file system, zstd cpio (about 60 MiB; needs about 1 GiB of RAM)
# Built only where mmdebstrap is installed (npm test's set-up installs it from
# scripts/deps/test-lifecycle.txt; npm start does not need this image). Env: OUT CACHE IF_MISSING.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

if [ "$IF_MISSING" = 1 ] && [ -f "$OUT/cloudos-vmlinuz" ] && [ -f "$OUT/cloudos-initrd.img" ] \
  && [ -z "$(find "$0" "$OUT/testos-vmlinuz" -newer "$OUT/cloudos-initrd.img" -print -quit)" ]; then
  exit 0
fi
command -v mmdebstrap >/dev/null || { log "cloudos skipped: mmdebstrap is not installed (the test set-up installs it)"; exit 0; }
[ -f "$OUT/testos-vmlinuz" ] || { log "cloudos: test OS kernel missing"; exit 1; }

# A failed cloudos build must not fail the other boot assets: the cloudos VM test says it is missing.
build_cloudos() {
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
kroot=$(fetch_deb "$kpkg")
kver=$(ls "$kroot/lib/modules" | head -n 1)
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
log "cloudos: mmdebstrap $suite (systemd, cloud-init) + kernel modules $kver"
start=$(date +%s)
stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
r="$stage/root"
# minbase + what a cloud-init node needs: systemd as init, udev for the NIC, ifupdown + dhclient
# (cloud-init's ENI renderer is Debian's default), curl for profiles' own runcmd. The mmdebstrap
# result is cached as a tarball per suite and package list: later changes below cost seconds.
pkgs=systemd,systemd-sysv,udev,dbus,cloud-init,ifupdown,isc-dhcp-client,iproute2,curl,ca-certificates,kmod
tarball="$CACHE/cloudos-root-$(printf '%s %s' "$suite" "$pkgs" | sha256sum | cut -c1-12).tar"
if [ ! -f "$tarball" ]; then
  mmdebstrap --variant=minbase --mode=root --quiet --include="$pkgs" \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --format=tar "$suite" "$tarball.tmp" >&2
  mv "$tarball.tmp" "$tarball"
fi
mkdir -p "$r"
tar -C "$r" -xf "$tarball"
rm -rf "$r"/var/cache/apt/* "$r"/var/lib/apt/lists/* "$r"/var/log/*.log

# Kernel modules the VM needs (virtio NIC and disk), with their dependencies.
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

# Live root: systemd is /init; an empty machine-id is generated at boot; no root password.
ln -sf /lib/systemd/systemd "$r/init"
: > "$r/etc/machine-id"
printf 'cloudos\n' > "$r/etc/hostname"
# Only NoCloud: under TCG every probed datasource costs seconds. Modules for what this image
# lacks are off, so a clean boot ends with no error in cloud-init's result: no locales package
# (cc_locale fails), no sshd (host keys), no disk (resize/growpart).
cat > "$r/etc/cloud/cloud.cfg.d/90-rackboot.cfg" <<'EOF'
datasource_list: [NoCloud, None]
locale: false
ssh_genkeytypes: []
ssh_deletekeys: false
resize_rootfs: false
growpart: {mode: 'off'}
EOF
# Serial console for the test's log; no getty on tty1 needed.
systemctl --root="$r" mask getty@tty1.service >/dev/null 2>&1 || true
systemctl --root="$r" mask apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer >/dev/null 2>&1 || true

( cd "$r" && find . -xdev | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | zstd -q -T0 -12 ) > "$OUT/cloudos-initrd.img.tmp"
mv "$OUT/cloudos-initrd.img.tmp" "$OUT/cloudos-initrd.img"
cp "$OUT/testos-vmlinuz" "$OUT/cloudos-vmlinuz"
log "cloudos built in $(( $(date +%s) - start )) s: $(du -h "$OUT/cloudos-initrd.img" | cut -f1) initramfs, $(du -sh "$r" | cut -f1) unpacked"
}
# (set -e is ignored inside a || list, so the status is taken after the subshell.)
set +e; ( set -e; build_cloudos ); rc=$?; set -e
[ $rc = 0 ] || { rm -f "$OUT/cloudos-initrd.img.tmp"; log "cloudos build FAILED ($rc, see above); the other assets are unaffected"; }
