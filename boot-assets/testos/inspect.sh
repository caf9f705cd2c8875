# rackboot inspection (sourced by the node agent when the kernel command line has
#   rackboot.inspect=<url> rackboot.token=<t>): collects the hardware as JSON, posts it to <url>
# (Bearer <t>) and does what the answer's "next" says (reboot: rackboot enrolled the machine and
# its next network boot installs it; else rackboot.after, default poweroff).
# Uses the agent's arg, json_str, read_first, say and finish.

# num TEXT: TEXT if it is a non-negative integer, else null.
num() { case "$1" in ''|*[!0-9]*) printf 'null' ;; *) printf '%s' "$1" ;; esac; }

# inspect_memory: installed memory in bytes: online memory blocks x block size (MemTotal leaves
# out what the kernel reserved, so a 64 GiB machine would say ~62.8); MemTotal when there are none.
inspect_memory() {
  bs=$(read_first /sys/devices/system/memory/block_size_bytes)
  n=0
  for b in /sys/devices/system/memory/memory*; do
    [ "$(read_first "$b/online")" = 1 ] && n=$((n + 1))
  done
  if [ -n "$bs" ] && [ $n -gt 0 ]; then echo $((0x$bs * n)); else awk '/^MemTotal:/ {print $2 * 1024}' /proc/meminfo; fi
}

