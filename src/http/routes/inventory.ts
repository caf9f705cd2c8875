import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { AppError } from '../../errors.js';
import { exportInventory, importInventory } from '../../config/inventory-file.js';
import { callerOf, mayUnseal } from '../access.js';
import type { AppDeps } from '../app.js';
import { inventoryFileSchema } from '../schemas.js';
import { parseBody } from '../validate.js';
import { documented } from './openapi.js';
import { EVENT } from '../../lifecycle/event-kinds.js';

const exportQuery = z.object({ withSecrets: z.enum(['true', 'false']).optional().transform((v) => v === 'true') });

/** POST /api/v1/inventory/import (all or nothing) and GET /api/v1/inventory/export. */
export function registerInventoryRoutes(app: FastifyInstance, deps: AppDeps): void {
  app.post('/api/v1/inventory/import', { config: { access: 'admin' }, ...documented({ summary: 'Import an inventory file (all or nothing)', body: inventoryFileSchema }) }, async (req) => {
    const file = parseBody(inventoryFileSchema, req.body, 'inventory file');
    const result = importInventory(deps.store, file);
    deps.store.events.add({ source: 'api', kind: EVENT.inventoryImported, detail: { ...result } });
    return result;
  });
  app.get('/api/v1/inventory/export', { config: { access: 'read' }, ...documented({ summary: 'Export the inventory (secrets as <sealed>; withSecrets=true needs admin)', querystring: exportQuery }) }, async (req) => {
    const { withSecrets } = parseBody(exportQuery, req.query, 'query');
    if (!withSecrets) return exportInventory(deps.store);
    if (!mayUnseal(req)) throw new AppError('FORBIDDEN', 'withSecrets=true needs an admin token');
    deps.store.events.add({ source: 'api', kind: EVENT.inventoryExported, detail: { withSecrets: true, caller: callerOf(req)?.name ?? null } });
    return exportInventory(deps.store, { withSecrets: true });
  });
}
