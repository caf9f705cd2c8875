#!/usr/bin/env bash
# Secure Boot chain, from Debian's signed packages (downloaded and extracted, never installed):
#   shimx64.efi              shim-signed: shimx64.efi.signed (Microsoft UEFI CA signature)
#   mmx64.efi, fbx64.efi     shim-helpers-amd64-signed: MokManager and fallback, which shim may
#                            look for next to itself (signed by Debian's key that shim embeds)
#   grubx64.efi              grub-efi-amd64-signed: grubnetx64.efi.signed, the netboot GRUB image
#                            (prefix /grub on the device it was loaded from; TFTP only, no HTTP)
#   testos-vmlinuz-unsigned  the test OS kernel (Debian-signed) with its Authenticode signature
#                            removed: the negative test serves it to a Secure Boot VM
#   secureboot-httpboot.img  FAT RAM disk for UEFI HTTP Boot: \EFI\BOOT\BOOTX64.EFI (shim),
#                            grubx64.efi and a stub /grub/grub.cfg. Debian's signed GRUB has no
#                            HTTP client, so loaded straight over HTTP it cannot read its config;
#                            from a RAM disk it can, and the stub takes DHCP and goes on over TFTP.
#                            rackboot patches its address into the stub when serving the image
#                            (src/render/grub-httpboot.ts; the placeholder has a fixed length).
# The signed kernel itself is testos-vmlinuz (10-testos.sh): Debian's linux-image-*-amd64 kernel
# carries the signature that shim verifies against Debian's key.
# Env from build.sh: OUT CACHE IF_MISSING.
set -euo pipefail
# shellcheck source=../lib.sh
source "$(dirname "$0")/../lib.sh"

files="shimx64.efi grubx64.efi mmx64.efi fbx64.efi testos-vmlinuz-unsigned secureboot-httpboot.img"
if [ "$IF_MISSING" = 1 ]; then
  missing=0
  for f in $files; do [ -f "$OUT/$f" ] || missing=1; done
  [ $missing = 1 ] || [ -n "$(find "$0" -newer "$OUT/secureboot-httpboot.img" -print -quit)" ] || exit 0
fi


log "Secure Boot chain (shim, GRUB netboot, unsigned kernel copy, HTTP Boot RAM disk)"
shim=$(fetch_deb shim-signed)
helpers=$(fetch_deb shim-helpers-amd64-signed)
grub=$(fetch_deb grub-efi-amd64-signed)
install -m 0644 "$(find "$shim" -name shimx64.efi.signed | head -n 1)" "$OUT/shimx64.efi"
install -m 0644 "$(find "$helpers" -name mmx64.efi.signed | head -n 1)" "$OUT/mmx64.efi"
install -m 0644 "$(find "$helpers" -name fbx64.efi.signed | head -n 1)" "$OUT/fbx64.efi"
install -m 0644 "$(find "$grub" -name grubnetx64.efi.signed | head -n 1)" "$OUT/grubx64.efi"

# The same kernel package 10-testos.sh uses (shared cache: downloaded once).
kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$kpkg" ] || { log "cannot resolve linux-image-amd64"; exit 1; }
kroot=$(fetch_deb "$kpkg")
kernel=$(find "$kroot/boot" -name 'vmlinuz-*' | head -n 1)

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# Stripping the signature: clear the PE security data directory (IMAGE_DIRECTORY_ENTRY_SECURITY,
# index 4, PE/COFF spec §4.7) and cut the certificate table off the end of the file.
strip="$tmp/pe-strip.cjs"
cat > "$strip" <<'JS'
const fs = require('node:fs');
const [mode, file, out] = process.argv.slice(2);
const b = fs.readFileSync(file);
const pe = b.readUInt32LE(0x3c);
if (b.toString('latin1', pe, pe + 4) !== 'PE\0\0') throw new Error(`${file}: not a PE image`);
const opt = pe + 24;
const dirs = opt + (b.readUInt16LE(opt) === 0x20b ? 112 : 96); // PE32+ : PE32
const sec = dirs + 4 * 8;
const off = b.readUInt32LE(sec), size = b.readUInt32LE(sec + 4);
if (mode === '--size') { process.stdout.write(`${size}\n`); process.exit(0); }
const o = Buffer.from(b);
o.writeUInt32LE(0, sec); o.writeUInt32LE(0, sec + 4);
fs.writeFileSync(out, size > 0 && off + size === b.length ? o.subarray(0, off) : o);
JS
[ "$(node "$strip" --size "$kernel")" -gt 0 ] || { log "$kernel carries no signature"; exit 1; }
node "$strip" --strip "$kernel" "$OUT/testos-vmlinuz-unsigned.tmp"
[ "$(node "$strip" --size "$OUT/testos-vmlinuz-unsigned.tmp")" = 0 ] || { log "signature strip failed"; exit 1; }
chmod 0644 "$OUT/testos-vmlinuz-unsigned.tmp"
mv "$OUT/testos-vmlinuz-unsigned.tmp" "$OUT/testos-vmlinuz-unsigned"

# --- UEFI HTTP Boot RAM disk (mtools, extracted from its .deb too) ---
# No fbx64.efi in the image: shim started as \EFI\BOOT\BOOTX64.EFI runs the fallback if it is
# there, and the fallback would try to write boot entries instead of loading GRUB.
mt="$(fetch_deb mtools)/usr/bin/mtools"
stub="$tmp/grub.cfg"
placeholder='@RACKBOOT_SERVER_ADDRESS_PLACEHOLDER_48_BYTES@@@'
cat > "$stub" <<EOF
# rackboot: UEFI HTTP Boot stub (shim -> GRUB from a RAM disk). Debian's signed GRUB has no
# HTTP client: it takes an address by DHCP and reads its per-MAC config over TFTP.
set rackboot_server=$placeholder
echo "rackboot: UEFI HTTP Boot stub, config server \$rackboot_server"
net_bootp
set root=(tftp,\$rackboot_server)
set prefix=(\$root)/grub
source /grub/httpboot/grub.cfg-01-\$net_efinet0_dhcp_mac
echo "rackboot: no GRUB config from \$rackboot_server for \$net_efinet0_dhcp_mac"
sleep 10
EOF
img="$OUT/secureboot-httpboot.img.tmp"
rm -f "$img"
dd if=/dev/zero of="$img" bs=1M count=6 status=none
"$mt" -c mformat -i "$img" -v RACKBOOT -N 52424f4f ::
"$mt" -c mmd -i "$img" ::/EFI ::/EFI/BOOT ::/grub
"$mt" -c mcopy -i "$img" "$OUT/shimx64.efi" ::/EFI/BOOT/BOOTX64.EFI
"$mt" -c mcopy -i "$img" "$OUT/grubx64.efi" ::/EFI/BOOT/grubx64.efi
"$mt" -c mcopy -i "$img" "$stub" ::/grub/grub.cfg
[ "$(grep -c -a -F "$placeholder" "$img")" = 1 ] || { log "HTTP Boot stub placeholder not found exactly once"; exit 1; }
chmod 0644 "$img"
mv "$img" "$OUT/secureboot-httpboot.img"
log "Secure Boot chain built (kernel $(basename "$kernel"))"
