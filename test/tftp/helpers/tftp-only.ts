// Child process for the per-client limit test: a TftpServer alone (no inventory), settings from
// argv as JSON, started in a test namespace. Prints "listening" once bound, then its stats as one
// JSON line every 200 ms.
import { silentLogger } from '../../../src/log.js';
import { TftpServer } from '../../../src/tftp/server.js';
import { tftpSettingsSchema } from '../../../src/tftp/settings.js';

const [root, json] = process.argv.slice(2);
const settings = tftpSettingsSchema.parse(JSON.parse(json ?? '{}'));
const server = new TftpServer({ settings, root: root!, log: silentLogger() });
await server.listen(settings.host, settings.port);
process.stdout.write('listening\n');
setInterval(() => process.stdout.write(`${JSON.stringify({ ...server.stats, active: server.activeTransfers })}\n`), 200);
process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
