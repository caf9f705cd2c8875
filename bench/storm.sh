#!/usr/bin/env bash
# Boot storm: N simulated machines boot at once against rackboot (DHCP + TFTP + HTTP), then the
# same storm against dnsmasq (DHCP + TFTP) + nginx (HTTP) serving the same files.
#
# Topology (created here, removed on exit): netns $SRV with sv0 198.18.0.1/24 (the stack under
# test); netns $CLI with cv0 198.18.0.2/24, the rack's relay and its machines: 198.19.0.1 is the
# relay address (giaddr) and the whole pool 198.19.0.0/16 is a `local` route on lo, so every
# machine sends from the address DHCP gave it, without an interface of its own. The server
# routes 198.19.0.0/16 via 198.18.0.2, as to a routed rack: its clients are not on-link, so
# rackboot binds boot requests to machines by its leases (full mode), not by ARP.
# The server's egress (the payload direction) is shaped: tbf at $RATE, optional netem loss.
#
# Client (bench/storm/main.ts, one process pinned to $CLICORE with the machines spread over
# $WORKERS worker threads, so one busy event loop does not stall every machine; servers on
# $SRVCORE; client and servers at nice $NICE alike, so other work on a shared machine takes less
# of the cores than the run does): per
# machine DORA as firmware (relayed, arch 7), TFTP ipxe.efi (tsize, blksize 1468, windowsize 4
# as edk2), DORA as iPXE (user class iPXE), HTTP script, kernel, initrd (one kept-alive
# connection), config, report. Machines are registered through the API (inventory import).
#
# Usage: sudo bash bench/storm.sh [| tee bench/results/storm.txt]
#   COUNT=1000 RATE=1gbit (or 10gbit, none) LOSS=0 (percent) ARRIVAL=all|ramp RAMP=30
#   STACKS="rackboot peer" TIMEOUT=120 (seconds per storm; every machine not done by then fails)
#   WORKERS=8 (client worker threads) NICE=-5 (niceness of client and servers, both stacks)
#   RB_DHCP="maxQueueMs: 3000, shedDiscoverMs: 2500" (extra dhcp settings for rackboot, for
#   experiments; printed in the header; the defaults are what the recorded runs measure)
#   RB_NODE_ARGS="…" / CLIENT_NODE_ARGS="…" (node options for the rackboot / storm client process) PROFILE=1 (V8 CPU profile of
#   rackboot's main thread, summarised by bench/storm/cpu-profile.ts) KEEP_WORK=1 (keep the work
#   dir with logs and profiles; its path is printed)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
source "$ROOT/bench/dhcp/netns.sh"
COUNT=${COUNT:-1000}
RATE=${RATE:-1gbit}
LOSS=${LOSS:-0}
ARRIVAL=${ARRIVAL:-all}
RAMP=${RAMP:-30}
TIMEOUT=${TIMEOUT:-120}
STACKS=${STACKS:-rackboot peer}
SRVCORE=${SRVCORE:-1}
CLICORE=${CLICORE:-0}
WORKERS=${WORKERS:-8}
NICE=${NICE:--5}
ID=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
SRV=rb-storm-$ID-s
CLI=rb-storm-$ID-c
WORK=$(mktemp -d /tmp/rb-storm-XXXXXX)
chmod 755 "$WORK"
PIDS=()

