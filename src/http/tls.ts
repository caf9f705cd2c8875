import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join, resolve } from 'node:path';
import { AppError } from '../errors.js';
import type { ApiSettings } from './api-settings.js';

/** Key and certificate chain the management listener serves, and the CA file clients trust. */
export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  /** The generated local CA (data/tls/ca.crt); null with operator-provided files. */
  caFile: string | null;
}

/** A server certificate is reissued when it expires within this many days. */
const RENEW_DAYS = 30;

/**
 * The management API's TLS material: the operator's files when configured, else a local CA and
 * a server certificate generated with openssl into `<dataDir>/tls/` at first start. The server
 * certificate names localhost, loopback, this host's name and addresses and `api.tls.names`; it
 * is reissued from the same CA when a name is missing or it nears expiry, so clients that trust
 * ca.crt keep working.
 */
export function ensureTls(dataDir: string, api: ApiSettings): TlsMaterial {
  const { certFile, keyFile } = api.tls;
  if (certFile || keyFile) {
    if (!certFile || !keyFile) throw new AppError('SETTINGS', 'api.tls.certFile and api.tls.keyFile go together');
    return { key: readFileSync(resolve(keyFile)), cert: readFileSync(resolve(certFile)), caFile: null };
  }
  const dir = join(resolve(dataDir), 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const f = { caKey: join(dir, 'ca.key'), caCrt: join(dir, 'ca.crt'), key: join(dir, 'server.key'), crt: join(dir, 'server.crt') };
  if (!existsSync(f.caKey) || !existsSync(f.caCrt)) {
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f.caKey, '-out', f.caCrt, '-days', '3650', '-subj', `/CN=rackboot local CA ${hostname()}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    rmSync(f.crt, { force: true });
  }
  chmodSync(f.caKey, 0o600);
  const names = certificateNames(api);
  if (!existsSync(f.crt) || !existsSync(f.key) || !covers(readFileSync(f.crt), names)) issueServerCert(dir, f, names);
  chmodSync(f.key, 0o600);
  return { key: readFileSync(f.key), cert: Buffer.concat([readFileSync(f.crt), readFileSync(f.caCrt)]), caFile: f.caCrt };
}

/** The names a generated server certificate carries (DNS names and IP addresses). */
export function certificateNames(api: ApiSettings): { dns: string[]; ips: string[] } {
  const dns = new Set(['localhost', hostname()]);
  const ips = new Set(['127.0.0.1', '::1']);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (!a.internal) ips.add(a.address.replace(/%.*$/, ''));
  const extra = [...api.tls.names, ...(api.host === '0.0.0.0' || api.host === '::' ? [] : [api.host])];
  for (const n of extra) (/^[0-9.]+$|:/.test(n) ? ips : dns).add(n);
  return { dns: [...dns].filter((n) => /^[A-Za-z0-9.-]+$/.test(n)), ips: [...ips] };
}

/** Whether a certificate names every wanted name and is not near expiry. */
function covers(pem: Buffer, want: { dns: string[]; ips: string[] }): boolean {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    return false;
  }
  if (new Date(cert.validTo).getTime() - Date.now() < RENEW_DAYS * 86_400_000) return false;
  const san = (cert.subjectAltName ?? '').split(', ');
  return want.dns.every((n) => san.includes(`DNS:${n}`)) && want.ips.every((ip) => cert.checkIP(ip) !== undefined);
}

function issueServerCert(dir: string, f: { caKey: string; caCrt: string; key: string; crt: string }, names: { dns: string[]; ips: string[] }): void {
  const csr = join(dir, 'server.csr');
  const ext = join(dir, 'server.ext');
  const san = [...names.dns.map((n) => `DNS:${n}`), ...names.ips.map((ip) => `IP:${ip}`)].join(',');
  writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${san}\n`);
  try {
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', f.key, '-out', csr, '-subj', '/CN=rackboot']);
    openssl(['x509', '-req', '-in', csr, '-CA', f.caCrt, '-CAkey', f.caKey, '-CAcreateserial', '-out', f.crt, '-days', '825', '-extfile', ext]);
  } finally {
    rmSync(csr, { force: true });
    rmSync(ext, { force: true });
  }
}

function openssl(args: string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const stderr = (e as { stderr?: Buffer }).stderr?.toString().trim();
    throw new AppError('SETTINGS', `cannot generate the API's TLS certificate with openssl (install the openssl package, or set api.tls.certFile/keyFile): ${stderr || (e as Error).message}`, { cause: e });
  }
}
