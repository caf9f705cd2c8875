/**
 * The console and the metrics against a real boot: one QEMU VM (TCG) behind its virtual BMC
 * (ipmi_sim, whose chassis_control script starts and stops QEMU), rackboot in full-DHCP mode in
 * the lab namespace, headless Chromium (Debian's, through puppeteer-core) and Debian's Prometheus
 * both started inside that namespace. The operator logs in with the admin token over the API's
 * TLS, powers the VM on from the machine page and watches its timeline advance live (server-sent
 * events, no reload) through DHCP → TFTP → script → kernel → config → ready; then power-cycles it
 * from the page: the BMC really restarts QEMU and the timeline shows the second network boot.
 * Prometheus scrapes /metrics every second during all this, and its query API returns the boot
 * counters and the phase histogram.
 *
 * Firmware: OVMF, whose own PXE client fetches iPXE over TFTP. SeaBIOS's NIC ROM in QEMU is iPXE
 * already: rackboot hands it the script URL at once (never a loader: the chainload loop), so a
 * SeaBIOS boot has no TFTP phase to show. Screenshots go to .test-results/ui-vm/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, type LabMachine } from '../../qemu/lab-core.js';
import { LAB_ADDR } from '../../qemu/netns.js';
import { LAB_API_PORT, adminToken, labCaFile } from '../../qemu/rackboot.js';
import { vbmcVmPid } from '../../qemu/vbmc/ipmisim.js';
import type { Firmware } from '../../qemu/vm.js';
import { ensureConsoleBuilt, launchChromium, spkiPin } from '../helpers/browser.js';
import { waitFor } from '../helpers/netns.js';
import { type NetnsPrometheus, startNetnsPrometheus } from '../helpers/prometheus.js';

const ROOT = resolve(import.meta.dirname, '../..');
const SHOTS = join(ROOT, '.test-results/ui-vm');
const FIRMWARE: Firmware = 'uefi';
const API = `https://${LAB_ADDR.server}:${LAB_API_PORT}`;
const PROM_LISTEN = `${LAB_ADDR.server}:9090`;
const MIN = 60_000;
/** The timeline's phases (ui/src/views/timeline.tsx) and the first event kind that shows each. */
const PHASES: [string, RegExp][] = [
  ['DHCP', /^dhcp\.(offer|ack|proxy-offer)$/],
  ['TFTP', /^tftp\.sent$/],
  ['Script', /^boot\.(script|chain)$/],
  ['Kernel', /^asset\.served$/],
  ['Config', /^config\.served$/],
  ['Ready', /^report\.ready$/],
];

let lab: Lab;
let vm: LabMachine;
let work: string;
let browser: Browser;
let page: Page;
let prom: NetnsPrometheus;
let powerOnAt = 0;
let passed = 0;

/** A full-page screenshot with the timeline's scrolling region at its latest rows. */
async function shot(name: string): Promise<void> {
  await page.evaluate(`document.querySelectorAll('.scroll').forEach((el) => { el.scrollTop = el.scrollHeight; })`);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}
const text = (selector: string) => page.$eval(selector, (el) => el.textContent ?? '');
const vbmcDir = () => join(work, `${vm.name}.vbmc`);
const serialTail = () => lab.serial(vm).slice(-2500);

/** Waits for the actions panel's outcome line to name `label`, and expects it to say it was sent. */
async function expectSent(label: string): Promise<void> {
  const sel = '[data-testid="actions"] [data-testid="outcome"]';
  await page.waitForFunction(`document.querySelector('${sel}')?.textContent.startsWith(${JSON.stringify(label)})`, { timeout: 90_000 });
  expect(await text(sel)).toMatch(new RegExp(`^${label}: sent`));
}

/** Rows as the page added them to the timeline, in DOM order, with when they appeared. */
type SeenRow = { id: number; kind: string; t: number };
const seenRows = () => page.evaluate('window.__rows') as Promise<SeenRow[]>;

