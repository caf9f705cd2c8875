import type { FastifyInstance } from 'fastify';
import { isAppError } from '../../errors.js';
import { EventFeed, storeEventSource } from '../../lifecycle/event-feed.js';
import { Metrics } from '../../metrics/metrics.js';
import type { AppDeps } from '../app.js';
import { EVENT_STREAM_DEFAULTS, type EventStreamOptions, registerEventStream } from './event-stream.js';
import { documented } from './openapi.js';
import { registerWhyRoutes } from './why.js';

/** What the observability routes take beyond AppDeps (all optional). */
export interface ObservabilityDeps extends AppDeps {
  /** The appliance's metrics; built here when not given (one per app). */
  metrics?: Metrics;
  /** How often the shared poller reads new events (ms). */
  feedIntervalMs?: number;
  /** Live event stream limits. */
  eventStream?: Partial<EventStreamOptions>;
  /** The clock diagnoses are judged at. */
  now?: () => number;
}

/**
 * Diagnosis (`/api/v1/why/:ref`), unknown MACs, the live event stream and Prometheus
 * `/metrics`, all on the management listener. One EventFeed polls the events table for every
 * stream and for the metrics; it starts when the app is ready and stops when it closes.
 */
export function registerObservabilityRoutes(app: FastifyInstance, deps: ObservabilityDeps): Metrics {
  const log = deps.log.child({ subsys: 'observability' });
  const metrics = deps.metrics ?? new Metrics({ store: deps.store });
  const feed = new EventFeed(storeEventSource(deps.store), {
    intervalMs: deps.feedIntervalMs ?? 500,
    // A store outage is logged once by main.ts; a tick it fails is only a debug line.
    onError: (err) => (isAppError(err, 'STORE_UNAVAILABLE') ? log.debug({ err }, 'event feed tick failed: store unavailable') : log.warn({ err }, 'event feed tick failed')),
  });
  feed.subscribe((events) => metrics.observeEvents(events));
  const streams = registerEventStream(app, deps.store, feed, { ...EVENT_STREAM_DEFAULTS, ...deps.eventStream });
  registerWhyRoutes(app, deps, deps.now);

  // Prometheus scrapes with `authorization: { credentials_file: <read token file> }` over TLS.
  app.get('/metrics', { config: { access: 'read' }, ...documented({ summary: 'Prometheus metrics (read token)', produces: 'text/plain' }) }, async (_req, reply) => {
    metrics.streamClients.set(streams.size);
    const { contentType, text } = await metrics.expose();
    return reply.header('content-type', contentType).header('cache-control', 'no-store').send(text);
  });

  app.addHook('onResponse', async (req, reply) => {
    metrics.observeHttp(req.routeOptions.url ?? 'unmatched', req.method, reply.statusCode, reply.elapsedTime / 1000);
  });
  app.addHook('onReady', async () => feed.start());
  // Before the servers close: open streams would otherwise hold their connections.
  app.addHook('preClose', async () => {
    feed.stop();
    streams.closeAll();
  });
  return metrics;
}
