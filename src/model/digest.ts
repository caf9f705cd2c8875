import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError } from '../errors.js';

/** Hash algorithms a digest may name: artifacts and configs by SHA-256, Ignition configs also by SHA-512. */
export const DIGEST_ALGORITHMS = ['sha256', 'sha512'] as const;
/** One of DIGEST_ALGORITHMS. */
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

/** A content digest with its algorithm (hex is lower case, 64 or 128 digits). */
export interface Digest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
}

/** The same bytes named under one or more algorithms (a config version: its SHA-256 and SHA-512). */
export type DigestSet = readonly Digest[];

const HEX_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

/**
 * Reads a digest in any spelling rackboot meets: `sha256:<hex>`, `sha512:<hex>`, Ignition's
 * `sha512-<hex>` (its `verification.hash` form), or bare hex (64 digits = SHA-256, which is how
 * reports and config versions were stored before algorithms were named; 128 = SHA-512).
 * Returns null for anything else.
 */
export function tryParseDigest(s: string): Digest | null {
  const m = /^(?:(sha256|sha512)[:-])?([0-9a-fA-F]+)$/.exec(s.trim());
  if (!m) return null;
  const hex = m[2]!.toLowerCase();
  const algorithm = (m[1] as DigestAlgorithm | undefined) ?? (hex.length === 64 ? 'sha256' : hex.length === 128 ? 'sha512' : undefined);
  if (!algorithm || hex.length !== HEX_LENGTH[algorithm]) return null;
  return { algorithm, hex };
}

/** Like tryParseDigest; anything else is BAD_INPUT naming the value. */
export function parseDigest(s: string): Digest {
  const d = tryParseDigest(s);
  if (!d) throw new AppError('BAD_INPUT', `not a digest: ${JSON.stringify(s.slice(0, 200))} (expected sha256:<64 hex> or sha512:<128 hex>)`);
  return d;
}

/** The canonical spelling `<algorithm>:<hex>`. */
export function formatDigest(d: Digest): string {
  return `${d.algorithm}:${d.hex}`;
}

/**
 * The spelling kept in boot-trace events and shown in drift: bare hex for SHA-256 (what every
 * older event and client uses), `sha512:<hex>` otherwise, so the algorithm is never lost.
 */
export function recordedDigest(d: Digest): string {
  return d.algorithm === 'sha256' ? d.hex : formatDigest(d);
}

/** True when both name the same algorithm and the same bytes. */
export function digestEquals(a: Digest, b: Digest): boolean {
  return a.algorithm === b.algorithm && a.hex === b.hex;
}

/** The digest of bytes under one algorithm. */
export function digestOf(algorithm: DigestAlgorithm, data: string | Buffer): Digest {
  return { algorithm, hex: createHash(algorithm).update(data).digest('hex') };
}

/** The bytes' SHA-256 and SHA-512 (a config version, whatever its OS reports). */
export function digestSetOf(data: string | Buffer): DigestSet {
  return DIGEST_ALGORITHMS.map((a) => digestOf(a, data));
}

/**
 * Does a reported digest name the expected bytes? It must equal the expected digest of the
 * same algorithm; a report in an algorithm the expectation does not know is a mismatch (it
 * cannot be shown to match), never a silent pass.
 */
export function matchesDigest(reported: Digest | null, expected: DigestSet): boolean {
  return reported !== null && expected.some((e) => digestEquals(e, reported));
}

/** The expected digest to show beside a report: the one of the reported algorithm, else the first. */
export function expectedFor(reported: Digest | null, expected: DigestSet): Digest | undefined {
  return expected.find((e) => e.algorithm === reported?.algorithm) ?? expected[0];
}

/** zod: any spelling tryParseDigest accepts, transformed to a Digest. */
export const digestSchema = z.string().max(200).transform((s, ctx) => {
  const d = tryParseDigest(s);
  if (!d) {
    ctx.addIssue({ code: 'custom', message: 'expected sha256:<64 hex digits> or sha512:<128 hex digits>' });
    return z.NEVER;
  }
  return d;
});

/** zod: a SHA-256 digest only (artifacts are served by SHA-256), as a Digest. */
export const sha256DigestSchema = z
  .string()
  .regex(/^(sha256:)?[0-9a-f]{64}$/, 'expected sha256:<64 hex digits>')
  .transform((s) => parseDigest(s));
