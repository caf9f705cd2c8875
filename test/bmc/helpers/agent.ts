/**
 * Runs inside a test namespace (the BMCs live there): reads JSON lines {id, method, args} on stdin,
 * calls the PowerService over the store in argv[2], answers {id, ok, result | error, ms, sent}.
 */
import { createInterface } from 'node:readline';
import { type Datagram, udpDatagram } from '../../../src/bmc/ipmi/transport.js';
import { PowerService } from '../../../src/bmc/service.js';
import { bmcSettingsSchema } from '../../../src/bmc/settings.js';
import { isAppError } from '../../../src/errors.js';
import { Store } from '../../../src/inventory/store.js';
import { silentLogger } from '../../../src/log.js';

const store = Store.open(process.argv[2]!);
const settings = bmcSettingsSchema.parse(JSON.parse(process.argv[3] ?? '{}'));
let sent = 0;
const counting = async (host: string, port: number): Promise<Datagram> => {
  const d = await udpDatagram(host, port);
  return { ...d, send: (b) => { sent++; d.send(b); } };
};
const svc = new PowerService(store, settings, silentLogger(), { datagrams: counting });
const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const { id, method, args } = JSON.parse(line) as { id: number; method: string; args: unknown[] };
  const t0 = Date.now();
  const before = sent;
  const out = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ id, ms: Date.now() - t0, sent: sent - before, ...o })}\n`);
  try {
    if (method === 'close') {
      await svc.close();
      out({ ok: true });
      return;
    }
    if (method === 'opened') {
      out({ ok: true, result: (svc.driverFor(args[0] as number) as unknown as { opened: number }).opened });
      return;
    }
    const fn = (svc as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!;
    out({ ok: true, result: await fn.apply(svc, args) });
  } catch (e) {
    out({ ok: false, error: isAppError(e) ? { code: e.code, message: e.message, details: e.details } : { code: 'X', message: String(e) } });
  }
});
rl.on('close', () => {
  void svc.close().then(() => store.close());
});
