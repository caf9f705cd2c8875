import type { FastifyInstance } from 'fastify';
import { exportInventory, importInventory } from '../../inventory/import.js';
import type { AppDeps } from '../app.js';
import { inventoryFileSchema } from '../schemas.js';
import { parseBody } from '../validate.js';

/** POST /api/v1/inventory/import (all or nothing) and GET /api/v1/inventory/export. */
export function registerInventoryRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.post('/api/v1/inventory/import', { config: { access: 'admin' } }, async (req) => {
    const file = parseBody(inventoryFileSchema, req.body, 'inventory file');
    const result = importInventory(deps.store, file);
    deps.store.events.add({ source: 'api', kind: 'inventory.imported', detail: { ...result } });
    return result;
  });
  app.get('/api/v1/inventory/export', { config: { access: 'read' } }, async () => exportInventory(deps.store));
}
