/**
 * The inspection report (what the inspection image posts) and the machine facts made of it
 * (pure). The facts are shaped for group selectors: `facts.memory.gib>=64`,
 * `facts.disks.count>=2`, `facts.cpu.count>=8`, `facts.firmware.mode=uefi`.
 */
import { z } from 'zod';

/** The most an inspection report may weigh: larger bodies are refused (413), never truncated. */
export const MAX_INSPECTION_BYTES = 64 * 1024;

const text = (max: number) => z.string().max(max);
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

/** One block device from /sys/block. */
export const inspectedDiskSchema = z
  .object({
    name: text(64),
    sizeBytes: z.number().int().nonnegative(),
    model: text(128).optional(),
    serial: text(128).optional(),
    rotational: z.boolean().nullable().optional(),
  })
  .strict();

/**
 * The LLDP neighbour of a NIC as the image's rackboot-lldp prints it (IEEE 802.1AB TLVs): IDs by
 * subtype (MAC, address or text), strings of at most 255 octets made printable, the first
 * management address.
 */
export const lldpNeighbourSchema = z
  .object({
    chassisId: text(256),
    portId: text(256),
    systemName: text(256).optional(),
    portDescription: text(256).optional(),
    managementAddress: text(64).optional(),
  })
  .strict();

/** One physical NIC from /sys/class/net. */
export const inspectedNicSchema = z
  .object({
    name: text(64),
    mac: z.string().regex(MAC, 'a MAC address (aa:bb:cc:dd:ee:ff)'),
    driver: text(64).optional(),
    link: z.boolean().nullable().optional(),
    speedMbps: z.number().int().nonnegative().nullable().optional(),
    /** LLDP neighbour, when the image heard one (null or absent: none heard, or an older image). */
    lldp: lldpNeighbourSchema.nullable().optional(),
  })
  .strict();

/** POST /api/v1/inspection body (version 1). */
export const inspectionReportSchema = z
  .object({
    version: z.literal(1),
    system: z.object({ uuid: text(64), serial: text(128), vendor: text(128), product: text(128) }).strict(),
    cpu: z.object({ count: z.number().int().min(1).max(65_536), model: text(256).optional() }).strict(),
    memory: z.object({ bytes: z.number().int().positive() }).strict(),
    disks: z.array(inspectedDiskSchema).max(256),
    nics: z.array(inspectedNicSchema).max(64),
    firmware: z.object({ mode: z.enum(['bios', 'uefi']), secureBoot: z.boolean().nullable() }).strict(),
    /** The BMC's LAN settings read through in-band IPMI; null when the machine has none. */
    bmc: z
      .object({ address: z.string().regex(IPV4, 'an IPv4 address'), mac: text(32).optional(), channel: z.number().int().min(0).max(15).optional() })
      .strict()
      .nullable()
      .optional(),
    kernel: text(128).optional(),
  })
  .strict();

/** A validated inspection report. */
export type InspectionReport = z.infer<typeof inspectionReportSchema>;

const GiB = 1024 ** 3;

/** DMI strings worth keeping: QEMU and many boards leave them empty, all zeros or a placeholder. */
export function dmiString(v: string | undefined): string | null {
  const s = (v ?? '').trim();
  if (!s || /^[0-]+$/.test(s) || /^(none|default string|to be filled by o\.e\.m\.|not specified)$/i.test(s)) return null;
  return s.slice(0, 128);
}

/** The machine's facts after an inspection: they replace the old facts whole (no merge). */
export function factsFromInspection(r: InspectionReport, at: Date): Record<string, unknown> {
  const totalBytes = r.disks.reduce((n, d) => n + d.sizeBytes, 0);
  return {
    source: 'inspection',
    inspectedAt: at.toISOString(),
    uuid: dmiString(r.system.uuid)?.toLowerCase() ?? null,
    serial: dmiString(r.system.serial),
    vendor: dmiString(r.system.vendor),
    product: dmiString(r.system.product),
    cpu: { count: r.cpu.count, model: r.cpu.model ?? null },
    // One decimal: 64 GiB of DIMMs is 64, a 1 GiB VM is 1.
    memory: { bytes: r.memory.bytes, gib: Math.round((r.memory.bytes / GiB) * 10) / 10 },
    disks: {
      count: r.disks.length,
      totalBytes,
      rotational: r.disks.filter((d) => d.rotational === true).length,
      items: r.disks,
    },
    nics: { count: r.nics.length, items: r.nics.map((n) => ({ ...n, mac: n.mac.toLowerCase() })) },
    macs: r.nics.map((n) => n.mac.toLowerCase()),
    firmware: { mode: r.firmware.mode, secureBoot: r.firmware.secureBoot },
    bmc: r.bmc ?? null,
    kernel: r.kernel ?? null,
  };
}
