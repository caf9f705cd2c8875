import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { type Settings, defaultSettings } from '../../src/settings.js';

/** An app on an in-memory store with a known admin token, for inject() tests. */
export async function testApp(overrides: Record<string, unknown> = {}): Promise<{
  app: FastifyInstance;
  store: Store;
  settings: Settings;
  auth: { authorization: string };
}> {
  const store = Store.memory();
  const settings = defaultSettings({ http: { publicUrl: 'http://198.18.0.1:8080' }, ...overrides });
  const app = await buildApp({ settings, store, log: silentLogger(), adminToken: 'test-token' });
  return { app, store, settings, auth: { authorization: 'Bearer test-token' } };
}
