#!/usr/bin/env bash
# DHCP hot-path profile: rackboot (compiled dist/) alone under perfdhcp at a rate above its
# ceiling, with `node --cpu-prof`; prints the top self-time functions and the perfdhcp result.
# Same topology and seeding as bench/dhcp.sh. Run under the bench lock:
#   flock /tmp/rackboot-vm.lock bash bench/dhcp-profile.sh   (RATE=3000 PERIOD=10 CLIENTS=100000)
set -euo pipefail
cd "$(dirname "$0")/.."
RATE=${RATE:-3000}
PERIOD=${PERIOD:-10}
CLIENTS=${CLIENTS:-100000}
SRVCORE=${SRVCORE:-1}
CLICORE=${CLICORE:-0}
PROF=${PROF:-1}
source bench/dhcp/netns.sh

work=$(mktemp -d /tmp/rb-prof-dhcp.XXXXXX)
id=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
SRV="rbp-$id-s" CLI="rbp-$id-c"
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null || true
  bench_netns_down
}
trap cleanup EXIT
bench_netns_up

# DIST=dir runs another build (e.g. an older tree's dist/) for a before/after comparison.
DIST=${DIST:-dist}
[[ $DIST == dist ]] && npx tsc -p tsconfig.build.json
# SEED_CACHE=dir keeps a seeded inventory to copy on later runs (seeding 100,000 machines takes a while).
if [[ -n ${SEED_CACHE:-} && -f $SEED_CACHE/rb/inventory.db ]]; then
  cp -r "$SEED_CACHE/rb" "$work/rb" && cp "$SEED_CACHE/macs.txt" "$work/macs.txt"
else
  node --import tsx bench/dhcp/seed.ts "$work/rb" "$work/macs.txt" "$CLIENTS" 0
  if [[ -n ${SEED_CACHE:-} ]]; then mkdir -p "$SEED_CACHE" && cp -r "$work/rb" "$work/macs.txt" "$SEED_CACHE/"; fi
fi
source bench/dhcp/rackboot-yaml.sh
rackboot_yaml "$work/rb" "${COMMIT_MS:-}" > "$work/rb.yaml"
flags=()
[[ $PROF == 1 ]] && flags=(--cpu-prof --cpu-prof-dir "$work/prof")
# NODEFLAGS="--trace-gc" adds V8 flags to the server only.
ip netns exec "$SRV" taskset -c "$SRVCORE" env RACKBOOT_LOG_JSON=1 \
  node ${NODEFLAGS:-} "${flags[@]}" "$DIST/cli.js" serve --config "$work/rb.yaml" > "$work/rackboot.log" 2>&1 &
pid=$!
for i in $(seq 1 60); do grep -q 'rackboot serving' "$work/rackboot.log" && break; sleep 1; done
sleep 1
mainCpu() { awk '{ printf "%.2f", ($14 + $15) / 100 }' /proc/"$pid"/task/"$pid"/stat; }
# All threads of the server, user and system time apart (the process is pinned to one core).
procCpu() { awk '{ printf "%.2f %.2f", $14 / 100, $15 / 100 }' /proc/"$pid"/stat; }
cpu0=$(mainCpu) proc0=$(procCpu)
# PERFTRACE=1: the main thread's system calls that took more than 1 ms (where it blocks).
tracer=
if [[ -n ${PERFTRACE:-} ]]; then perf trace -t "$pid" ${PERFTRACE_ARGS:---duration 1} -o "$work/slow-syscalls.txt" & tracer=$!; fi
# PERFRECORD=1: samples of every thread of the server (native and kernel frames) for perf report.
if [[ -n ${PERFRECORD:-} ]]; then perf record -F 1999 -p "$pid" -o "$work/perf.data" 2> /dev/null > /dev/null & tracer=$!; fi
read -r run0 wait0 _ < /proc/"$pid"/task/"$pid"/schedstat
t0=$(date +%s.%N)
timeout $((PERIOD + 30)) ip netns exec "$CLI" taskset -c "$CLICORE" \
  perfdhcp -4 -l cv0 -r "$RATE" -p "$PERIOD" -R "$CLIENTS" -M "$work/macs.txt" 198.18.0.1 > "$work/perf.txt" 2>&1 || true
# CPU seconds per thread of the server (main thread first; then GC helpers, the WAL checkpointer).
cpu1=$(mainCpu) proc1=$(procCpu)
if [[ -n $tracer ]]; then
  kill -INT "$tracer"; wait "$tracer" || true
  [[ -n ${PERFTRACE:-} ]] && awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[a-z_0-9]+\(/) { sub(/\(.*/, "", $i); n[$i]++; gsub(/[()]/, "", $3); ms[$i] += $3 } } END { for (k in n) printf "slow %s: %d calls over 1 ms, %.0f ms\n", k, n[k], ms[k] }' "$work/slow-syscalls.txt"
