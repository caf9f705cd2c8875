import { AppError } from '../errors.js';
import type { Machine } from '../inventory/machines.js';
import { profileSpecSchema } from '../model/profile-spec.js';
import type { Store } from '../inventory/store.js';
import type { VersionControl } from './effects.js';
import { digestOf, formatDigest, parseDigest, recordedDigest, tryParseDigest } from '../model/digest.js';
import type { ExpectedDigests } from './plan.js';
import type { MachineVersion, RolloutTarget } from './spec.js';
import { EVENT } from '../lifecycle/event-kinds.js';

/** Resolves an image reference (asset name or sha256:<hex>) to its bare hex digest, if known. */
export type ImageDigestOf = (ref: string) => string | undefined;

/**
 * Versions as the inventory holds them: a machine runs its profile (the install image digest
 * comes from the profile's `install.image`), and the config version the server rendered for it
 * at its latest boot (`store.configs.desired`). Moving a machine = switching its profile; the
 * config subsystem renders and records the new config version when the machine boots.
 */
export function inventoryVersions(store: Store, imageDigestOf: ImageDigestOf): VersionControl {
  const imageOf = (profile: string | null): { revision: number | null; image: string | null } => {
    if (!profile) return { revision: null, image: null };
    const p = store.profiles.get(profile);
    const spec = profileSpecSchema.safeParse(p.spec);
    const ref = spec.success ? spec.data.install?.image : undefined;
    return { revision: p.revision, image: ref ? (imageDigestOf(ref) ?? null) : null };
  };
  const desiredConfig = (m: Machine, profile: string | null): string | null => {
    const d = store.configs.desired(m.id);
    return d && (profile === null || d.profile === profile) ? d.sha256 : null;
  };
  return {
    current(m): MachineVersion {
      const { revision, image } = imageOf(m.profile);
      return { profile: m.profile, profileRevision: revision, imageDigest: image, configDigest: desiredConfig(m, m.profile) };
    },
    resolve(m, target: RolloutTarget): MachineVersion {
      if ('imageDigest' in target) {
        const profile = target.profile ?? m.profile;
        if (!profile) throw new AppError('BAD_INPUT', `machine ${m.name} has no profile; name one in target.profile`);
        return {
          profile,
          profileRevision: store.profiles.get(profile).revision,
          imageDigest: recordedDigest(parseDigest(target.imageDigest)),
          configDigest: recordedDigest(parseDigest(target.configDigest)),
          configPinned: true,
        };
      }
      const { revision, image } = imageOf(target.profile);
      if (target.revision !== undefined && target.revision !== revision) {
        throw new AppError('CONFLICT', `profile ${target.profile} is at revision ${revision}, not ${target.revision}`, {
          details: { profile: target.profile, revision },
        });
      }
      return { profile: target.profile, profileRevision: revision, imageDigest: image, configDigest: null };
    },
    assign(m, v): void {
      // `registered` asks for a network install: the boot script sends ready machines to their disk.
      store.transaction(() => {
        store.machines.update(m.id, { profile: v.profile, state: 'registered' });
        store.events.add({ machineId: m.id, source: 'rollout', kind: EVENT.rolloutAssigned, detail: { profile: v.profile, revision: v.profileRevision } });
      });
    },
    expected(m, v): ExpectedDigests {
      // Unpinned: the config the server rendered for this profile at the machine's latest boot.
      // None rendered yet means it never fetched its new config: a "ready" then cannot be the target.
      const config = v.configPinned ? v.configDigest : (desiredConfig(m, v.profile) ?? `(no config rendered for profile ${v.profile})`);
      return { imageDigest: v.imageDigest, configDigest: config, configAliases: configAliasesOf(store, m.id, config) };
    },
  };
}

/**
 * Other names of a config version rackboot rendered for the machine: the SHA-512 of the stored
 * bytes whose SHA-256 is `configDigest` (Ignition logs, and its nodes report, only that one).
 * Computed on demand from the stored body; empty when no such version is stored.
 */
export function configAliasesOf(store: Store, machineId: number, configDigest: string | null): string[] {
  const d = configDigest === null ? null : tryParseDigest(configDigest);
  if (d?.algorithm !== 'sha256') return [];
  const v = store.configs.listVersions(machineId).find((x) => x.sha256 === d.hex);
  const body = v ? store.configs.findVersion(v.id)?.body : undefined;
  return body ? [formatDigest(digestOf('sha512', body))] : [];
}
