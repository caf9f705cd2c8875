#!/bin/sh
# rackboot node agent (busybox sh). Reads its orders from the kernel command line:
#   rackboot.report=<url> rackboot.token=<t>      phone-home endpoint + report token (Bearer)
#   rackboot.config=<url> rackboot.config_sha256=<hex>   testos config document + expected digest
#   ignition.config.url=<url>                    Flatcar/FCOS: the real Ignition fetches and applies it
#   ds=nocloud-net;s=<url>/                      cloud-init (with rackboot.image=): the NoCloud seed goes
#                                                into the state block for the installed image
#   rackboot.image=<url> rackboot.image_sha256=<hex> rackboot.disk=<dev>
#                                                install: stream the image to the disk, verify, reboot
#                                                (testos: the config document's "install" says it)
#   rackboot.inspect=<url>                       inspection boot: post the hardware to <url> and
#                                                reboot (enrolled) or power off (inspect.sh)
#   rackboot.after=reboot|poweroff|idle          what to do when done (default: reboot after an
#                                                install, idle otherwise)
# Phases reported: booting, configured, installing, installed, ready, failed.
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

say() { echo "rackboot-agent: $*"; }

# arg NAME: value of NAME= on the kernel command line (last one wins, like the kernel).
arg() {
  v=''
  for w in $(cat /proc/cmdline); do
    case "$w" in "$1="*) v=${w#*=} ;; esac
  done
  printf '%s' "$v"
}

REPORT=$(arg rackboot.report)
TOKEN=$(arg rackboot.token)
CONFIG=$(arg rackboot.config)
CONFIG_SHA=$(arg rackboot.config_sha256)
IGN_URL=$(arg ignition.config.url)
DS=$(arg ds)
IMAGE=$(arg rackboot.image)
IMAGE_SHA=$(arg rackboot.image_sha256)
DISK=$(arg rackboot.disk)
AFTER=$(arg rackboot.after)
INSPECT=$(arg rackboot.inspect)
CONFIG_DIGEST=''
CONFIG_SHA512=''
IMAGE_DIGEST=''

# json_str TEXT: TEXT as a JSON string literal (quotes, backslashes and control chars escaped).
json_str() { printf '"%s"' "$(printf '%s' "$1" | tr -d '\000-\037' | sed 's/\\/\\\\/g; s/"/\\"/g')"; }

read_first() { [ -r "$1" ] && tr -d '\n' < "$1" | tr -d '\000-\037' || true; }

