#!/usr/bin/env bash
# rackboot HTTP vs nginx (sendfile on, 1 worker), in the same run, inside a private network
# namespace (nothing leaves it: 127.0.0.1 and a veth pair in 198.18.254.0/24). Measures:
#   1. single-stream download of a 64 MiB digest-addressed asset (MB/s, median of ROUNDS curl runs,
#      rackboot and nginx interleaved so drifting machine load hits both alike)
#   2. wrk -c32 on the same asset (MB/s)
#   3. wrk -c32 on /boot.ipxe (requests/s; rackboot issues two fresh one-use tokens and records the
#      boot per request, reusing the config version while its inputs are unchanged; nginx serves a
#      static file of the same bytes: the ceiling), IPXE_ROUNDS (3) alternating runs of each, medians.
#      Every response must be 200 (else the bench fails).
# Boot identity binding stays on: a script goes only to the machine's own address. The /boot.ipxe
# requests therefore come from a second namespace over a veth pair whose client end has the bench
# machine's MAC, so the server's kernel neighbour entry for the client address is that MAC (the
# on-link evidence src/boot/binding.ts accepts), exactly as for a real machine on the boot segment.
# nginx is measured over the same veth. The asset rows run inside the server namespace (loopback).
# Prints ratios rackboot/nginx. Bounded: every wrk run is DURATION seconds, every step has a timeout.
# Like the peer figures in the brief: both servers pinned to one core (SRVCORE), curl/wrk to the
# other (CLICORE); rackboot runs from the compiled dist/ (npm run build), as `npm start` does.
# Usage: bench/http.sh [--save]   (--save writes bench/results/http.txt)
#   SCRIPT_ONLY=1: only the /boot.ipxe and /healthz rows (no asset rows; for profiling)
#   BASELINE=DIR: also serve /boot.ipxe from the build in DIR/dist (another checkout, e.g. the commit
#     before a change), measured in the same alternation: a before/after in one run
#   NODE_FLOOR=1: also a bare node:http server on the same core answering the script's bytes with no
#     work at all (no router, no binding, no tokens): what Node's HTTP stack alone does here
#   PROFILE=1: a V8 CPU profile of the first rackboot's main thread over the whole run (without the
#     /healthz row), summarised at the end by bench/storm/cpu-profile.ts (TOP functions, default 25);
#     the rates are lower with it; PROFILE_OUT=FILE keeps the .cpuprofile
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
DURATION=${DURATION:-8}
ROUNDS=${ROUNDS:-7}
IPXE_ROUNDS=${IPXE_ROUNDS:-3}
SRVCORE=${SRVCORE:-1}
CLICORE=${CLICORE:-0}
ns="rb-bench-$$"
nsc="rb-benchc-$$"
srv_ip=198.18.254.1
cli_ip=198.18.254.2
bench_mac=52:54:00:be:00:01
load0=$(cut -d" " -f1-3 /proc/loadavg)
work=$(mktemp -d /tmp/rb-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$nsc" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip netns add "$nsc"
ip -n "$ns" link set lo up
ip -n "$nsc" link set lo up
# The boot segment: the server end in $ns, the "machine" end (MAC = the bench machine's) in $nsc.
ip -n "$ns" link add rbb0 type veth peer name rbb1 netns "$nsc"
ip -n "$nsc" link set rbb1 address "$bench_mac"
ip -n "$ns" addr add "$srv_ip/24" dev rbb0
ip -n "$nsc" addr add "$cli_ip/24" dev rbb1
ip -n "$ns" link set rbb0 up
ip -n "$nsc" link set rbb1 up
in_ns() { ip netns exec "$ns" taskset -c "$CLICORE" "$@"; }
in_cli() { ip netns exec "$nsc" taskset -c "$CLICORE" "$@"; }
npm run -s build

# Assets: a 64 MiB blob (kind disk: no per-download events) and small test OS stand-ins.
mkdir -p "$work/assets" "$work/data" "$work/nginx"
head -c $((64 * 1024 * 1024)) /dev/urandom > "$work/assets/big.raw"
head -c 4096 /dev/urandom > "$work/assets/testos-vmlinuz"
head -c 4096 /dev/urandom > "$work/assets/testos-initrd.img"
OUT="$work/assets" bash boot-assets/manifest.sh 2>/dev/null
big=$(sha256sum "$work/assets/big.raw" | cut -d' ' -f1)
mkdir -p "$work/assets/sha256"; ln "$work/assets/big.raw" "$work/assets/sha256/$big"

cat > "$work/rackboot.yaml" <<EOF
dataDir: $work/data
assetsDir: $work/assets
logLevel: warn
http: { host: $srv_ip, port: 18080 }
api: { host: 127.0.0.1, port: 18443 }
dhcp: { enabled: false }
tftp: { enabled: false }
EOF
# Started directly (not through in_srv): $! must be the server's own PID for the cleanup.
rb_node_args=()
if [ -n "${PROFILE:-}" ]; then rb_node_args=(--cpu-prof --cpu-prof-dir="$work/prof"); fi
ip netns exec "$ns" taskset -c "$SRVCORE" node "${rb_node_args[@]}" dist/cli.js serve --config "$work/rackboot.yaml" > "$work/rackboot.log" 2>&1 &
pids+=($!)
# A second rackboot with mapAssets off: the same stream read through buffers (no native addon).
sed -e "s#dataDir: .*#dataDir: $work/data-read#" -e 's/port: 18080/port: 18081/' -e 's/port: 18443/port: 18444/' "$work/rackboot.yaml" > "$work/rackboot-read.yaml"
ip netns exec "$ns" taskset -c "$SRVCORE" env RACKBOOT_HTTP__MAPASSETS=false node dist/cli.js serve --config "$work/rackboot-read.yaml" > "$work/rackboot-read.log" 2>&1 &
pids+=($!)

if [ -n "${BASELINE:-}" ]; then
  sed -e "s#dataDir: .*#dataDir: $work/data-base#" -e 's/port: 18080/port: 18083/' -e 's/port: 18443/port: 18445/' "$work/rackboot.yaml" > "$work/rackboot-base.yaml"
  ip netns exec "$ns" taskset -c "$SRVCORE" node "$BASELINE/dist/cli.js" serve --config "$work/rackboot-base.yaml" > "$work/rackboot-base.log" 2>&1 &
  pids+=($!)
fi

if [ -n "${NODE_FLOOR:-}" ]; then
  ip netns exec "$ns" taskset -c "$SRVCORE" node -e '
    const http = require("node:http"); let body = "";
    http.createServer((req, res) => {
      if (!body) body = require("node:fs").readFileSync(process.argv[1], "utf8");
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", "content-length": Buffer.byteLength(body) });
      res.end(body);
    }).listen(18084, process.argv[2]);' "$work/assets/boot.ipxe" "$srv_ip" &
  pids+=($!)
fi

cat > "$work/nginx/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  client_body_temp_path $work/nginx; proxy_temp_path $work/nginx; fastcgi_temp_path $work/nginx;
  uwsgi_temp_path $work/nginx; scgi_temp_path $work/nginx;
  server { listen $srv_ip:18082; root $work/assets; default_type application/octet-stream; }
}
EOF
ip netns exec "$ns" taskset -c "$SRVCORE" nginx -c "$work/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)

