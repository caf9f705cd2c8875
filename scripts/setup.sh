#!/usr/bin/env bash
# One set-up for `npm start`, `npm test`, CI and the Dockerfile: installs what is missing,
# nothing more. Usage: setup.sh start|test
set -euo pipefail
mode=${1:-start}
cd "$(dirname "$0")/.."
root=$(pwd)

log() { printf 'setup: %s\n' "$*" >&2; }

# Debian packages: runtime always, test-* lists for `npm test`.
lists=(scripts/deps/runtime.txt)
if [ "$mode" = test ]; then lists+=(scripts/deps/test-*.txt); fi
want=$(grep -hv '^\s*#' "${lists[@]}" | tr -s ' \n' '\n' | sort -u)
missing=()
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then log "missing Debian packages (run as root to install): ${missing[*]}"; exit 1; fi
  log "installing Debian packages: ${missing[*]}"
  # Keep package scripts from starting daemons (dnsmasq, nginx, kea, tftpd, postgresql) in the root namespace:
  # policy-rc.d answers 101 ("not allowed") to every invoke-rc.d. Ours is removed on every exit
  # path (trap); one the host already had is left alone. No service is stopped here: set-up never
  # touches daemons it did not start.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    trap 'rm -f "$policy"' EXIT
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod 755 "$policy"
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt_lists=$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' 2>/dev/null | head -n 1)
  [ -n "$apt_lists" ] || apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}" >&2 || { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}" >&2; }
  # The tests run these daemons inside their own namespaces only. Installed here, their packages
  # would still enable them for the host's next boot, where they would serve or advertise on the
  # real interfaces (lldpd sends LLDP on every port; cloud-init probes for a datasource). So a
  # package this run installed has its unit disabled (a symlink removed: nothing is stopped) and
  # cloud-init gets its documented off switch. Packages the host already had are left alone.
  for p in "${missing[@]}"; do
    case $p in
      lldpd | dnsmasq | nginx | kea-dhcp4-server | tftpd-hpa | isc-dhcp-relay | prometheus | postgresql)
        if command -v systemctl > /dev/null; then systemctl disable --quiet "$p" 2> /dev/null && log "disabled $p.service for the next boot (tests start their own)" || true; fi ;;
      cloud-init)
        if [ ! -e /etc/cloud/cloud-init.disabled ]; then mkdir -p /etc/cloud && touch /etc/cloud/cloud-init.disabled && log "cloud-init installed for its schema checks: off on this host (/etc/cloud/cloud-init.disabled)"; fi ;;
    esac
  done
fi

# Native addons (native/mmap, native/tftp, and any dependency without a prebuilt binary) build
# against the running Node's own headers when it ships them, instead of downloading headers.
node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$node_prefix/include/node/node.h" ]; then export npm_config_nodedir=$node_prefix; fi

# npm dependencies: npm ci when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund >&2
fi
# rackboot's own addons again when their source changed since they were built.
for name in mmap tftp udp; do
  addon=native/$name/build/Release/rackboot_$name.node
  if [ ! -f "$addon" ] || [ -n "$(find native/$name -maxdepth 1 \( -name '*.[ch]' -o -name binding.gyp \) -newer "$addon")" ]; then
    log "building native/$name"
    npm rebuild "rackboot-$name" >&2
  fi
done

# Build the TypeScript when any source is newer than the build.
if [ ! -f dist/cli.js ] || [ -n "$(find src tsconfig.json tsconfig.build.json -newer dist/cli.js -print -quit)" ]; then
  log "building"
  npx tsc -p tsconfig.build.json
fi

# Build the web console (ui/ → ui/dist, served at /ui/) when any of its sources is newer than the build.
if [ -d ui/src ] && { [ ! -f ui/dist/index.html ] || [ -n "$(find ui/src ui/index.html ui/vite.config.ts ui/tsconfig.json package-lock.json -newer ui/dist/index.html -print -quit)" ]; }; then
  log "building the console (ui/)"
  npm run --silent build:ui >&2
fi

# Boot assets (loaders, test OS) when missing.
if [ -x boot-assets/build.sh ]; then
  bash boot-assets/build.sh --if-missing >&2
fi
