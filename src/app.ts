import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import accountsPlugin from './accounts/plugin.ts';
import authPlugin from './auth/plugin.ts';
import authRoutes from './auth/routes.ts';
import type { Config } from './config.ts';
import coursesPlugin from './courses/plugin.ts';
import dbPlugin from './db/plugin.ts';
import eventsPlugin from './events/plugin.ts';
import { createClientErrorHandler } from './web/client-errors.ts';
import { routableUrl } from './web/errors.ts';
import healthRoutes from './web/health.ts';
import webPlugin from './web/plugin.ts';
import { computeSecurityHeaders, securityPolicy } from './web/security-headers.ts';

/** Limits that keep one request from costing the server much: body, headers (slow senders: config). */
const BODY_LIMIT_BYTES = 64 * 1024;
const HEADER_LIMIT_BYTES = 16 * 1024;

/**
 * Builds the whole application; `server.ts` only listens. Tests build it too, with their own
 * config. Registration order is fixed: db → web (cookies, headers, CSRF, views) → auth → events
 * → features.
 */
export async function buildApp(config: Config): Promise<FastifyInstance> {
  const requestTimeoutMs = config.requestTimeoutSeconds * 1000;
  // Computed once, for every response (web/plugin.ts) and for parser errors (client-errors.ts).
  const securityHeaders = computeSecurityHeaders(securityPolicy(config.debug));
  // Log lines leave through an asynchronous writer: a request never waits on a write(2) to
  // stdout (pino's default), and lines written while one write is in flight go out together.
  // pino flushes what is left when the process exits.
  const logStream = pino.destination({ dest: 1, sync: false });
  const app = Fastify({
    logger: {
      stream: logStream,
      level: config.logLevel,
      redact: {
        paths: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]', '*.password'],
        censor: '[redacted]',
      },
    },
    // Fastify hands pino an options object even when it is empty, which sends every request's
    // child logger down pino's slow path (new formatters and serializers per request, kept for
    // a stream's whole life). Without route-level log options, a plain child does the same job.
    childLoggerFactory: (logger, bindings, options) =>
      options.level !== undefined || options.serializers !== undefined
        ? logger.child(bindings, options)
        : logger.child(bindings),
    bodyLimit: BODY_LIMIT_BYTES,
    // Undecodable URLs and over-long path parameters go to the not-found handler, inside the
    // normal lifecycle (security headers, the one error handler), instead of Fastify's own answers
    // that skip every hook and quote the URL back (see web/errors.ts). For parameters, a null
    // handler is find-my-way's "none": the request falls through to the default (404) route.
    rewriteUrl: (request) => routableUrl(request.url ?? '/'),
    routerOptions: { maxParamLength: 200, onMaxParamLength: null as never },
    // Answers to requests Node's parser refuses (400, 408, 431) get the same security headers.
    clientErrorHandler: createClientErrorHandler(securityHeaders.headers),
    http: {
      maxHeaderSize: HEADER_LIMIT_BYTES,
      headersTimeout: requestTimeoutMs,
      requestTimeout: requestTimeoutMs,
      // Node enforces the timeout when it sweeps its connections, every 30 s by default, which
      // let a slow sender hold a request for up to twice the limit; sweep at a tenth of it.
      connectionsCheckingInterval: Math.min(5000, Math.max(250, requestTimeoutMs / 10)),
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

  app.addHook('onClose', (_instance, done) => logStream.flush(() => done()));
  await app.register(dbPlugin, { config });
  await app.register(webPlugin, { config, securityHeaders });
  await app.register(authPlugin, { config });
  await app.register(eventsPlugin, { config });
  await app.register(healthRoutes);
  await app.register(authRoutes, { config });
  await app.register(coursesPlugin, { config });
  await app.register(accountsPlugin, { config });
  app.get('/', async (_request, reply) => reply.redirect('/login', 302));
  return app;
}
