// Child process of pg-store.test.ts: opens one PostgreSQL store (migrating it) and prints its schema version.
import { Store } from '../../src/inventory/store.js';

const [url, dataDir] = process.argv.slice(2);
const store = Store.openPostgres(url!, dataDir!);
const version = Store.rawDb(store).prepare('SELECT max(version) FROM rackboot_schema').pluck().get();
store.close();
process.stdout.write(`version ${version}\n`);
