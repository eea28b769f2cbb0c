import cluster from 'node:cluster';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.ts';
import { createBearerKeyCheck } from '../web/bearer-key.ts';
import { createNoopMetrics, type Metrics } from './metrics.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Counters, gauges and histograms for Prometheus; no-ops when METRICS_API_KEY is unset. */
    metrics: Metrics;
  }
}

/**
 * `app.metrics`, registered first so every feature can count, plus the HTTP duration histogram.
 * Requests are labelled by their route *pattern* (`/courses/:id/rename`), never the raw URL: one
 * label value per URL would grow the series without bound. Hijacked requests (event streams)
 * never complete a response, so they are counted by the stream metrics instead.
 */
export default fp(
  async (app, opts: { config: Config }) => {
    const enabled = opts.config.metricsApiKey !== null;
    const metrics = enabled
      ? (await import('./prometheus.ts')).createPrometheusMetrics({ clusterWorker: cluster.isWorker })
      : createNoopMetrics();
    app.decorate('metrics', metrics);
    if (!enabled) return;
    const duration = metrics.histogram(
      'http_request_duration_seconds',
      'HTTP request duration by method, route pattern and status',
      ['method', 'route', 'status_code'],
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    );
    // Callback style: no promise per request for one observation.
    app.addHook('onResponse', (request, reply, done) => {
      duration.observe(
        {
          method: request.method,
          route: request.routeOptions.url ?? 'unmatched',
          status_code: reply.statusCode,
        },
        reply.elapsedTime / 1000,
      );
      done();
    });
  },
  { name: 'metrics' },
);

/** The media type of the Prometheus text format (prom-client adds `; charset=utf-8`). */
const EXPOSITION_TYPE = 'text/plain; version=0.0.4';

const metricsSchema = {
  summary: 'Metrics (Prometheus)',
  security: [{ metricsKey: [] }],
  description:
    'This instance’s metrics in the Prometheus text format (under WORKERS, summed over its workers). Only registered when METRICS_API_KEY is set; send it as a bearer token.',
  tags: ['operations'],
  response: {
    // Text, not JSON: documented by media type so the document says what a scraper receives.
    200: {
      description: 'The metrics in the Prometheus text exposition format 0.0.4',
      content: {
        [EXPOSITION_TYPE]: {
          schema: Type.String({
            examples: [
              '# HELP sse_open_streams Event streams open on this instance\n# TYPE sse_open_streams gauge\nsse_open_streams 3\n',
            ],
          }),
        },
      },
    },
    401: Type.Object(
      { error: Type.String({ description: 'What went wrong, for a person to read' }) },
      { description: 'Missing or wrong key', examples: [{ error: 'Invalid API key' }] },
    ),
  },
};

/**
 * `GET /metrics`: this instance's figures in the Prometheus text format, for a scraper holding
 * METRICS_API_KEY as a bearer token. Only registered when the key is set. Each instance reports
 * its own figures (under WORKERS, the sum over its workers); Prometheus sums the instances.
 */
export async function metricsRoutes(app: FastifyInstance, opts: { apiKey: string }) {
  const authorized = createBearerKeyCheck(opts.apiKey);
  app.get('/metrics', { schema: metricsSchema }, async (request, reply) => {
    if (!authorized(request.headers.authorization))
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'Invalid API key' });
    const exposition = await app.metrics.expose();
    if (exposition === null) throw new TypeError('metrics routes need METRICS_API_KEY');
    return reply.type(exposition.contentType).header('cache-control', 'no-store').send(exposition.body);
  });
}
