import { z } from 'zod';

/**
 * What a profile says about how its machines boot and what config they get. Fields the
 * renderers add (talos, ignition, cloudInit, ...) are validated by their own schemas.
 */
export const profileSpecSchema = z
  .object({
    description: z.string().max(500).optional(),
    /** network: PXE into the profile's OS; disk: already provisioned, boot the local disk. */
    boot: z.enum(['network', 'disk']).default('network'),
    /** Boot chain: iPXE (default) or shim → GRUB for Secure Boot machines. */
    chain: z.enum(['ipxe', 'secureboot']).default('ipxe'),
    /** Kind of OS config rendered for the machine. */
    os: z.enum(['testos', 'talos', 'flatcar', 'fcos', 'rhcos', 'cloudinit', 'bottlerocket']).default('testos'),
    /** Asset names or sha256:<hex> digests. */
    kernel: z.string().min(1).optional(),
    initrd: z.array(z.string().min(1)).default([]),
    cmdline: z.string().max(4096).default(''),
    install: z
      .object({ image: z.string().min(1).optional(), disk: z.string().min(1).default('/dev/vda') })
      .optional(),
    requireSecureBoot: z.boolean().default(false),
    /**
     * on: scripts, configs and reports only for requests from the machine's own address (its
     * lease, its neighbour entry, or where its DHCP/PXE exchange came from); off: NAT'd labs.
     * Absent means on.
     */
    bootBinding: z.enum(['on', 'off']).optional(),
  })
  .passthrough();

export type ProfileSpec = z.infer<typeof profileSpecSchema>;
