// Child process for the crash test: commits numbered rows in transactions, printing each
// committed number; the parent SIGKILLs it mid-stream.
import { Store } from '../../src/inventory/store.js';

const dir = process.argv[2]!;
const store = Store.open(dir);
let n = 0;
const tick = () => {
  for (let i = 0; i < 50; i++) {
    store.transaction(() => {
      const name = `m${n}`;
      const m = store.machines.create({ name, macs: [(0x020000000000 + n).toString(16).padStart(12, '0')] });
      store.events.add({ machineId: m.id, source: 'test', kind: 'crash.row', detail: { n } });
    });
    process.stdout.write(`${n}\n`);
    n++;
  }
  setImmediate(tick);
};
tick();
