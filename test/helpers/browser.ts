import { execFileSync } from 'node:child_process';
import { createHash, createPublicKey } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';

const ROOT = resolve(import.meta.dirname, '../..');

/** Debian's Chromium: the browser tests drive it, nothing is downloaded. */
export const CHROMIUM = '/usr/bin/chromium';

/** Builds ui/dist when it is missing or older than its sources (as scripts/setup.sh does). */
export function ensureConsoleBuilt(): void {
  const built = join(ROOT, 'ui/dist/index.html');
  const newest = (path: string): number => {
    const st = statSync(path);
    if (!st.isDirectory()) return st.mtimeMs;
    const files = execFileSync('find', [path, '-type', 'f'], { encoding: 'utf8' }).split('\n').filter(Boolean);
    return Math.max(0, ...files.map((f) => statSync(f).mtimeMs));
  };
  const sources = Math.max(newest(join(ROOT, 'ui/src')), newest(join(ROOT, 'ui/index.html')), newest(join(ROOT, 'ui/vite.config.ts')));
  if (!existsSync(built) || statSync(built).mtimeMs < sources) {
    // vitest runs with NODE_ENV=test, which would give a development build of Preact.
    execFileSync('npm', ['run', '--silent', 'build:ui'], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } });
  }
}

/** base64(SHA-256(SubjectPublicKeyInfo)) of a certificate: what Chromium is told to trust. */
export function spkiPin(certFile: string): string {
  const der = createPublicKey(readFileSync(certFile)).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

/**
 * Launches headless Chromium trusting one pinned certificate key. With `netns`, the browser runs
 * inside that network namespace (through a one-line `ip netns exec` wrapper) and puppeteer talks
 * to it over pipes, since its DevTools port would be on the namespace's own loopback.
 */
export async function launchChromium(o: { pin: string; netns?: string }): Promise<Browser> {
  let executablePath = CHROMIUM;
  if (o.netns) {
    const dir = mkdtempSync(join(tmpdir(), 'rb-chromium-'));
    executablePath = join(dir, 'chromium-in-netns');
    writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec ${o.netns} ${CHROMIUM} "$@"\n`);
    chmodSync(executablePath, 0o755);
  }
  return puppeteer.launch({
    executablePath,
    headless: true,
    pipe: o.netns !== undefined,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', `--ignore-certificate-errors-spki-list=${o.pin}`],
  });
}