beforeAll(async () => {
  execFileSync('bash', [join(ROOT, 'boot-assets/build.sh'), '--if-missing'], { stdio: 'inherit' });
  ensureConsoleBuilt();
  mkdirSync(SHOTS, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'rb-ui-vm-'));
  lab = await Lab.create({ vms: 1, firmwares: [FIRMWARE], dhcp: 'full', bmc: 'ipmi', power: 'bmc', work, diskMb: 64 });
  vm = lab.machines[0]!;
  // The test OS without an install: config, then `ready` from the network-booted OS (one boot).
  await lab.api.request('POST', '/api/v1/profiles', { name: 'live', spec: { os: 'testos' } });
  await lab.api.request('PATCH', `/api/v1/machines/${vm.name}`, { profile: 'live' });

  // Prometheus with a read token (the /metrics route's access level), trusting rackboot's CA.
  const { secret } = await lab.api.request<{ secret: string }>('POST', '/api/v1/tokens', { role: 'read', name: 'prometheus' });
  const tokenFile = join(work, 'prometheus.token');
  writeFileSync(tokenFile, `${secret}\n`, { mode: 0o600 });
  prom = startNetnsPrometheus({
    netns: lab.net.lab,
    dir: join(work, 'prometheus'),
    listen: PROM_LISTEN,
    target: `${LAB_ADDR.server}:${LAB_API_PORT}`,
    caFile: labCaFile(join(work, 'data')),
    tokenFile,
  });
  await waitFor('Prometheus scraping rackboot', async () => (await prom.query('up{job="rackboot"}').catch(() => []))[0]?.value[1] === '1', 60_000, 500);

  browser = await launchChromium({ pin: spkiPin(join(work, 'data/tls/server.crt')), netns: lab.net.lab });
  page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 1000 });
}, 5 * MIN);

afterAll(async () => {
  await browser?.close().catch(() => {});
  await prom?.stop();
  await lab?.down();
  // Disks, serial console, rackboot's and Prometheus's logs stay for a failed run only.
  if (passed === 3 && work) rmSync(work, { recursive: true, force: true });
}, 2 * MIN);

