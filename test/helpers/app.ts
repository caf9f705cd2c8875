import type { FastifyInstance } from 'fastify';
import type { Role } from '../../src/http/access.js';
import { buildApp } from '../../src/http/app.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { type Settings, defaultSettings } from '../../src/settings.js';

/** An app on an in-memory store with a known admin token and one API token per role, for inject() tests. */
export async function testApp(overrides: Record<string, unknown> = {}, extra: { uiDir?: string } = {}): Promise<{
  app: FastifyInstance;
  store: Store;
  settings: Settings;
  auth: { authorization: string };
  /** Authorization headers of a fresh `read`, `operate` and `admin` token. */
  roles: Record<Role, { authorization: string }>;
}> {
  const store = Store.memory();
  const settings = defaultSettings({ http: { publicUrl: 'http://198.18.0.1:8080' }, ...overrides });
  const app = await buildApp({ settings, store, log: silentLogger(), adminToken: 'test-token', ...extra });
  const bearer = (role: Role) => ({ authorization: `Bearer ${store.apiTokens.create({ name: `test-${role}`, role }).secret}` });
  return { app, store, settings, auth: { authorization: 'Bearer test-token' }, roles: { read: bearer('read'), operate: bearer('operate'), admin: bearer('admin') } };
}