# facts: hardware facts as a JSON object.
facts() {
  macs=''
  for n in /sys/class/net/*; do
    [ "$(basename "$n")" = lo ] && continue
    macs="$macs${macs:+,}$(json_str "$(read_first "$n/address")")"
  done
  disks=''
  for b in /sys/block/*; do
    [ -e "$b/size" ] || continue # no block devices at all: the glob stays literal
    name=$(basename "$b")
    case "$name" in loop*|ram*|zram*|sr*) continue ;; esac
    sectors=$(read_first "$b/size")
    size=$(( ${sectors:-0} * 512 ))
    disks="$disks${disks:+,}{\"name\":$(json_str "$name"),\"sizeBytes\":$size}"
  done
  mem=$(awk '/^MemTotal:/ {print $2 * 1024}' /proc/meminfo)
  cpus=$(grep -c '^processor' /proc/cpuinfo)
  fw=bios; sb=null
  if [ -d /sys/firmware/efi ]; then
    fw=uefi; sb=false
    # SecureBoot variable: 4 bytes of attributes, then one byte 0|1 (UEFI spec 2.10 §3.3).
    f=/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c
    # No `od -j`: efivarfs files cannot seek (no_llseek), busybox od would read from byte 0.
    [ -r "$f" ] && [ "$(od -An -tu1 -N5 "$f" | awk '{print $5}')" = 1 ] && sb=true
  fi
  printf '{"macs":[%s],"cpus":%s,"memoryBytes":%s,"disks":[%s],"firmware":"%s","secureBoot":%s,' \
    "$macs" "$cpus" "$mem" "$disks" "$fw" "$sb"
  printf '"uuid":%s,"serial":%s,"vendor":%s,"product":%s,"kernel":%s}' \
    "$(json_str "$(read_first /sys/class/dmi/id/product_uuid)")" \
    "$(json_str "$(read_first /sys/class/dmi/id/product_serial)")" \
    "$(json_str "$(read_first /sys/class/dmi/id/sys_vendor)")" \
    "$(json_str "$(read_first /sys/class/dmi/id/product_name)")" \
    "$(json_str "$(uname -r)")"
}

# report PHASE MESSAGE [with-facts]: POSTs a status report; retries a few times.
report() {
  [ -n "$REPORT" ] || { say "no rackboot.report= on the command line; not reporting $1"; return 0; }
  body="{\"phase\":\"$1\",\"message\":$(json_str "$2")"
  [ -n "$CONFIG_DIGEST" ] && body="$body,\"configDigest\":\"sha256:$CONFIG_DIGEST\""
  [ -z "$CONFIG_DIGEST" ] && [ -n "$CONFIG_SHA512" ] && body="$body,\"configDigest\":\"sha512:$CONFIG_SHA512\""
  [ -n "$IMAGE_DIGEST" ] && body="$body,\"imageDigest\":\"sha256:$IMAGE_DIGEST\""
  [ "${3:-}" = facts ] && body="$body,\"facts\":$(facts)"
  body="$body}"
  i=0
  # ~90 s: long enough for the server to restart (a crash mid-install loses nothing).
  while [ $i -lt 45 ]; do
    if wget -q -O /tmp/report.out --header "Authorization: Bearer $TOKEN" \
      --header 'Content-Type: application/json' --post-data "$body" "$REPORT"; then
      say "reported $1"; return 0
    fi
    i=$((i + 1)); sleep 2
  done
  say "report $1 failed"; return 1
}

fail() { say "FAILED: $*"; report failed "$*"; finish poweroff; }

finish() {
  sync
  case "${AFTER:-$1}" in
    reboot) say "rebooting"; reboot -f ;;
    poweroff) say "powering off"; poweroff -f ;;
    *) say "done; idling" ;;
  esac
  exit 0
}

# Network: DHCP on each interface until one gets a lease (the boot NIC is usually the first).
net_up() {
  for t in 1 2 3 4 5 6 7 8 9 10; do
    ls /sys/class/net | grep -qv '^lo$' && break
    sleep 1
  done
  ip link set lo up
  for n in $(ls /sys/class/net); do
    [ "$n" = lo ] && continue
    ip link set "$n" up
    if udhcpc -i "$n" -n -q -t 10 -T 2 -s /usr/share/udhcpc/default.script >/dev/null 2>&1; then
      say "network up on $n ($(cat "/run/ip.$n" 2>/dev/null))"; return 0
    fi
  done
  return 1
}

# fetch_config: downloads the config document and checks it against rackboot.config_sha256.
fetch_config() {
  wget -q -O /run/config.doc "$CONFIG" || fail "config fetch failed: $CONFIG"
  got=$(sha256sum /run/config.doc | cut -d' ' -f1)
  if [ -n "$CONFIG_SHA" ] && [ "$got" != "$CONFIG_SHA" ]; then
    fail "config digest mismatch: got $got, want $CONFIG_SHA"
  fi
  CONFIG_DIGEST=$got
  say "config verified sha256:$got"
  # Install orders of a rackboot.testos/v1 document (pretty-printed JSON written by rackboot):
  # "install": {"image": {"sha256": ..., "url": ...}, "disk": ...} or "install": null.
  sed -n '/^  "install": {/,/^  }/p' /run/config.doc > /run/install.json
  if [ -z "$IMAGE" ] && [ -s /run/install.json ]; then
    IMAGE=$(sed -n 's/^ *"url": *"\([^"]*\)".*/\1/p' /run/install.json | head -n 1)
    IMAGE_SHA=$(sed -n 's/^ *"sha256": *"\([0-9a-f]\{64\}\)".*/\1/p' /run/install.json | head -n 1)
    DISK=$(sed -n 's/^ *"disk": *"\(\/dev\/[^"]*\)".*/\1/p' /run/install.json | head -n 1)
    say "config says install $IMAGE to ${DISK:-the first disk}"
  fi
}