for i in $(seq 1 100); do
  in_ns curl -sf -o /dev/null "http://$srv_ip:18080/healthz" && in_ns curl -sf -o /dev/null "http://$srv_ip:18081/healthz" && in_ns curl -sf -o /dev/null "http://$srv_ip:18082/big.raw" -r 0-0 && break
  sleep 0.3
done
if [ -n "${BASELINE:-}" ]; then
  for _ in $(seq 1 100); do in_ns curl -sf -o /dev/null "http://$srv_ip:18083/healthz" && break; sleep 0.3; done
fi
token=$(cat "$work/data/admin.token")
# The management API is its own TLS listener; its certificate is checked against rackboot's local CA.
api() { in_ns curl -sSf --cacert "$work/data/tls/ca.crt" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' -d "$2" "https://127.0.0.1:18443$1" > /dev/null; }
api /api/v1/profiles '{"name":"bench","spec":{"os":"testos"}}'
api /api/v1/machines "{\"name\":\"bench-1\",\"macs\":[\"$bench_mac\"],\"profile\":\"bench\"}"
base_ipxe="http://$srv_ip:18083/boot.ipxe?mac=$bench_mac"
if [ -n "${BASELINE:-}" ]; then
  bapi() { in_ns curl -sSf --cacert "$work/data-base/tls/ca.crt" -H "Authorization: Bearer $(cat "$work/data-base/admin.token")" -H 'Content-Type: application/json' -d "$2" "https://127.0.0.1:18445$1" > /dev/null; }
  bapi /api/v1/profiles '{"name":"bench","spec":{"os":"testos"}}'
  bapi /api/v1/machines "{\"name\":\"bench-1\",\"macs\":[\"$bench_mac\"],\"profile\":\"bench\"}"
  in_cli timeout 30 wrk -t2 -c32 -d2s "$base_ipxe" > /dev/null
fi
rb_ipxe="http://$srv_ip:18080/boot.ipxe?mac=$bench_mac"
ng_ipxe="http://$srv_ip:18082/boot.ipxe"
# Two scripts fetched by the machine: both 200, and each names its own fresh config token.
in_cli timeout 10 curl -sSf -o "$work/assets/boot.ipxe" "$rb_ipxe"
in_cli timeout 10 curl -sSf -o "$work/boot2.ipxe" "$rb_ipxe"
tok1=$(grep -o '/config/[A-Za-z0-9_-]*' "$work/assets/boot.ipxe" | head -1)
tok2=$(grep -o '/config/[A-Za-z0-9_-]*' "$work/boot2.ipxe" | head -1)
if [ -z "$tok1" ] || [ "$tok1" = "$tok2" ]; then echo "bench: /boot.ipxe did not mint a fresh config token per request" >&2; exit 1; fi
# From another address the same script is refused: binding is on.
refused=$(in_ns timeout 10 curl -s -o /dev/null -w '%{http_code}' "$rb_ipxe")
if [ "$refused" != 403 ]; then echo "bench: /boot.ipxe from an unbound address answered $refused, not 403" >&2; exit 1; fi

rb_big="http://$srv_ip:18080/assets/sha256/$big"
rd_big="http://$srv_ip:18081/assets/sha256/$big"
ng_big="http://$srv_ip:18082/sha256/$big"

speed() { in_ns timeout 60 curl -s -o /dev/null -w '%{speed_download}' "$1"; }
median_mb() { sort -n | awk '{ v[NR] = $1 } END { printf "%.0f", v[int((NR + 1) / 2)] / 1e6 }'; }
# wrk_metric URL FIELD [RUNNER]: FIELD=rps → Requests/sec; FIELD=mbps → Transfer/sec in MB/s.
# Any non-2xx answer, socket error or timeout fails the bench: a fast error is not a boot.
wrk_metric() {
  local out
  out=$(${3:-in_ns} timeout $((DURATION + 30)) wrk -t2 -c32 -d"${DURATION}s" --timeout 20s "$1")
  if grep -qE 'Non-2xx|Socket errors' <<< "$out"; then
    echo "bench: wrk $1 had failed requests:" >&2; echo "$out" >&2; exit 1
  fi
  if [ "$2" = rps ]; then
    awk '/^Requests\/sec/ { printf "%.0f", $2 }' <<< "$out"
  else
    awk '/^Transfer\/sec/ { v = $2; u = substr(v, length(v) - 1); n = substr(v, 1, length(v) - 2) + 0;
      m = (u == "GB") ? n * 1073.741824 : (u == "MB") ? n * 1.048576 : (u == "KB") ? n / 976.5625 : n / 1e6; printf "%.0f", m }' <<< "$out"
  fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }'; }

