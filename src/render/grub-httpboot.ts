/**
 * The UEFI HTTP Boot RAM disk for the Secure Boot chain (pure). boot-assets/parts/20-secureboot.sh
 * builds a FAT image holding shim, GRUB and a stub grub.cfg whose server address is a fixed-length
 * placeholder; serving it, rackboot overwrites the placeholder byte for byte with its own address
 * (space-padded), so the FAT structures and file sizes stay valid and no FAT writer is needed.
 */
import { AppError } from '../errors.js';

/** Asset name of the RAM disk image in the boot-assets build. */
export const HTTPBOOT_IMAGE_ASSET = 'secureboot-httpboot.img';

/** The placeholder in the stub config (48 bytes, exactly once in the image). */
export const HTTPBOOT_PLACEHOLDER = '@RACKBOOT_SERVER_ADDRESS_PLACEHOLDER_48_BYTES@@@';

/**
 * MIME type that makes EDK2's HttpBootDxe mount the download as a RAM disk and boot
 * \EFI\BOOT\BOOTX64.EFI from it (UEFI 2.6+ §24.7.2, "application/vnd.efi-img").
 */
export const HTTPBOOT_IMAGE_TYPE = 'application/vnd.efi-img';

/** Returns a copy of the image with the TFTP server address written into the stub. */
export function patchHttpBootImage(image: Buffer, serverAddress: string): Buffer {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(serverAddress)) {
    throw new AppError('BAD_INPUT', `HTTP Boot image: server address ${JSON.stringify(serverAddress)} is not an IPv4 address`);
  }
  const at = image.indexOf(HTTPBOOT_PLACEHOLDER, 0, 'latin1');
  if (at < 0 || image.indexOf(HTTPBOOT_PLACEHOLDER, at + 1, 'latin1') >= 0) {
    throw new AppError('INVALID_CONFIG', `${HTTPBOOT_IMAGE_ASSET}: the server placeholder must occur exactly once (rebuild boot-assets)`);
  }
  const out = Buffer.from(image);
  out.write(serverAddress.padEnd(HTTPBOOT_PLACEHOLDER.length, ' '), at, 'latin1');
  return out;
}
