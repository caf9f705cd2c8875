# Bench topology (sourced by bench/dhcp.sh): two namespaces joined by a veth pair.
#   $SRV: veth "sv0" 198.18.0.1/15 (the DHCP server under test)
#   $CLI: veth "cv0" 198.18.0.2/15 (perfdhcp, acting as a relay: giaddr 198.18.0.2)
# Addresses stay in 198.18.0.0/15; nothing touches the root namespace's interfaces.
bench_netns_up() {
  ip netns add "$SRV"
  ip netns add "$CLI"
  ip -n "$SRV" link set lo up
  ip -n "$CLI" link set lo up
  ip -n "$SRV" link add sv0 type veth peer name cv0
  ip -n "$SRV" link set cv0 netns "$CLI"
  ip -n "$SRV" addr add 198.18.0.1/15 dev sv0
  ip -n "$CLI" addr add 198.18.0.2/15 dev cv0
  ip -n "$SRV" link set sv0 up
  ip -n "$CLI" link set cv0 up
}

bench_netns_down() {
  ip netns del "$CLI" 2>/dev/null || true
  ip netns del "$SRV" 2>/dev/null || true
}

# Kills whatever still runs inside $SRV and $CLI (forked workers, clients that outlived a
# timeout: all ours, by namespace), then deletes both namespaces.
bench_netns_purge() {
  local ns pids
  for ns in "$SRV" "$CLI"; do
    pids=$(ip netns pids "$ns" 2>/dev/null || true)
    [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
  done
  bench_netns_down
}