describe('console and metrics with a real VM boot (OVMF PXE → iPXE → test OS, TCG)', () => {
  it('logs in, powers the VM on from its page and sees the timeline advance live to ready', async () => {
    const res = await page.goto(`${API}/`, { waitUntil: 'domcontentloaded' });
    expect(res?.url()).toBe(`${API}/ui/`);
    await page.waitForSelector('#token');
    await page.type('#token', adminToken(join(work, 'data')));
    await page.keyboard.press('Enter');
    await page.waitForSelector('[data-testid="role"]');
    expect(await text('[data-testid="role"]')).toContain('admin');
    await page.evaluate(`location.hash = '#/machines/${vm.name}'`);
    await page.waitForSelector('[data-testid="timeline"]');
    await page.waitForFunction(`document.querySelector('[data-testid="live-mode"]')?.textContent === 'streaming'`, { timeout: 20_000 });
    // Every row the page adds from now on, with the time it appeared; and a mark a reload would lose.
    await page.evaluate(`(() => {
      window.__notReloaded = true;
      window.__rows = [];
      const tbody = document.querySelector('[data-testid="timeline"] tbody');
      new MutationObserver((records) => {
        for (const r of records) for (const n of r.addedNodes) {
          if (n.nodeType === 1 && n.matches('tr[data-kind]')) window.__rows.push({ id: Number(n.firstElementChild.textContent), kind: n.dataset.kind, t: performance.now() });
        }
      }).observe(tbody, { childList: true });
    })()`);
    await shot('01-machine-before-power-on');

    powerOnAt = Date.now();
    await page.click('[data-testid="actions"] ::-p-text(Power on)');
    await expectSent('Power on');
    await waitFor('QEMU started by the vBMC', () => vbmcVmPid(vbmcDir()), 30_000);

    const reached = (name: string) => page.$eval('[data-testid="boot-phases"]', (ol, n) => [...ol.querySelectorAll('li')].some((li) => li.classList.contains('reached') && li.textContent?.startsWith(n)), name);
    for (const [i, [name]] of PHASES.entries()) {
      try {
        await page.waitForFunction(`[...document.querySelectorAll('[data-testid="boot-phases"] li.reached')].some((li) => li.textContent.startsWith(${JSON.stringify(name)}))`, {
          timeout: 12 * MIN,
          polling: 500,
        });
      } catch (e) {
        await shot(`fail-phase-${name}`);
        throw new Error(`phase ${name} not shown: ${(e as Error).message}\nrows: ${JSON.stringify(await seenRows())}\nserial:\n${serialTail()}`);
      }
      if (i === 0 || name === 'Kernel') await shot(`02-timeline-${name.toLowerCase()}`);
    }
    expect(await reached('Ready')).toBe(true);
    await page.waitForFunction(`document.querySelector('[data-testid="machine-state"]')?.textContent === 'ready'`, { timeout: 20_000 });
    await shot('03-timeline-ready');

    // Live: the page was never reloaded, and the rows arrived one phase after another while it
    // was open (each phase's first row appeared after the previous phase's, none was there before).
    expect(await page.evaluate('window.__notReloaded')).toBe(true);
    const rows = await seenRows();
    const firstSeen = PHASES.map(([name, kinds]) => ({ name, row: rows.find((r) => kinds.test(r.kind)) }));
    for (const f of firstSeen) expect(f.row, `${f.name} in ${rows.map((r) => r.kind).join(',')}`).toBeDefined();
    const order = firstSeen.map((f) => f.row!.id);
    expect(order, rows.map((r) => `${r.id}:${r.kind}`).join(' ')).toEqual([...order].sort((a, b) => a - b));
    const times = firstSeen.map((f) => f.row!.t);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times.at(-1)! - times[0]!).toBeGreaterThan(0);
    expect(await text('[data-testid="live-mode"]')).toBe('streaming');
    passed++;
  }, 20 * MIN);

  it('power-cycles the VM from the page: the BMC restarts QEMU and the timeline shows a second network boot', async () => {
    const pidBefore = vbmcVmPid(vbmcDir());
    expect(pidBefore).toBeDefined();
    const mark = Math.max(...(await seenRows()).map((r) => r.id));
    await page.click('[data-testid="actions"] ::-p-text(Power cycle)');
    await page.click('[data-testid="actions"] ::-p-text(Confirm: power cycle)');
    await expectSent('Power cycle');
    // ipmi_sim powers off, then on again after its power-on delay: a new QEMU process.
    const pidAfter = await waitFor('a new QEMU after the cycle', () => {
      const p = vbmcVmPid(vbmcDir());
      return p && p !== pidBefore ? p : undefined;
    }, 60_000);
    expect(pidAfter).not.toBe(pidBefore);
    const again = async (kinds: RegExp, what: string) => {
      try {
        await waitFor(what, async () => (await seenRows()).find((r) => r.id > mark && kinds.test(r.kind)), 10 * MIN, 1000);
      } catch (e) {
        await shot(`fail-cycle-${what.replace(/\W+/g, '-')}`);
        throw new Error(`${(e as Error).message}\nrows: ${JSON.stringify(await seenRows())}\nserial:\n${serialTail()}`);
      }
    };
    await again(PHASES[0]![1], 'the second boot DHCP row');
    await again(PHASES[1]![1], 'the second boot TFTP row');
    await again(PHASES[2]![1], 'the second boot script row');
    expect(await page.evaluate('window.__notReloaded')).toBe(true);
    await shot('04-after-power-cycle');
    passed++;
  }, 15 * MIN);

  it('Prometheus scraped /metrics during the boots: its query API returns the boot counters and the phase histogram', async () => {
    const value = async (expr: string, at?: number) => Number((await prom.query(expr, at))[0]?.value[1] ?? Number.NaN);
    // Scraped throughout (1 s interval): many samples since the power-on.
    const minutes = Math.ceil((Date.now() - powerOnAt) / MIN) + 1;
    expect(await value(`count_over_time(up{job="rackboot"}[${minutes}m])`)).toBeGreaterThan(30);
    // The counters rose during the boot: fewer boot events before the power-on than now.
    const now = Date.now() / 1000;
    const before = await value('sum(rackboot_boot_events_total)', powerOnAt / 1000 - 1);
    const after = await waitFor('the latest scrape', async () => {
      const v = await value('sum(rackboot_boot_events_total)', now);
      return Number.isFinite(v) && v > (Number.isFinite(before) ? before : 0) ? v : undefined;
    }, 20_000, 1000);
    expect(after).toBeGreaterThan(Number.isFinite(before) ? before : 0);
    expect(await value('sum(rackboot_dhcp_requests_total)')).toBeGreaterThan(0);
    expect(await value('sum(rackboot_dhcp_replies_total)')).toBeGreaterThan(0);
    expect(await value('sum(rackboot_tftp_transfers_total{result="sent"})')).toBeGreaterThan(0);
    expect(await value('sum(rackboot_http_requests_total{route="/boot.ipxe"})')).toBeGreaterThan(0);
    expect(await value('sum(rackboot_http_requests_total)')).toBeGreaterThan(0);
    // The boot phase histogram: buckets per phase, and the phases this boot went through.
    const buckets = await prom.query('rackboot_boot_phase_duration_seconds_bucket{le="+Inf"}');
    const counts = Object.fromEntries(buckets.map((s) => [s.metric.phase, Number(s.value[1])]));
    expect(counts.dhcp, JSON.stringify(counts)).toBeGreaterThanOrEqual(1);
    expect(counts.script, JSON.stringify(counts)).toBeGreaterThanOrEqual(1);
    expect(counts.kernel, JSON.stringify(counts)).toBeGreaterThanOrEqual(1);
    expect(counts.loader, JSON.stringify(counts)).toBeGreaterThanOrEqual(1);
    const p90 = await value('histogram_quantile(0.9, sum by (le) (rackboot_boot_phase_duration_seconds_bucket{phase="dhcp"}))');
    expect(p90).toBeGreaterThan(0);
    passed++;
  }, 2 * MIN);
});
