/**
 * Bench helper: writes `count` client MACs (one per line, for perfdhcp -M) and registers them
 * as machines in the rackboot data dir, since rackboot answers registered MACs only. Also
 * registers the MACs perfdhcp derives from its default template for `-R <avalanche>` (the
 * avalanche scenario does not take -M lists well).
 *   node --import tsx bench/dhcp/seed.ts <dataDir> <macFile> <count> [avalanche]
 */
import { writeFileSync } from 'node:fs';
import { Store } from '../../src/inventory/store.js';

const [dataDir, macFile, countArg, avalancheArg] = process.argv.slice(2);
if (!dataDir || !macFile) throw new Error('usage: seed.ts <dataDir> <macFile> <count>');
const count = Math.min(Number(countArg ?? 100_000), 1_000_000);
const macs: string[] = [];
for (let i = 0; i < count; i++) {
  const h = (0x020000000000 + i).toString(16).padStart(12, '0');
  macs.push(h.match(/../g)!.join(':'));
}
writeFileSync(macFile, `${macs.join('\n')}\n`);

/**
 * perfdhcp's client MACs for -R n: template 00:0c:01:02:03:04 plus a number r < n added
 * octet by octet from the end, without carry (Kea TestControl::generateMacAddress).
 */
function templateMac(r: number): string {
  const b = [0x00, 0x0c, 0x01, 0x02, 0x03, 0x04];
  for (let i = 5; i >= 0; i--) {
    b[i] = (b[i]! + r) & 255;
    if (r < 256) break;
    r >>>= 8;
  }
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}
const extra = [...new Set(Array.from({ length: Math.min(Number(avalancheArg ?? 0), 100_000) }, (_, r) => templateMac(r)))];
const store = Store.open(dataDir);
const t0 = Date.now();
store.transaction(() => {
  macs.forEach((mac, i) => store.machines.create({ name: `bench-${i}`, macs: [mac] }));
  extra.forEach((mac, i) => store.machines.create({ name: `bench-avalanche-${i}`, macs: [mac] }));
});
store.close();
process.stderr.write(`seeded ${count} machines in ${Date.now() - t0} ms\n`);
