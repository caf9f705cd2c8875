#!/usr/bin/env bash
# Writes $OUT/manifest.json: every artifact in the build dir with its SHA-256, size and kind,
# so rackboot can serve them by digest (/assets/sha256/<hex>). Env: OUT.
set -euo pipefail
cd "$OUT"
kind_of() {
  case "$1" in
    *.kpxe|*.efi) echo loader ;;
    *vmlinuz*|*kernel*) echo kernel ;;
    *initrd*|*.img) echo initrd ;;
    *.raw|*.qcow2) echo disk ;;
    *) echo file ;;
  esac
}
tmp=$(mktemp .manifest.XXXXXX)
{
  printf '{\n  "version": 1,\n  "artifacts": ['
  sep=''
  for f in $(ls | LC_ALL=C sort); do
    [ -f "$f" ] || continue
    case "$f" in manifest.json|*.tmp) continue ;; esac
    sum=$(sha256sum "$f" | cut -d' ' -f1)
    size=$(stat -c %s "$f")
    printf '%s\n    {"name": "%s", "sha256": "%s", "size": %s, "kind": "%s"}' "$sep" "$f" "$sum" "$size" "$(kind_of "$f")"
    sep=','
  done
  printf '\n  ]\n}\n'
} > "$tmp"
chmod 0644 "$tmp"
mv "$tmp" manifest.json
printf 'boot-assets: manifest.json (%s artifacts)\n' "$(grep -c '"sha256"' manifest.json)" >&2
