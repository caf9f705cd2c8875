/** What option negotiation settled for one transfer. */
export interface NegotiatedOptions {
  blksize: number;
  windowsize: number;
  /** Initial retransmit timeout in ms. */
  timeoutMs: number;
  /** Options to acknowledge in an OACK; empty means no OACK (send DATA 1 at once, RFC 2347). */
  oack: Record<string, string>;
}

/** The server side limits negotiation works within. */
export interface NegotiationLimits {
  maxBlksize: number;
  maxWindowsize: number;
  defaultTimeoutSeconds: number;
}

/** RFC 1350 block size, used when the client does not ask for blksize. */
export const DEFAULT_BLKSIZE = 512;

function intOption(value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined || !/^[0-9]{1,10}$/.test(value)) return undefined;
  const n = Number(value);
  return n >= min && n <= max ? n : undefined;
}

/**
 * Negotiates RFC 2347 options for a read request (pure). Unknown or invalid options are left
 * out of the OACK, as RFC 2347 allows; an option is only acknowledged when the client asked.
 * - blksize (RFC 2348, 8–65464): granted up to `maxBlksize` (the path-MTU cap).
 * - tsize (RFC 2349): answered with the size when it is known, non-zero and the mode is octet
 *   (netascii changes the length on the wire, so its size is not announced).
 * - timeout (RFC 2349, 1–255 s): echoed and used as the initial retransmit timeout.
 * - windowsize (RFC 7440, 1–65535): granted up to `maxWindowsize`.
 */
export function negotiateOptions(
  requested: Record<string, string>,
  file: { size: number | undefined; mode: 'octet' | 'netascii' },
  limits: NegotiationLimits,
): NegotiatedOptions {
  const oack: Record<string, string> = {};
  let blksize = DEFAULT_BLKSIZE;
  let windowsize = 1;
  let timeoutMs = limits.defaultTimeoutSeconds * 1000;

  const askedBlksize = intOption(requested.blksize, 8, 65464);
  if (askedBlksize !== undefined) {
    blksize = Math.min(askedBlksize, limits.maxBlksize);
    oack.blksize = String(blksize);
  }
  // An empty file's tsize is left out: curl 7.88 aborts on "tsize 0" in an OACK ("invalid
  // tsize -:0:- value"), while a missing tsize only means "size unknown" to every client.
  if (requested.tsize !== undefined && file.size !== undefined && file.size > 0 && file.mode === 'octet') {
    oack.tsize = String(file.size);
  }
  const askedTimeout = intOption(requested.timeout, 1, 255);
  if (askedTimeout !== undefined) {
    timeoutMs = askedTimeout * 1000;
    oack.timeout = String(askedTimeout);
  }
  const askedWindow = intOption(requested.windowsize, 1, 65535);
  if (askedWindow !== undefined) {
    windowsize = Math.min(askedWindow, limits.maxWindowsize);
    oack.windowsize = String(windowsize);
  }
  return { blksize, windowsize, timeoutMs, oack };
}
