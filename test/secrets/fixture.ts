import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS } from '../../src/inventory/migrations/index.js';

// Distinctive fake secrets: each string occurs nowhere else, so a leak is found by a byte search.
const pem = (what: string, marker: string) =>
  Buffer.from(`-----BEGIN ${what}-----\n${marker}${'Q'.repeat(40)}\n-----END ${what}-----\n`).toString('base64');

/** `spec.talos.secrets` of the test cluster. */
export const TALOS_SECRETS = {
  machineToken: 'mtok-zq7xk2m4n8p1r6t3w9y5',
  machineCa: { crt: pem('CERTIFICATE', 'MACHINECACRTzq7x'), key: pem('EC PRIVATE KEY', 'MACHINECAKEYzq7x') },
  clusterToken: 'zq7xk2.m4n8p1r6t3w9y5b2',
  etcdCa: { crt: pem('CERTIFICATE', 'ETCDCACRTzq7x'), key: pem('EC PRIVATE KEY', 'ETCDCAKEYzq7x') },
  kubernetesCa: { crt: pem('CERTIFICATE', 'K8SCACRTzq7x'), key: pem('RSA PRIVATE KEY', 'K8SCAKEYzq7x') },
};

/** An IPMI BMC key Kg (hex). */
export const KG_HEX = 'c0ffee5eed0ddba11cafef00d5ca1ab1e0b5e55e';

/** Every secret string: the Talos leaves and the Kg. */
export const SECRET_VALUES: string[] = [
  TALOS_SECRETS.machineToken,
  TALOS_SECRETS.clusterToken,
  ...[TALOS_SECRETS.machineCa, TALOS_SECRETS.etcdCa, TALOS_SECRETS.kubernetesCa].flatMap((p) => [p.crt, p.key]),
  KG_HEX,
];

/** A controlplane Talos profile spec of cluster `zqcluster` carrying TALOS_SECRETS. */
export function talosProfileSpec(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    os: 'talos',
    kernel: 'testos-vmlinuz',
    initrd: ['testos-initrd.img'],
    install: { disk: '/dev/vda' },
    talos: {
      machineType: 'controlplane',
      cluster: { name: 'zqcluster', endpoint: 'https://zqcluster.lab.example:6443' },
      secrets: TALOS_SECRETS,
      network: { interface: 'eth0', prefixLength: 24, gateway: '198.18.0.1' },
    },
    ...over,
  };
}

/**
 * The ways a secret could show: as is, base64 / base64url, a middle slice (a partial leak; for
 * a PEM the part past the common BEGIN line),
 * and for base64 values (PEM) the decoded marker line.
 */
export function leakForms(v: string): string[] {
  const forms = [v, Buffer.from(v).toString('base64'), Buffer.from(v).toString('base64url'), v.length > 60 ? v.slice(36, 60) : v.slice(4, 20)];
  const decoded = Buffer.from(v, 'base64').toString('latin1');
  const marker = /(\w+zq7x)/.exec(decoded)?.[1];
  if (marker) forms.push(marker);
  return forms;
}

/** The secret forms found in `bytes` (empty: no leak). */
export function leaksIn(bytes: Buffer | string, values: readonly string[] = SECRET_VALUES): string[] {
  const hay = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
  return values.flatMap(leakForms).filter((f) => hay.includes(f));
}

/** inventory.db and its WAL (if any), concatenated. */
export function dbFileBytes(dataDir: string): Buffer {
  const parts: Buffer[] = [];
  for (const f of ['inventory.db', 'inventory.db-wal']) {
    try {
      parts.push(readFileSync(join(dataDir, f)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  return Buffer.concat(parts);
}

/** Creates a database at schema version 8 (before sealing), as an older rackboot left it. */
export function legacyDb(path: string): Database.Database {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  for (const m of MIGRATIONS.filter((x) => x.version <= 8)) {
    db.exec(m.sql);
    db.pragma(`user_version = ${m.version}`);
  }
  return db;
}