inspect_disks() {
  out=''
  for b in /sys/block/*; do
    [ -e "$b/size" ] || continue
    name=$(basename "$b")
    case "$name" in loop*|ram*|zram*|sr*|dm-*|md*) continue ;; esac
    sectors=$(read_first "$b/size")
    model=$(read_first "$b/device/model")
    serial=$(read_first "$b/serial"); [ -n "$serial" ] || serial=$(read_first "$b/device/serial")
    rot=$(read_first "$b/queue/rotational")
    case "$rot" in 1) rot=true ;; 0) rot=false ;; *) rot=null ;; esac
    out="$out${out:+,}{\"name\":$(json_str "$name"),\"sizeBytes\":$(( ${sectors:-0} * 512 )),\"model\":$(json_str "$model"),\"serial\":$(json_str "$serial"),\"rotational\":$rot}"
  done
  printf '[%s]' "$out"
}

# inspect_nics: physical NICs only (a device link), with driver, carrier, speed and the LLDP
# neighbour (after lldp_wait).
inspect_nics() {
  out=''
  for n in /sys/class/net/*; do
    [ -e "$n/device" ] || continue
    name=$(basename "$n")
    drv=$(basename "$(readlink "$n/device/driver" 2>/dev/null)" 2>/dev/null)
    case "$(read_first "$n/carrier" 2>/dev/null)" in 1) link=true ;; 0) link=false ;; *) link=null ;; esac
    speed=$(read_first "$n/speed" 2>/dev/null)
    case "$speed" in -*) speed='' ;; esac
    out="$out${out:+,}{\"name\":$(json_str "$name"),\"mac\":$(json_str "$(read_first "$n/address")"),\"driver\":$(json_str "$drv"),\"link\":$link,\"speedMbps\":$(num "$speed"),\"lldp\":$(lldp_of "$name")}"
  done
  printf '[%s]' "$out"
}

# LLDP: rackboot-lldp (testos-inspect.img) listens on every physical NIC at once, brought up for
# it, in the background while the rest is inspected, for at most rackboot.lldp_wait seconds
# (default 5, at most 600; 0: no listening). It stops as soon as every NIC with link has heard a
# neighbour. Switches send every 30 s by default: rackboot.lldp_wait=31 hears every one of them.
lldp_start() {
  LLDP_PID=''
  rm -f /run/lldp.out
  w=$(arg rackboot.lldp_wait)
  case "$w" in ''|*[!0-9]*) w=5 ;; esac
  [ "$w" -le 600 ] || w=600
  [ "$w" -gt 0 ] && command -v rackboot-lldp >/dev/null 2>&1 || return 0
  nics=''
  for n in /sys/class/net/*; do [ -e "$n/device" ] && nics="$nics $(basename "$n")"; done
  [ -n "$nics" ] || return 0
  for n in $nics; do ip link set "$n" up 2>/dev/null; done
  # shellcheck disable=SC2086 # one argument per NIC
  rackboot-lldp -w "$w" $nics > /run/lldp.out &
  LLDP_PID=$!
}

# lldp_wait: until the listener is done.
lldp_wait() { [ -z "${LLDP_PID:-}" ] || wait "$LLDP_PID"; LLDP_PID=''; }

# lldp_of NIC: the neighbour heard on NIC (a JSON object), else null.
lldp_of() {
  l=$(awk -F '\t' -v n="$1" '$1 == n { print $2; exit }' /run/lldp.out 2>/dev/null)
  printf '%s' "${l:-null}"
}

# inspect_bmc: the BMC's LAN address through in-band IPMI: /dev/ipmi0 and ipmitool come with
# testos-inspect.img (its modules in /lib/ipmi, loaded in dependency order). No BMC: null.
inspect_bmc() {
  if [ -d /lib/ipmi ]; then
    for m in ipmi_msghandler ipmi_devintf ipmi_si; do insmod "/lib/ipmi/$m.ko" 2>/dev/null; done
    n=0
    while [ ! -c /dev/ipmi0 ] && [ $n -lt 5 ] && grep -q "^ipmi_si " /proc/modules; do sleep 1; n=$((n + 1)); done
  fi
  if [ -c /dev/ipmi0 ] && command -v ipmitool >/dev/null 2>&1; then
    for ch in 1 2 8; do
      ipmitool lan print $ch > /run/lan.$ch 2>/dev/null || continue
      ip=$(sed -n 's/^IP Address *: *\([0-9.]*\)$/\1/p' /run/lan.$ch)
      mac=$(sed -n 's/^MAC Address *: *\([0-9a-f:]*\)$/\1/p' /run/lan.$ch)
      if [ -n "$ip" ] && [ "$ip" != 0.0.0.0 ]; then
        printf '{"address":%s,"mac":%s,"channel":%s}' "$(json_str "$ip")" "$(json_str "$mac")" "$ch"; return 0
      fi
    done
  fi
  printf 'null'
}

inspection() {
  lldp_start
  bmc=$(inspect_bmc)
  fw=bios; sb=null
  if [ -d /sys/firmware/efi ]; then
    fw=uefi; sb=false
    f=/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c
    [ -r "$f" ] && [ "$(od -An -tu1 -N5 "$f" | awk '{print $5}')" = 1 ] && sb=true
  fi
  printf '{"version":1,"system":{"uuid":%s,"serial":%s,"vendor":%s,"product":%s},' \
    "$(json_str "$(read_first /sys/class/dmi/id/product_uuid)")" \
    "$(json_str "$(read_first /sys/class/dmi/id/product_serial)")" \
    "$(json_str "$(read_first /sys/class/dmi/id/sys_vendor)")" \
    "$(json_str "$(read_first /sys/class/dmi/id/product_name)")"
  printf '"cpu":{"count":%s,"model":%s},"memory":{"bytes":%s},"disks":%s,' \
    "$(grep -c '^processor' /proc/cpuinfo)" \
    "$(json_str "$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo | head -n 1)")" \
    "$(inspect_memory)" "$(inspect_disks)"
  lldp_wait
  printf '"nics":%s,"firmware":{"mode":"%s","secureBoot":%s},"bmc":%s,"kernel":%s}' "$(inspect_nics)" "$fw" "$sb" "$bmc" "$(json_str "$(uname -r)")"
}

# run_inspection URL: posts the report (retrying ~90 s) and acts on the answer.
run_inspection() {
  inspection > /run/inspection.json
  say "inspection: $(cat /run/inspection.json)"
  i=0
  while [ $i -lt 45 ]; do
    if wget -q -O /run/inspection.out --header "Authorization: Bearer $TOKEN" \
      --header 'Content-Type: application/json' --post-file /run/inspection.json "$1"; then
      say "inspection reported: $(cat /run/inspection.out)"
      # {"next":"reboot"}: enrolled; the next network boot installs the machine.
      grep -q '"next":"reboot"' /run/inspection.out && finish reboot
      finish "${AFTER:-poweroff}"
    fi
    i=$((i + 1)); sleep 2
  done
  say "inspection report failed"
  finish "${AFTER:-poweroff}"
}