# fetch_nocloud: the NoCloud seed (meta-data, user-data, vendor-data) from the seed URL of
# ds=nocloud-net;s=<url>/, user-data checked against rackboot.config_sha256. The installed OS
# cannot fetch it (the boot's config token is spent by then), so it goes into the state block,
# as coreos-installer writes Ignition's config onto the disk it installs.
fetch_nocloud() {
  seed=${DS#*;s=}
  rm -rf /run/nocloud; mkdir -p /run/nocloud
  for f in meta-data user-data vendor-data; do
    wget -q -O "/run/nocloud/$f" "$seed$f" || fail "NoCloud seed fetch failed: $seed$f"
  done
  got=$(sha256sum /run/nocloud/user-data | cut -d' ' -f1)
  if [ -n "$CONFIG_SHA" ] && [ "$got" != "$CONFIG_SHA" ]; then
    fail "user-data digest mismatch: got $got, want $CONFIG_SHA"
  fi
  CONFIG_DIGEST=$got
  say "NoCloud seed fetched; user-data sha256:$got"
}

# install: streams the image to the disk, checks the stream digest, then reads it back.
install_image() {
  disk=${DISK:-/dev/$(ls /sys/block | grep -Ev '^(loop|ram|zram|sr)' | head -n 1)}
  [ -b "$disk" ] || fail "install disk $disk not found"
  report installing "writing $IMAGE to $disk"
  # One pass: the stream goes to the hash (through a fifo) and to the disk (dd, fsync'd); then the
  # device buffers are flushed and dropped so the read-back really comes from the disk.
  # A broken stream (server restarted mid-download) is retried: the digest decides, not wget.
  n=0
  while :; do
    rm -f /run/hash.fifo /run/count.fifo; mkfifo /run/hash.fifo /run/count.fifo
    sha256sum < /run/hash.fifo > /run/hash.out &
    wc -c < /run/count.fifo > /run/count.out &
    wget -q -O - "$IMAGE" | tee /run/hash.fifo /run/count.fifo | dd of="$disk" bs=1M conv=fsync 2> /run/dd.out
    wait
    got=$(cut -d' ' -f1 /run/hash.out)
    [ "$got" = "$IMAGE_SHA" ] && break
    n=$((n + 1))
    [ $n -lt 40 ] || fail "image stream digest mismatch: got $got, want $IMAGE_SHA"
    say "image stream digest mismatch (attempt $n): retrying in 3 s"; sleep 3
  done
  size=$(tr -d ' ' < /run/count.out)
  sync
  blockdev --flushbufs "$disk"
  echo 3 > /proc/sys/vm/drop_caches
  back=$(head -c "$size" "$disk" | sha256sum | cut -d' ' -f1)
  [ "$back" = "$IMAGE_SHA" ] || fail "read-back digest mismatch on $disk: got $back"
  IMAGE_DIGEST=$got
  say "image sha256:$got written to $disk"
  write_state "$disk" "$size"
}

# write_state DISK OFFSET: the installed OS's state block (boot-assets/image/README.md), a tar
# right after the image so the image bytes stay what their digest says: it starts at the first
# 512-byte sector boundary at or after the image's end (rounding down would overwrite its tail).
write_state() {
  rm -rf /run/st; mkdir -p /run/st/state
  printf '%s\n' "$REPORT" > /run/st/state/report
  printf '%s\n' "$TOKEN" > /run/st/state/token
  [ -f /run/config.doc ] && cp /run/config.doc /run/st/state/config.doc
  [ -d /run/nocloud ] && cp -r /run/nocloud /run/st/state/nocloud
  printf '%s\n' "$CONFIG_DIGEST" > /run/st/state/config.sha256
  printf '%s\n' "$IMAGE_DIGEST" > /run/st/state/image.sha256
  ( cd /run/st && tar -cf - state ) | dd of="$1" bs=512 seek=$((($2 + 511) / 512)) conv=notrunc 2>/dev/null \
    || fail "cannot write the state block after the image on $1"
  sync
}

# run_ignition: the real Ignition against ignition.config.url, applied to the disk at /sysroot.
run_ignition() {
  disk=${DISK:-/dev/vda}
  mkdir -p /sysroot /run/ignition
  mount "$disk" /sysroot || fail "cannot mount $disk at /sysroot for Ignition"
  for stage in fetch disks mount files umount; do
    say "ignition stage $stage"
    ignition --root=/sysroot --platform=metal --stage=$stage --log-to-stdout > "/run/ignition-$stage.log" 2>&1
    rc=$?
    cat "/run/ignition-$stage.log"
    [ $rc = 0 ] || { umount /sysroot 2>/dev/null; fail "ignition stage $stage exited $rc"; }
    # Ignition logs the SHA-512 of the raw config bytes it parsed; rackboot compares it with the
    # version it served (the fetch itself used the one-time token, so we cannot fetch again).
    [ $stage = fetch ] && CONFIG_SHA512=$(sed -n 's/.*parsing config with SHA512: \([0-9a-f]\{128\}\).*/\1/p' /run/ignition-fetch.log | tail -n 1)
  done
  sync
  umount /sysroot
}

say "starting ($(uname -r))"
net_up || fail "no DHCP lease on any interface"
if [ -n "$INSPECT" ]; then
  . /bin/rackboot-inspect
  run_inspection "$INSPECT"
fi
report booting "test OS up" facts
if [ -n "$IGN_URL" ]; then
  [ -x /usr/bin/ignition ] || fail "ignition.config.url given but no Ignition in the initramfs"
  [ -n "$IMAGE" ] && install_image
  run_ignition
  report "$([ -n "$IMAGE" ] && echo installed || echo configured)" "ignition applied"
elif [ -n "$IMAGE" ] && [ "${DS#nocloud*;s=}" != "$DS" ]; then
  fetch_nocloud
  install_image
  report installed "image installed; NoCloud seed in the state block"
elif [ -n "$CONFIG" ]; then
  fetch_config
  report configured "config applied"
  [ -n "$IMAGE" ] && { install_image; report installed "image installed"; }
else
  say "no config URL on the command line"
fi
if [ -n "$IMAGE" ]; then finish reboot; fi
report ready "node ready"
finish idle