runs_rb=(); runs_ng=(); runs_rd=()
s_rb=-; s_ng=-; s_rd=-; w_rb=-; w_ng=-; w_rd=-
mb_list() { for v in "$@"; do awk -v b="$v" 'BEGIN { printf "%.0f ", b / 1e6 }'; done; }
if [ -z "${SCRIPT_ONLY:-}" ]; then
  # Warm the page cache once for all.
  in_ns curl -s -o /dev/null "$rb_big"; in_ns curl -s -o /dev/null "$ng_big"; in_ns curl -s -o /dev/null "$rd_big"
  for _ in $(seq 1 "$ROUNDS"); do
    runs_rb+=("$(speed "$rb_big")"); runs_ng+=("$(speed "$ng_big")"); runs_rd+=("$(speed "$rd_big")")
  done
  s_rb=$(printf '%s\n' "${runs_rb[@]}" | median_mb); s_ng=$(printf '%s\n' "${runs_ng[@]}" | median_mb)
  s_rd=$(printf '%s\n' "${runs_rd[@]}" | median_mb)
  w_rb=$(wrk_metric "$rb_big" mbps); w_ng=$(wrk_metric "$ng_big" mbps); w_rd=$(wrk_metric "$rd_big" mbps)
fi
# Both warmed for 2 s first (V8 compiles the script path while it runs), then measured.
in_cli timeout 30 wrk -t2 -c32 -d2s "$rb_ipxe" > /dev/null; in_cli timeout 30 wrk -t2 -c32 -d2s "$ng_ipxe" > /dev/null
# IPXE_ROUNDS alternating runs of each (rackboot, nginx, rackboot, …): on a shared machine the load
# of other work drifts within seconds, so the row is the median of each and the per-round ratios
# are listed with it.
runs_irb=(); runs_ing=(); runs_ibase=(); runs_ifloor=()
for _ in $(seq 1 "$IPXE_ROUNDS"); do
  runs_irb+=("$(wrk_metric "$rb_ipxe" rps in_cli)"); runs_ing+=("$(wrk_metric "$ng_ipxe" rps in_cli)")
  if [ -n "${BASELINE:-}" ]; then runs_ibase+=("$(wrk_metric "$base_ipxe" rps in_cli)"); fi
  if [ -n "${NODE_FLOOR:-}" ]; then runs_ifloor+=("$(wrk_metric "http://$srv_ip:18084/boot.ipxe" rps in_cli)"); fi
done
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
i_rb=$(printf '%s\n' "${runs_irb[@]}" | median); i_ng=$(printf '%s\n' "${runs_ing[@]}" | median)
round_ratios=$(for k in "${!runs_irb[@]}"; do printf '%s/%s=%s ' "${runs_irb[$k]}" "${runs_ing[$k]}" "$(ratio "${runs_irb[$k]}" "${runs_ing[$k]}")"; done)
base_rows=
if [ -n "${NODE_FLOOR:-}" ]; then
  i_floor=$(printf '%s\n' "${runs_ifloor[@]}" | median)
  base_rows="
  bare node:http, no work (req/s) $(printf '%10s %10s %9s' "$i_floor" "$i_ng" "$(ratio "$i_floor" "$i_ng")")
  bare node:http runs / nginx (req/s) = ratio: $(for k in "${!runs_ifloor[@]}"; do printf '%s/%s=%s ' "${runs_ifloor[$k]}" "${runs_ing[$k]}" "$(ratio "${runs_ifloor[$k]}" "${runs_ing[$k]}")"; done)"
fi
if [ -n "${BASELINE:-}" ]; then
  i_base=$(printf '%s\n' "${runs_ibase[@]}" | median)
  base_rows="$base_rows
  BASELINE $(git -C "$BASELINE" rev-parse --short HEAD 2>/dev/null || echo "$BASELINE") (req/s)$(printf '%10s %10s %9s' "$i_base" "$i_ng" "$(ratio "$i_base" "$i_ng")")
  baseline runs, baseline/nginx (req/s) = ratio: $(for k in "${!runs_ibase[@]}"; do printf '%s/%s=%s ' "${runs_ibase[$k]}" "${runs_ing[$k]}" "$(ratio "${runs_ibase[$k]}" "${runs_ing[$k]}")"; done)"
fi
# The same HTTP stack answering with no work at all (GET /healthz): the ceiling of any route.
# (PROFILE: left out, so the profile is the script path's.)
i_hz=-
if [ -z "${PROFILE:-}" ]; then i_hz=$(wrk_metric "http://$srv_ip:18080/healthz" rps in_cli); fi

report=$(cat <<EOF
rackboot HTTP benchmark vs nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') (sendfile on, 1 worker); $(date -u +%Y-%m-%dT%H:%M:%SZ)
host: $(nproc) CPUs, $(uname -r), node $(node --version), load average at start: $load0; loopback in a private netns; wrk -t2 -c32 -d${DURATION}s
/boot.ipxe: from a second netns over a veth whose end has the machine's MAC (binding on, bound by the
 neighbour entry; an unbound address got 403); every wrk response 2xx, no socket errors
servers on core $SRVCORE, clients on core $CLICORE; single stream = median of $ROUNDS interleaved curl runs
                                   rackboot      nginx     ratio
64 MiB single stream (MB/s)     $(printf '%10s %10s %9s' "$s_rb" "$s_ng" "$(ratio "$s_rb" "$s_ng")")
  same, mapAssets off (MB/s)     $(printf '%10s %10s %9s' "$s_rd" "$s_ng" "$(ratio "$s_rd" "$s_ng")")
64 MiB wrk -c32 (MB/s)          $(printf '%10s %10s %9s' "$w_rb" "$w_ng" "$(ratio "$w_rb" "$w_ng")")
  same, mapAssets off (MB/s)     $(printf '%10s %10s %9s' "$w_rd" "$w_ng" "$(ratio "$w_rd" "$w_ng")")
/boot.ipxe wrk -c32 (req/s)     $(printf '%10s %10s %9s' "$i_rb" "$i_ng" "$(ratio "$i_rb" "$i_ng")")   (median of $IPXE_ROUNDS alternating runs each)
  /healthz, no work (req/s)      $(printf '%10s %10s %9s' "$i_hz" "$i_ng" "$(ratio "$i_hz" "$i_ng")")
/boot.ipxe runs, rackboot/nginx (req/s) = ratio: $round_ratios$base_rows
single-stream runs (MB/s): rackboot $(mb_list "${runs_rb[@]}")| nginx $(mb_list "${runs_ng[@]}")| mapAssets off $(mb_list "${runs_rd[@]}")
(mapAssets on, the default: cached pages go to the socket from a read-only mapping, one kernel copy;
 off: read into reused buffers, then written: two copies. nginx: sendfile)
(/boot.ipxe: rackboot checks the binding, reuses the unchanged config version, mints two fresh
 one-use tokens, records the boot and fills the script per request; nginx serves the same bytes
 as a static file)
EOF
)
echo "$report"
if [ -n "${PROFILE:-}" ]; then
  kill "${pids[0]}"; for _ in $(seq 1 50); do kill -0 "${pids[0]}" 2>/dev/null || break; sleep 0.2; done
  for f in "$work"/prof/*.cpuprofile; do
    [ -f "$f" ] || continue
    node --import tsx bench/storm/cpu-profile.ts "$f" "${TOP:-25}"
    if [ -n "${PROFILE_OUT:-}" ]; then cp "$f" "$PROFILE_OUT"; fi
  done
fi
if [ "${1:-}" = --save ]; then mkdir -p bench/results; echo "$report" > bench/results/http.txt; fi
