import { describe, expect, it } from 'vitest';
import { testApp } from '../helpers/app.js';

/** Malformed input on the routes this wave added: a clear 400/404 naming the problem, nothing stored. */
describe('malformed requests on the new API routes', () => {
  it.each([
    ['POST', '/api/v1/unknown-macs/not-a-mac/enroll', { name: 'x' }, 400, /not a MAC address/],
    ['POST', '/api/v1/unknown-macs/52:54:00:00:00:09/enroll', '{bad json', 400, /not valid JSON/],
    ['POST', '/api/v1/unknown-macs/52:54:00:00:00:09/enroll', { name: 'x', labels: 'nope' }, 400, /labels/],
    ['POST', '/api/v1/unknown-macs/52:54:00:00:00:09/enroll', { name: 'Bad Name' }, 400, /name/],
    ['GET', '/api/v1/why/ghost', undefined, 404, /no machine or MAC/],
    ['GET', '/api/v1/events/stream?after=abc', undefined, 400, /after/],
    ['GET', '/api/v1/events/stream?mac=zz', undefined, 400, /not a MAC address/],
    ['GET', '/api/v1/unknown-macs?limit=-1', undefined, 400, /limit/],
    ['DELETE', `/api/v1/tokens/${'x'.repeat(80)}`, undefined, 400, /ref/],
    ['DELETE', '/api/v1/tokens/nobody', undefined, 404, /./],
    ['POST', '/api/v1/tokens', { role: 'root' }, 400, /role/],
    ['POST', '/api/v1/tokens', { role: 'read', ttlSeconds: -5 }, 400, /ttlSeconds/],
    ['POST', '/api/v1/tokens', '{bad json', 400, /not valid JSON/],
    ['POST', '/api/v1/assets', { name: 'x', kind: 'disk', sha256: 'nothex', path: '/etc/passwd' }, 400, /sha256/],
  ])('%s %s → %i', async (method, url, payload, status, message) => {
    const { app, store, roles } = await testApp();
    const tokensBefore = store.apiTokens.list().length;
    const headers = { ...roles.admin, ...(typeof payload === 'string' ? { 'content-type': 'application/json' } : {}) };
    const r = await app.inject({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload: payload as string }) });
    expect(r.statusCode).toBe(status);
    expect(r.json().error.message).toMatch(message);
    expect(store.machines.list().length).toBe(0);
    expect(store.apiTokens.list().length).toBe(tokensBefore);
    await app.close();
  });
});