stop_pids() {
  for pid in "$@"; do kill "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2>/dev/null || true
  done
}
cleanup() {
  stop_pids "${PIDS[@]}"
  # Forked children (nginx workers, in.tftpd per transfer) and clients that outlived a timeout.
  bench_netns_purge
  if [[ -n ${KEEP_WORK:-} ]]; then echo "# work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

for tool in dnsmasq nginx ip tc taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool (bash scripts/setup.sh test installs it)" >&2; exit 1; }
done
for f in ipxe.efi testos-vmlinuz testos-initrd.img manifest.json; do
  [ -f "$ROOT/boot-assets/build/$f" ] || { echo "boot-assets/build/$f missing (bash scripts/setup.sh test)" >&2; exit 1; }
done
if [ ! -f "$ROOT/dist/cli.js" ] || [ -n "$(cd "$ROOT" && find src tsconfig.json tsconfig.build.json -newer dist/cli.js -print -quit)" ]; then
  (cd "$ROOT" && npx tsc -p tsconfig.build.json) >&2 || echo "warning: tsc reported errors (dist/ emitted anyway)" >&2
fi

# --- topology --------------------------------------------------------------------------------
ip netns add "$SRV"
ip netns add "$CLI"
for ns in "$SRV" "$CLI"; do
  ip -n "$ns" link set lo up
  ip netns exec "$ns" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
ip -n "$SRV" link add sv0 type veth peer name cv0
ip -n "$SRV" link set cv0 netns "$CLI"
ip -n "$SRV" addr add 198.18.0.1/24 dev sv0
ip -n "$CLI" addr add 198.18.0.2/24 dev cv0
ip -n "$SRV" link set sv0 up
ip -n "$CLI" link set cv0 up
ip -n "$CLI" addr add 198.19.0.1/32 dev lo
ip -n "$CLI" route add local 198.19.0.0/16 dev lo
ip -n "$SRV" route add 198.19.0.0/16 via 198.18.0.2
ip netns exec "$CLI" sysctl -qw net.ipv4.ip_local_port_range="10000 65000"
if [[ $RATE != none ]]; then
  # tbf needs a bucket of at least one timer tick of traffic: 10 ms of the rate.
  burst=$(awk -v r="$RATE" 'BEGIN { n = r + 0; u = tolower(r); m = (u ~ /gbit/) ? 1e9 : (u ~ /mbit/) ? 1e6 : 1e3; printf "%d", n * m / 8 / 100 }')
  tc -n "$SRV" qdisc add dev sv0 root handle 1: tbf rate "$RATE" burst "$burst" latency 50ms
  if [[ $LOSS != 0 ]]; then tc -n "$SRV" qdisc add dev sv0 parent 1:1 handle 10: netem loss "$LOSS%" limit 100000; fi
elif [[ $LOSS != 0 ]]; then
  tc -n "$SRV" qdisc add dev sv0 root netem loss "$LOSS%" limit 100000
fi

# --- files: the same bytes for both stacks -----------------------------------------------------
mkdir -p "$WORK/data" "$WORK/peer"
cp -al "$ROOT/boot-assets/build" "$WORK/assets" 2>/dev/null || cp -a "$ROOT/boot-assets/build" "$WORK/assets"
for f in ipxe.efi testos-vmlinuz testos-initrd.img; do ln "$WORK/assets/$f" "$WORK/peer/$f" 2>/dev/null || cp "$WORK/assets/$f" "$WORK/peer/$f"; done
seq 0 $((COUNT - 1)) | awk '{ printf "02:5c:%02x:%02x:%02x:%02x\n", int($1 / 16777216) % 256, int($1 / 65536) % 256, int($1 / 256) % 256, $1 % 256 }' >"$WORK/macs.txt"

# --- rackboot ----------------------------------------------------------------------------------
cat >"$WORK/rackboot.yaml" <<Y
dataDir: $WORK/data
assetsDir: $WORK/assets
logLevel: info
http: { host: 198.18.0.1, port: 8080, publicUrl: "http://198.18.0.1:8080" }
api: { host: 198.18.0.1, port: 8443, tls: { names: [198.18.0.1] } }
tftp: { host: 198.18.0.1, maxTransfers: $((COUNT + 100)) }
dhcp:
  mode: full
  interfaces: [sv0]
  serverAddress: 198.18.0.1
$(if [[ -n ${RB_DHCP:-} ]]; then tr ',' '\n' <<<"$RB_DHCP" | sed 's/^ */  /'; fi)
  subnets:
    - { cidr: 198.18.0.0/24, poolStart: 198.18.0.100, poolEnd: 198.18.0.200, leaseSeconds: 3600 }
    - { cidr: 198.19.0.0/16, poolStart: 198.19.1.1, poolEnd: 198.19.250.250, leaseSeconds: 3600 }
Y
{
  echo "profiles:"
  echo "  - { name: storm, spec: { description: boot storm, os: testos, boot: network } }"
  echo "machines:"
  awk '{ printf "  - { name: storm-%d, macs: [\"%s\"], profile: storm }\n", NR, $1 }' "$WORK/macs.txt"
} >"$WORK/inventory.yaml"

# --- peer stack: dnsmasq (DHCP + TFTP) + nginx (HTTP), the same files --------------------------
cat >"$WORK/peer/boot.ipxe" <<S
#!ipxe
kernel --name vmlinuz http://198.18.0.1:8080/testos-vmlinuz initrd=initrd console=ttyS0 rackboot.config=http://198.18.0.1:8080/config.json rackboot.report=http://198.18.0.1:8080/api/v1/report rackboot.token=peer || goto failed
initrd --name initrd http://198.18.0.1:8080/testos-initrd.img || goto failed
boot || goto failed
:failed
exit 1
S
echo '{"kind":"rackboot.testos/v1","hostname":"peer","files":[]}' >"$WORK/peer/config.json"
cat >"$WORK/nginx.conf" <<N
daemon off;
user root;
worker_processes 1;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 10000;
  client_body_temp_path $WORK/nginx-body;
  proxy_temp_path $WORK/nginx-proxy;
  fastcgi_temp_path $WORK/nginx-fcgi;
  uwsgi_temp_path $WORK/nginx-uwsgi;
  scgi_temp_path $WORK/nginx-scgi;
  types { application/octet-stream efi; text/plain ipxe; application/json json; }
  server {
    listen 198.18.0.1:8080;
    root $WORK/peer;
    location = /api/v1/report { return 200 "{}"; }
  }
}
N

