#!/bin/bash
# chassis_control program for OpenIPMI ipmi_sim (see lanserv/bmc_chassis.c): ipmi_sim runs
#   chassis-control.sh VMDIR get power|boot ...     -> prints "parm:value" lines
#   chassis-control.sh VMDIR set power 0|1 | reset 1 | shutdown 1 | boot none|pxe|default|cdrom|bios
# Once chassis_control is set, ipmi_sim leaves ALL power handling to this script.
# VMDIR holds args.<boot> (one QEMU argument per line), boot, qemu.pid, qmp.sock, ops.log.
set -u
dir=$1; op=$2; shift 2

log() { echo "$(date +%s.%N) $*" >> "$dir/ops.log"; }

vm_pid() {
  local p
  p=$(cat "$dir/qemu.pid" 2>/dev/null) || return 1
  [ -n "$p" ] && kill -0 "$p" 2>/dev/null && echo "$p"
}

# One QMP command over the unix socket (QEMU's QMP needs the capabilities handshake first).
qmp() {
  python3 - "$dir/qmp.sock" "$1" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1]); f = s.makefile('rw')
f.readline()
for cmd in ('qmp_capabilities', sys.argv[2]):
    f.write(json.dumps({'execute': cmd}) + '\n'); f.flush()
    while 'return' not in (r := json.loads(f.readline())) and 'error' not in r: pass
PY
}

power_on() {
  vm_pid >/dev/null && return 0
  local boot file
  boot=$(cat "$dir/boot" 2>/dev/null || echo none)
  case $boot in pxe) file=args.network ;; default) file=args.disk ;; *) file=args.default ;; esac
  [ -f "$dir/$file" ] || file=args.default
  mapfile -t A < "$dir/$file"
  rm -f "$dir/qemu.pid"
  qemu-system-x86_64 "${A[@]}" -daemonize -pidfile "$dir/qemu.pid" >>"$dir/qemu.out" 2>&1 || { echo "qemu failed"; return 1; }
  log "on boot=$boot pid=$(cat "$dir/qemu.pid")"
}

power_off() {
  local p i
  p=$(vm_pid) || return 0
  kill -TERM "$p" 2>/dev/null
  for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null
  rm -f "$dir/qemu.pid"
  log "off pid=$p"
}

if [ "$op" = get ]; then
  for parm in "$@"; do
    case $parm in
      power) if vm_pid >/dev/null; then echo "power:1"; else echo "power:0"; fi ;;
      boot) echo "boot:$(cat "$dir/boot" 2>/dev/null || echo none)" ;;
      *) echo "unknown parameter $parm"; exit 1 ;;
    esac
  done
  exit 0
fi

while [ $# -ge 2 ]; do
  parm=$1; val=$2; shift 2
  case $parm in
    power) if [ "$val" = 1 ]; then power_on || exit 1; else power_off; fi ;;
    reset) if vm_pid >/dev/null; then qmp system_reset && log reset; fi ;;
    shutdown) if vm_pid >/dev/null; then qmp system_powerdown && log "shutdown (ACPI)"; fi ;;
    boot) echo "$val" > "$dir/boot"; log "boot $val" ;;
    identify) ;;
    *) echo "unknown parameter $parm"; exit 1 ;;
  esac
done
exit 0
