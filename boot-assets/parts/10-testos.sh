#!/usr/bin/env bash
# Test OS: Debian's kernel + two initramfs parts (extracted from .debs, never installed):
#   testos-vmlinuz        kernel of the linux-image-6.x-amd64 that linux-image-amd64 depends on
#   testos-initrd.img     busybox-static, virtio/ext4 modules, the rackboot node agent
#   testos-ignition.img   Debian's real Ignition binary + useradd and their shared libraries;
#                         appended as a second initrd by Flatcar/FCOS profiles (iPXE concatenates)
#   testos-inspect.img    ipmitool + its libraries and the in-band IPMI modules (KCS/SMIC/BT), and
#                         rackboot-lldp (testos/lldp.c, built with the host's gcc): appended by
#                         inspection boots so the image reads the BMC's LAN address and the NICs'
#                         LLDP neighbours
# Env from build.sh: OUT CACHE IF_MISSING.
set -euo pipefail
# Fixed mtimes, sorted names and --reproducible inode numbers: the same inputs give the same
# digests, so a rebuild does not look like a new OS (drift) to machines already installed.
here=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

if [ "$IF_MISSING" = 1 ] && [ -f "$OUT/testos-vmlinuz" ] && [ -f "$OUT/testos-initrd.img" ] && [ -f "$OUT/testos-ignition.img" ] \
  && [ -f "$OUT/testos-inspect.img" ] \
  && [ -z "$(find "$here/testos" "$0" -newer "$OUT/testos-initrd.img" -print -quit)" ]; then
  exit 0
fi


# The versioned kernel package the linux-image-amd64 metapackage points at today.
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$kpkg" ] || { apt-get update -q >&2; kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}'); }
[ -n "$kpkg" ] || { log "cannot resolve linux-image-amd64"; exit 1; }
log "test OS kernel ($kpkg)"
kroot=$(fetch_deb "$kpkg")
kver=$(ls "$kroot/lib/modules" | head -n 1)
bbroot=$(fetch_deb busybox-static)
bb="$bbroot/bin/busybox"
install -m 0644 "$kroot/boot/vmlinuz-$kver" "$OUT/testos-vmlinuz"

stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT

# --- testos-initrd.img ---
r="$stage/base"
mkdir -p "$r"/{bin,sbin,etc,proc,sys,dev,run,tmp,mnt,sysroot,usr/bin,usr/sbin,usr/share/udhcpc,lib/modules/$kver}
install -m 0755 "$bb" "$r/bin/busybox"
for app in $("$bb" --list); do [ "$app" = busybox ] || ln -sf busybox "$r/bin/$app"; done
# Modules and everything they depend on (modules.dep from busybox depmod over the extracted tree).
[ -f "$kroot/lib/modules/$kver/modules.dep" ] || "$bb" depmod -b "$kroot" "$kver"
want="virtio_pci virtio_net virtio_blk ext4 crc32c_generic efivarfs"
declare -A seen=()
add_mod() {
  local name=$1 line path dep
  line=$(grep -E "(^|/)$name\.ko(\.[a-z]+)?:" "$kroot/lib/modules/$kver/modules.dep" | head -n 1) || true
  [ -n "$line" ] || { log "module $name not found (built in?)"; return 0; }
  path=${line%%:*}
  [ -z "${seen[$path]:-}" ] || return 0
  seen[$path]=1
  mkdir -p "$r/lib/modules/$kver/$(dirname "$path")"
  cp "$kroot/lib/modules/$kver/$path" "$r/lib/modules/$kver/$path"
  for dep in ${line#*:}; do add_mod "$(basename "${dep%%.ko*}")"; done
}
for m in $want; do add_mod "$m"; done
"$bb" depmod -b "$r" "$kver"
install -m 0755 "$here/testos/init" "$r/init"
install -m 0755 "$here/testos/agent.sh" "$r/bin/rackboot-agent"
install -m 0644 "$here/testos/inspect.sh" "$r/bin/rackboot-inspect"
install -m 0755 "$here/testos/udhcpc.script" "$r/usr/share/udhcpc/default.script"
printf 'rackboot-testos\n' > "$r/etc/hostname"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$r/etc/passwd"
printf 'root:x:0:\n' > "$r/etc/group"
( cd "$r" && find . -exec touch -h -t 202001010000 {} + && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 --reproducible | gzip -9n ) > "$OUT/testos-initrd.img.tmp"
mv "$OUT/testos-initrd.img.tmp" "$OUT/testos-initrd.img"

# --- testos-ignition.img ---
log "test OS Ignition initrd"
igroot=$(fetch_deb ignition)
pwroot=$(fetch_deb passwd)
r="$stage/ign"
mkdir -p "$r/usr/bin" "$r/usr/sbin" "$r/lib64" "$r/lib/x86_64-linux-gnu" "$r/etc/default"
ig=$(find "$igroot" -type f -name ignition -perm -u+x | head -n 1)
install -m 0755 "$ig" "$r/usr/bin/ignition"
install -m 0755 "$pwroot/usr/sbin/useradd" "$r/usr/sbin/useradd"
install -m 0755 "$pwroot/usr/sbin/usermod" "$r/usr/sbin/usermod"
# Ignition (Debian build) relabels written files with setfiles whenever the target has an
# /etc/selinux/config. The test OS targets carry no SELinux policy, so this setfiles only drains
# the path list Ignition pipes to it and logs what it would have labelled.
cat > "$r/usr/sbin/setfiles" <<'SH'
#!/bin/sh
n=$(tr '\0' '\n' | grep -c .)
echo "setfiles (rackboot test OS): no SELinux policy on the target; $n path patterns left unlabelled" >&2
exit 0
SH
chmod 0755 "$r/usr/sbin/setfiles"
[ -f "$pwroot/etc/default/useradd" ] && install -m 0644 "$pwroot/etc/default/useradd" "$r/etc/default/useradd"
# Shared libraries: resolved with the host's loader (same Debian release as the .debs).
for bin in "$r/usr/bin/ignition" "$r/usr/sbin/useradd" "$r/usr/sbin/usermod"; do
  ldd "$bin" | awk '/=> \// {print $3} /^\t\/lib64/ {print $1}' 
done | sort -u | while read -r lib; do
  case "$lib" in
    /lib64/*) cp -L "$lib" "$r/lib64/" ;;
    *) cp -L "$lib" "$r/lib/x86_64-linux-gnu/" ;;
  esac
done
( cd "$r" && find . -exec touch -h -t 202001010000 {} + && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 --reproducible | gzip -6n ) > "$OUT/testos-ignition.img.tmp"
mv "$OUT/testos-ignition.img.tmp" "$OUT/testos-ignition.img"

# --- testos-inspect.img ---
# Modules go to /lib/ipmi (insmod'ed in order by inspect.sh), not under /lib/modules: this cpio
# is unpacked over the base one and must not replace its modules.dep.
log "test OS inspection initrd (ipmitool, IPMI modules, rackboot-lldp)"
iproot=$(fetch_deb ipmitool)
r="$stage/inspect"
mkdir -p "$r/usr/bin" "$r/lib64" "$r/lib/x86_64-linux-gnu" "$r/lib/ipmi"
install -m 0755 "$iproot/usr/bin/ipmitool" "$r/usr/bin/ipmitool"
for m in ipmi_msghandler ipmi_devintf ipmi_si; do
  install -m 0644 "$(find "$kroot/lib/modules/$kver" -name "$m.ko" | head -n 1)" "$r/lib/ipmi/$m.ko"
done
# rackboot-lldp (testos/lldp.c, read by inspect.sh): the LLDP neighbour of each NIC. Compiled here
# with the host's gcc, static (it needs nothing from the image), stripped so the bytes do not
# depend on the build directory.
gcc -std=c11 -O2 -Wall -Wextra -Werror -static -s -o "$r/usr/bin/rackboot-lldp" "$here/testos/lldp.c"
ldd "$r/usr/bin/ipmitool" | awk '/=> \// {print $3} /^\t\/lib64/ {print $1}' | sort -u | while read -r lib; do
  case "$lib" in
    /lib64/*) cp -L "$lib" "$r/lib64/" ;;
    *) cp -L "$lib" "$r/lib/x86_64-linux-gnu/" ;;
  esac
done
( cd "$r" && find . -exec touch -h -t 202001010000 {} + && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 --reproducible | gzip -6n ) > "$OUT/testos-inspect.img.tmp"
mv "$OUT/testos-inspect.img.tmp" "$OUT/testos-inspect.img"
log "test OS built ($kver)"