# Peak RSS (VmHWM, KiB) summed over PIDs.
hwm() { local t=0 p; for p in "$@"; do t=$((t + $(awk '/VmHWM/ { print $2 }' /proc/"$p"/status 2>/dev/null || echo 0))); done; echo "$t"; }
# Sent/dropped packets on the shaped interface, to show the qdisc's own drops.
qstats() { tc -n "$SRV" -s qdisc show dev sv0 | awk '/Sent/ { s = $2; p = $4 } /dropped/ { gsub(",", "", $7); d = $7 } END { printf "shaped link so far (both stacks): %s bytes, %s packets", s, p }'; }

# Send queues of the HTTP listener's connections, sampled every 2 s while a storm runs: bytes a
# server has handed to the kernel that the client has not yet acknowledged.
sample_sendq() {
  while :; do
    ip netns exec "$SRV" ss -tnH state established '( sport = :8080 )' 2>/dev/null |
      awk -v t="$EPOCHREALTIME" '{ n++; if ($2 > 0) busy++; if ($2 > m) m = $2; s += $2 } END { printf "%s %d %d %d %d\n", t, n, busy, m, s }'
    sleep 2
  done
}
sendq_summary() {
  awk '{ if ($4 > m) m = $4; if ($5 > s) s = $5; if ($2 > c) c = $2 } END { printf "HTTP send queues (every 2 s): peak %d connections, largest queue on one connection %d KiB, largest total %d KiB\n", c, m / 1024, s / 1024 }' "$1"
}

storm() {
  local label=$1
  sample_sendq >"$WORK/$label.sendq" &
  local sampler=$!
  timeout $((TIMEOUT + 90)) ip netns exec "$CLI" nice -n "$NICE" taskset -c "$CLICORE" node ${CLIENT_NODE_ARGS:-} --import tsx "$ROOT/bench/storm/main.ts" \
    --label "$label" --macs "$WORK/macs.txt" --count "$COUNT" --arrival "$ARRIVAL" --ramp-seconds "$RAMP" \
    --rate "$RATE" --timeout "$TIMEOUT" --workers "$WORKERS" --json "$WORK/$label.json" || echo "storm client for $label failed (exit $?)"
  kill "$sampler" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  sendq_summary "$WORK/$label.sendq"
}

echo "# boot storm $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); rackboot $(cd "$ROOT" && git rev-parse --short HEAD)+worktree"
echo "# $COUNT machines, link $RATE (tbf on the server's egress), loss ${LOSS}%, arrival $ARRIVAL; servers on core $SRVCORE, client on core $CLICORE ($WORKERS worker threads), nice $NICE${RB_DHCP:+; rackboot dhcp settings: $RB_DHCP}"
echo "# payload per machine: ipxe.efi $(stat -c %s "$WORK/peer/ipxe.efi") + testos-vmlinuz $(stat -c %s "$WORK/peer/testos-vmlinuz") + testos-initrd.img $(stat -c %s "$WORK/peer/testos-initrd.img") bytes"
echo

