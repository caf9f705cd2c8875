// Child process for the idle-connection test: the real app (buildApp on an in-memory store) with
// http.limits applied by limitConnections, listening on argv[2]:argv[3] in a test namespace.
// argv[4]: http.limits as JSON. Prints "listening", then the connection counters every 200 ms.
import { buildApp } from '../../../src/http/app.js';
import { limitConnections } from '../../../src/http/limits.js';
import { Store } from '../../../src/inventory/store.js';
import { silentLogger } from '../../../src/log.js';
import { defaultSettings } from '../../../src/settings.js';

const [host, port, limits] = process.argv.slice(2);
const settings = defaultSettings({ http: { host, port: Number(port), publicUrl: `http://${host}:${port}`, limits: JSON.parse(limits ?? '{}') } });
const store = Store.memory();
const app = await buildApp({ settings, store, log: silentLogger(), adminToken: 'test-token' });
const stats = limitConnections(app.server, settings.http.limits);
await app.listen({ host: settings.http.host, port: settings.http.port });
process.stdout.write('listening\n');
setInterval(() => {
  app.server.getConnections((_err, open) => process.stdout.write(`${JSON.stringify({ ...stats, open })}\n`));
}, 200);
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
