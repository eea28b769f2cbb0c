import Fastify, { type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import accountsPlugin from './accounts/plugin.ts';
import authApiRoutes from './auth/api-routes.ts';
import authPlugin from './auth/plugin.ts';
import authRoutes from './auth/routes.ts';
import type { Config } from './config.ts';
import coursesPlugin from './courses/plugin.ts';
import dbPlugin from './db/plugin.ts';
import eventsPlugin from './events/plugin.ts';
import { loggerOptions } from './logging.ts';
import metricsPlugin, { metricsRoutes } from './metrics/plugin.ts';
import { createClientErrorHandler } from './web/client-errors.ts';
import { refuseExpectation, screenRequest } from './web/errors.ts';
import healthRoutes from './web/health.ts';
import webPlugin from './web/plugin.ts';
import { redirect } from './web/schemas.ts';
import { computeSecurityHeaders, securityPolicy } from './web/security-headers.ts';

/** Limits that keep one request from costing the server much: body, headers (slow senders: config). */
const BODY_LIMIT_BYTES = 64 * 1024;
const HEADER_LIMIT_BYTES = 16 * 1024;

/**
 * Builds the whole application; `server.ts` only listens. Tests build it too, with their own
 * config. Registration order is fixed: (API docs collector) → metrics → db → web (cookies,
 * headers, CSRF, views) → auth → events → features → (API docs pages).
 */
export async function buildApp(
  config: Config,
  options: { logStream?: DestinationStream } = {},
): Promise<FastifyInstance> {
  const requestTimeoutMs = config.requestTimeoutSeconds * 1000;
  // Computed once, for every response (web/plugin.ts) and for parser errors (client-errors.ts).
  const securityHeaders = computeSecurityHeaders(securityPolicy(config.debug));
  const app = Fastify({
    ...loggerOptions(config, options.logStream),
    bodyLimit: BODY_LIMIT_BYTES,
    // Undecodable URLs, HTTP/1.1 requests without Host, unmeetable `Expect`s and over-long path
    // parameters go to the not-found handler, inside the normal lifecycle (security headers, the
    // one error handler), instead of Node's or Fastify's own answers that skip every hook and
    // quote the URL back (see web/errors.ts). For parameters, a null handler is find-my-way's
    // "none": the request falls through to the default (404) route.
    rewriteUrl: screenRequest,
    routerOptions: { maxParamLength: 200, onMaxParamLength: null as never },
    // A request arriving while the server shuts down is answered by the app as usual (with
    // `Connection: close`), not by Fastify's own 503 that skips every hook.
    return503OnClosing: false,
    // Answers to requests Node's parser refuses (400, 408, 431) get the same security headers as
    // any JSON answer.
    clientErrorHandler: createClientErrorHandler(securityHeaders.resource),
    http: {
      maxHeaderSize: HEADER_LIMIT_BYTES,
      headersTimeout: requestTimeoutMs,
      requestTimeout: requestTimeoutMs,
      // Node enforces the timeout when it sweeps its connections, every 30 s by default, which
      // let a slow sender hold a request for up to twice the limit; sweep at a tenth of it.
      connectionsCheckingInterval: Math.min(5000, Math.max(250, requestTimeoutMs / 10)),
      // Node would answer a missing Host with a bare 400 of its own; screenRequest refuses it.
      requireHostHeader: false,
    },
    trustProxy: config.trustProxy,
    // Bounds how long a client may take to *send* a request (REQUEST_TIMEOUT_SECONDS, then 408);
    // responses, streams included, are unaffected.
    requestTimeout: requestTimeoutMs,
    // On close, after the events plugin has ended every stream (preClose), remaining sockets are
    // closed. ('idle' would let requests in flight finish, but Fastify only applies it with a
    // serverFactory and Node's own idle sweep misses keep-alive sockets: close then waits ~4 s.)
    forceCloseConnections: true,
    // Odd shapes are refused, not reinterpreted: without this Ajv turns `null` into "" and 42
    // into "42". (Query strings and params arrive as strings anyway.) `__proto__` and
    // `constructor` keys in JSON are refused with 400 — Fastify's default, stated here on purpose.
    ajv: { customOptions: { coerceTypes: false } },
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });

  // Without a listener Node answers an unmeetable `Expect` with a bare 417 of its own.
  app.server.on('checkExpectation', refuseExpectation(app.routing));
  // Log lines still in the asynchronous writer's buffer go out before the app is gone.
  app.addHook('onClose', (_instance, done) => {
    (app.log as unknown as { flush(cb: () => void): void }).flush(() => done());
  });
  // Before any route, so the OpenAPI document sees them all. Swagger loads only when it is served.
  const apiDocs = config.apiDocs ? await import('./web/api-docs.ts') : null;
  if (apiDocs) await app.register(apiDocs.openApiCollector);
  // Echoed on every answer (streams included), so a client can quote it when reporting a problem.
  // Callback style: no promise per request for one header.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  await app.register(metricsPlugin, { config });
  await app.register(dbPlugin, { config });
  await app.register(webPlugin, { config, securityHeaders });
  await app.register(authPlugin, { config });
  await app.register(eventsPlugin, { config });
  await app.register(healthRoutes);
  if (config.metricsApiKey !== null) await app.register(metricsRoutes, { apiKey: config.metricsApiKey });
  await app.register(authRoutes, { config });
  await app.register(authApiRoutes, { config });
  await app.register(coursesPlugin, { config });
  await app.register(accountsPlugin, { config });
  if (apiDocs) await app.register(apiDocs.apiDocsRoutes);
  app.get(
    '/',
    { schema: { summary: 'Home', tags: ['pages'], response: { 302: redirect('To the login form') } } },
    async (_request, reply) => reply.redirect('/login', 302),
  );
  return app;
}