for stack in $STACKS; do
  case $stack in
  rackboot)
    if [[ -n ${PROFILE:-} ]]; then RB_NODE_ARGS="${RB_NODE_ARGS:-} --cpu-prof --cpu-prof-dir=$WORK/prof"; fi
    (cd "$ROOT" && RACKBOOT_LOG_JSON=1 exec ip netns exec "$SRV" nice -n "$NICE" taskset -c "$SRVCORE" node ${RB_NODE_ARGS:-} dist/cli.js serve --config "$WORK/rackboot.yaml") >"$WORK/rackboot.log" 2>&1 &
    rb=$!
    PIDS+=("$rb")
    for _ in $(seq 1 120); do grep -q 'rackboot serving' "$WORK/rackboot.log" && break; sleep 0.5; done
    grep -q 'rackboot serving' "$WORK/rackboot.log" || { echo "rackboot did not start:" >&2; tail -20 "$WORK/rackboot.log" >&2; exit 1; }
    t0=$EPOCHREALTIME
    (cd "$ROOT" && ip netns exec "$SRV" env RACKBOOT_URL=https://198.18.0.1:8443 RACKBOOT_CA="$WORK/data/tls/ca.crt" \
      RACKBOOT_TOKEN="$(cat "$WORK/data/admin.token")" node bin/rackboot.js inventory import "$WORK/inventory.yaml" >"$WORK/import.out" 2>&1) ||
      { echo "inventory import failed:" >&2; tail -5 "$WORK/import.out" >&2; exit 1; }
    echo "registered $COUNT machines through the API (inventory import) in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s"
    storm rackboot
    echo "rackboot peak RSS $(($(hwm "$rb") / 1024)) MiB; server-side TFTP retransmissions $(grep -o '"retransmits":[0-9]*' "$WORK/rackboot.log" | awk -F: '{ n += $2 } END { print n + 0 }'); $(qstats)"
    echo "rackboot warnings/errors: $(grep -c '"level":[45]0' "$WORK/rackboot.log" || true)"
    grep '"level":[45]0' "$WORK/rackboot.log" | grep -o '"msg":"[^"]*"' | sort | uniq -c | sort -rn | head -5 || true
    # CPU seconds per thread (the native TFTP thread and libuv's pool share the server's core with
    # the JavaScript thread, which a V8 profile alone does not show).
    echo "rackboot CPU by thread (s): $(for t in /proc/"$rb"/task/*; do awk -v tck="$(getconf CLK_TCK)" -v main="$([[ ${t##*/} == "$rb" ]] && echo 1)" '{ c = $0; sub(/^[^(]*\(/, "", c); n = c; sub(/\).*$/, "", n); if (main) n = "main-thread"; gsub(/ /, "_", n); sub(/^[^)]*\) /, "", c); split(c, f, " "); printf "%s %.1f\n", n, (f[12] + f[13]) / tck }' "$t/stat" 2>/dev/null; done | awk '{ s[$1] += $2 } END { for (k in s) if (s[k] >= 0.1) printf "%s %.1f, ", k, s[k] }' | sed 's/, $//')"
    stop_pids "$rb"
    # The DHCP server's own counters at shutdown: drops for queueing (stale, shedDiscovers) and the
    # unknown-MAC DISCOVER rate limit (discoverLimited), to tell server drops from client delays.
    grep '"msg":"dhcp stopped"' "$WORK/rackboot.log" | node -e '
      const l = JSON.parse(require("fs").readFileSync(0, "utf8").trim().split("\n").pop() || "{}");
      const k = ["received", "replied", "stale", "shedDiscovers", "discoverLimited", "ignored", "errors"];
      console.log(`rackboot DHCP at shutdown: ${k.map((x) => `${x} ${l[x] ?? "?"}`).join(", ")}`);
    ' || true
    if [[ -n ${PROFILE:-} ]]; then
      for f in "$WORK"/prof/*.cpuprofile; do [[ -f $f ]] && (cd "$ROOT" && node --import tsx bench/storm/cpu-profile.ts "$f" 15); done
    fi
    ;;
  peer)
    ip netns exec "$SRV" nice -n "$NICE" taskset -c "$SRVCORE" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --user=root --interface=sv0 \
      --no-ping --quiet-dhcp --dhcp-range=198.19.1.1,198.19.250.250,255.255.0.0,1h --dhcp-lease-max=200000 \
      --dhcp-leasefile="$WORK/dnsmasq.leases" --dhcp-userclass=set:ipxe,iPXE \
      --dhcp-boot=tag:!ipxe,ipxe.efi,,198.18.0.1 --dhcp-boot=tag:ipxe,http://198.18.0.1:8080/boot.ipxe \
      --enable-tftp --tftp-root="$WORK/peer" --tftp-max=$((COUNT + 100)) --pid-file="$WORK/dnsmasq.pid" \
      --log-facility="$WORK/dnsmasq.log" >"$WORK/dnsmasq.out" 2>&1 &
    dm=$!
    ip netns exec "$SRV" nice -n "$NICE" taskset -c "$SRVCORE" nginx -c "$WORK/nginx.conf" >"$WORK/nginx.out" 2>&1 &
    ng=$!
    PIDS+=("$dm" "$ng")
    sleep 2
    workers=$(pgrep -P "$ng" || true)
    storm peer
    echo "dnsmasq+nginx peak RSS $(($(hwm "$dm" "$ng" $workers) / 1024)) MiB; $(qstats)"
    stop_pids "$dm" "$ng"
    ;;
  esac
  echo
done

if [[ -f $WORK/rackboot.json && -f $WORK/peer.json ]]; then
  node -e '
    const [a, b] = [process.argv[1], process.argv[2]].map((f) => JSON.parse(require("fs").readFileSync(f, "utf8")));
    const r = (x) => x.toFixed(2);
    console.log(`completion time dnsmasq+nginx / rackboot: ${r(b.totalS / a.totalS)}x (target >= 1.0x), failures rackboot ${a.failures}, peer ${b.failures}`);
    if (a.limitS > 0) console.log(`ratio to the link-rate limit: rackboot ${r(a.limitS / a.totalS)}, peer ${r(b.limitS / b.totalS)} (target >= 0.70)`);
  ' "$WORK/rackboot.json" "$WORK/peer.json"
fi
