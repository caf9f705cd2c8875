import type { ConfigFormat } from '../model/config-format.js';
import type { ProfileSpec } from '../model/profile-spec.js';

/** The parts of a machine a renderer may use (no facts: output must not depend on what a host reports). */
export interface RenderMachine {
  id: number;
  name: string;
  macs: string[];
  ipv4: string | null;
  labels: Record<string, string>;
}

/** An install image resolved to its digest and the URL serving those bytes. */
export interface ResolvedImage {
  sha256: string;
  url: string;
}

/** Everything a renderer needs; renderers are pure functions of this. */
export interface RenderInput {
  machine: RenderMachine;
  profile: { name: string; revision: number; spec: ProfileSpec };
  /** spec.install.image resolved by the caller (asset name or sha256: digest), null when not installing. */
  installImage: ResolvedImage | null;
  /** Kernel and initrds (SHA-256 hex) the boot script serves with this config; absent outside a network boot. */
  bootImage?: { kernel: string; initrds: string[] } | null;
}

/** One rendered document, ready to be stored as a version. */
export interface RenderedConfig {
  format: ConfigFormat;
  contentType: string;
  body: string;
  /** Companion documents served beside the body (cloud-init meta-data). */
  meta: Record<string, string>;
}