fi
read -r run1 wait1 _ < /proc/"$pid"/task/"$pid"/schedstat
t1=$(date +%s.%N)
awk -v w="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" -v r=$(( (run1 - run0) / 1000000 )) -v q=$(( (wait1 - wait0) / 1000000 )) \
  'BEGIN { printf "main thread over %.2f s: on CPU %.2f s, runnable but waiting for the CPU %.2f s, blocked or idle %.2f s\n", w, r / 1000, q / 1000, w - (r + q) / 1000 }' 
# Kernel UDP counters per namespace: RcvbufErrors are datagrams the receive buffer had no room for.
for ns in "$SRV" "$CLI"; do
  ip netns exec "$ns" awk '/^Udp:/ { if (!h) { split($0, k); h = 1 } else { split($0, v); for (i = 2; i <= NF; i++) if (k[i] ~ /InDatagrams|InErrors|RcvbufErrors|SndbufErrors|OutDatagrams/) printf "%s=%s ", k[i], v[i] } }' /proc/net/snmp
  echo "(udp in ${ns##*-})"
done
ip netns exec "$SRV" nstat -az 2>/dev/null | awk '$2 > 0 && $1 ~ /Drop|Err|Discard|Prune|Overflow|Backlog|NoPorts/ { printf "%s=%s ", $1, $2 }' || true; echo "(server netns drops)"
ip -n "$SRV" -s link show sv0 | awk '/RX:|TX:/ { getline v; print "sv0 " $0 " / " v }' | tr -s ' '
ip netns exec "$SRV" ethtool -S sv0 2>/dev/null | grep -iE "drop|full" | grep -v ": 0$" | tr -s ' ' | tr '\n' ' ' || true; echo
cpus=$(for t in /proc/"$pid"/task/*; do awk -v n="$(tr -d ' ' < "$t/comm")" '{ printf "%.2f(%s)\n", ($14 + $15) / 100, n }' "$t/stat"; done | sort -rn | tr '\n' ' ')
kill -TERM "$pid"; wait "$pid" || true; pid=
grep -E '^Rate:|drops ratio|sent packets|received packets' "$work/perf.txt" | head -8
acks=$(awk '/Statistics for: REQUEST-ACK/ {f=1} f && /received packets:/ {print $3; exit}' "$work/perf.txt")
echo "server thread CPU s: $cpus"
awk -v c="$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }')" -v a="${acks:-0}" 'BEGIN { if (a > 0) printf "main thread under load: %.2f s CPU, %.0f us per completed exchange (%d ACKs)\n", c, 1e6 * c / a, a }' 
read -r u0 s0 <<< "$proc0"; read -r u1 s1 <<< "$proc1"
awk -v u="$(awk -v a="$u0" -v b="$u1" 'BEGIN { print b - a }')" -v s="$(awk -v a="$s0" -v b="$s1" 'BEGIN { print b - a }')" -v a="${acks:-0}" \
  'BEGIN { if (a > 0) printf "whole process under load: user %.2f s + system %.2f s, %.0f + %.0f us per completed exchange\n", u, s, 1e6 * u / a, 1e6 * s / a }'
grep -o '"commits":.*' "$work/rackboot.log" | head -1 || true
if [[ $PROF == 1 ]]; then
  node bench/dhcp/top-profile.mjs "$work"/prof/*.cpuprofile | head -${TOP:-45}
  # How long the loop stays busy at a time, and in what: the server reads nothing meanwhile, and
  # what queued goes out afterwards as one burst of replies (perfdhcp's cli drops above).
  node bench/dhcp/stalls.mjs "$work"/prof/*.cpuprofile 'poll dist/lifecycle' 'flush dist/inventory/events' 'flush dist/dhcp/batch' 'onBatch' 'garbage'
fi
if [[ -n ${PERFRECORD:-} ]]; then
  perf report -i "$work/perf.data" --sort comm,dso --stdio 2> /dev/null | grep -v '^#' | grep . | head -20
  perf report -i "$work/perf.data" --sort sym --stdio 2> /dev/null | grep -v '^#' | grep . | head -${TOP:-45}
fi
[[ ${NODEFLAGS:-} == *trace-gc* ]] && grep -oE '(Scavenge|Mark-Compact|Mark-sweep)[^,]*, [0-9.]+ / [0-9.]+ ms' "$work/rackboot.log" | awk '{ k = $1; n[k]++; split($0, a, ", "); split(a[2], b, " "); ms[k] += b[1] } END { for (k in n) printf "gc %s: %d, %.0f ms\n", k, n[k], ms[k] }'
echo "work dir: $work" >&2
