import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { POWER_ACTIONS } from '../../model/power.js';
import type { RouteDeps } from '../app.js';
import { parseBody } from '../validate.js';
import { documented } from './openapi.js';

const refParams = z.object({ ref: z.string().min(1).max(128) });

/** Body of POST /machines/:ref/power. */
export const powerActionSchema = z.object({ action: z.enum(POWER_ACTIONS) }).strict();

/** Body of PUT /machines/:ref/bootdev. */
export const bootDeviceSchema = z
  .object({
    device: z.enum(['pxe', 'disk', 'cdrom', 'bios', 'none']),
    persistent: z.boolean().default(false),
    uefi: z.boolean().default(false),
  })
  .strict();


/** Power and boot-device routes over the appliance's power control (main.ts builds and closes it). */
export function registerPowerRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const power = () => deps.power;
  const machineId = (params: unknown): number => deps.store.machines.get(parseBody(refParams, params, 'path').ref).id;

  app.get('/api/v1/machines/:ref/power', { config: { access: 'read' }, ...documented({ summary: 'Power state from the BMC (502/504 with a BMC_* code when the BMC fails)', params: refParams }) }, async (req) => power().getStatus(machineId(req.params)));
  app.post('/api/v1/machines/:ref/power', { config: { access: 'operate' }, ...documented({ summary: 'Power action: on, off, soft-off, cycle, reset', params: refParams, body: powerActionSchema }) }, async (req) => {
    const id = machineId(req.params);
    const { action } = parseBody(powerActionSchema, req.body, 'power action');
    return power().powerAction(id, action);
  });
  app.get('/api/v1/machines/:ref/bootdev', { config: { access: 'read' }, ...documented({ summary: 'Boot override as the BMC reports it', params: refParams }) }, async (req) => {
    const id = machineId(req.params);
    return { machineId: id, ...(await power().getBootDevice(id)) };
  });
  app.put('/api/v1/machines/:ref/bootdev', { config: { access: 'operate' }, ...documented({ summary: 'Set the boot device (once or persistent, UEFI or legacy)', params: refParams, body: bootDeviceSchema }) }, async (req) => {
    const id = machineId(req.params);
    const o = parseBody(bootDeviceSchema, req.body, 'boot device');
    return { machineId: id, ...(await power().setBootDevice(id, o)) };
  });
}
