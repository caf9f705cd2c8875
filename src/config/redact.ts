import { SEALED } from '../inventory/sealing.js';

/** Shorter secrets are not redacted: replacing every "ab" would garble the document and hide nothing. */
const MIN_SECRET = 4;
/** A line of a multi-line secret (PEM) is redacted on its own when at least this long. */
const MIN_LINE = 16;
/** A base64 core shorter than this could match by chance. */
const MIN_CORE = 8;

/**
 * Every form in which a secret string can sit in a rendered document: as is, JSON-escaped,
 * line by line (YAML block scalars re-indent a PEM), percent-encoded (data: URLs), and in
 * base64 / base64url (Talos and Ignition embed base64 PEM) at each of the three byte
 * alignments, since a secret inside a larger encoded blob starts at any offset.
 */
export function secretForms(secret: string): string[] {
  if (secret.length < MIN_SECRET) return [];
  const forms = new Set<string>([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]);
  for (const line of secret.split(/\r?\n/)) if (line.trim().length >= MIN_LINE) forms.add(line.trim());
  const bytes = Buffer.from(secret, 'utf8');
  for (const enc of ['base64', 'base64url'] as const) {
    forms.add(bytes.toString(enc));
    for (let offset = 0; offset < 3; offset++) {
      const whole = Math.floor((bytes.length - offset) / 3) * 3;
      if (whole <= 0) continue;
      // Only whole 3-byte groups encode to characters that do not depend on the neighbours.
      const core = bytes.subarray(offset, offset + whole).toString(enc).replace(/=+$/, '');
      if (core.length >= MIN_CORE) forms.add(core);
    }
  }
  return [...forms].filter((f) => f.length >= MIN_SECRET);
}

/**
 * The body with every form of every secret replaced by `<sealed>` (for readers who may not
 * see secrets). Longest forms go first so a shorter one never splits a longer match.
 */
export function redactSecrets(body: Buffer, secrets: readonly string[]): { body: Buffer; redacted: number } {
  const forms = [...new Set(secrets.flatMap(secretForms))].sort((a, b) => b.length - a.length);
  // latin1 maps bytes 1:1 to code units, so matching is byte-exact whatever the body holds.
  let text = body.toString('latin1');
  let redacted = 0;
  for (const f of forms) {
    const parts = text.split(Buffer.from(f, 'utf8').toString('latin1'));
    if (parts.length === 1) continue;
    redacted += parts.length - 1;
    text = parts.join(SEALED);
  }
  return { body: Buffer.from(text, 'latin1'), redacted };
}
