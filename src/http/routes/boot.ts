import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';

/** Boot scripts, assets, config delivery and phone-home (filled in by the HTTP boot subsystem). */
export async function registerBootRoutes(_app: FastifyInstance, _deps: AppDeps): Promise<void> {}
