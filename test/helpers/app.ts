import type { FastifyInstance } from 'fastify';
import { type ApplianceServices, appServices, buildServices, closeServices } from '../../src/appliance-services.js';
import type { PowerServiceSeams } from '../../src/bmc/service.js';
import type { Role } from '../../src/http/access.js';
import { buildApp } from '../../src/http/app.js';
import { Store } from '../../src/inventory/store.js';
import { silentLogger } from '../../src/log.js';
import { type Settings, defaultSettings } from '../../src/settings.js';

/**
 * An app on an in-memory store with a known admin token and one API token per role, for inject()
 * tests. Its services are built as main.ts builds them (appliance-services.ts); the rollout runner
 * and readiness monitor run while the app is ready (as in a served appliance) and everything is
 * closed with the app.
 */
export async function testApp(overrides: Record<string, unknown> = {}, extra: { uiDir?: string; powerSeams?: PowerServiceSeams } = {}): Promise<{
  app: FastifyInstance;
  store: Store;
  settings: Settings;
  services: ApplianceServices;
  auth: { authorization: string };
  /** Authorization headers of a fresh `read`, `operate` and `admin` token. */
  roles: Record<Role, { authorization: string }>;
}> {
  const store = Store.memory();
  const settings = defaultSettings({ http: { publicUrl: 'http://198.18.0.1:8080' }, ...overrides });
  const log = silentLogger();
  const services = buildServices({ settings, store, log, publicUrl: () => settings.http.publicUrl ?? '', ...(extra.powerSeams ? { powerSeams: extra.powerSeams } : {}) });
  const app = await buildApp({ settings, store, log, adminToken: 'test-token', ...appServices(services), ...(extra.uiDir ? { uiDir: extra.uiDir } : {}) });
  app.addHook('onReady', async () => services.rollouts.start());
  app.addHook('onClose', async () => closeServices(services));
  const bearer = (role: Role) => ({ authorization: `Bearer ${store.apiTokens.create({ name: `test-${role}`, role }).secret}` });
  return { app, store, settings, services, auth: { authorization: 'Bearer test-token' }, roles: { read: bearer('read'), operate: bearer('operate'), admin: bearer('admin') } };
}
