import type { FastifyInstance } from 'fastify';
import type { AppDeps } from '../app.js';

/** Power and boot-device routes (filled in by the BMC subsystem). */
export function registerPowerRoutes(_app: FastifyInstance, _deps: AppDeps): void {}
