import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import authPlugin from './auth/plugin.ts';
import authRoutes from './auth/routes.ts';
import type { Config } from './config.ts';
import coursesPlugin from './courses/plugin.ts';
import dbPlugin from './db/plugin.ts';
import eventsPlugin from './events/plugin.ts';
import healthRoutes from './web/health.ts';
import webPlugin from './web/plugin.ts';

/** Limits that keep one request from costing the server much: body, headers, slow senders. */
const BODY_LIMIT_BYTES = 64 * 1024;
const HEADER_LIMIT_BYTES = 16 * 1024;

/**
 * Builds the whole application; `server.ts` only listens. Tests build it too, with their own
 * config. Registration order is fixed: db → web (cookies, headers, CSRF, views) → auth → events
 * → features.
 */
export async function buildApp(config: Config): Promise<FastifyInstance> {
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
    routerOptions: { maxParamLength: 200 },
    http: { maxHeaderSize: HEADER_LIMIT_BYTES },
    trustProxy: config.trustProxy,
    // Bounds how long a client may take to *send* a request; streams are unaffected.
    requestTimeout: 30_000,
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
  await app.register(webPlugin, { config });
  await app.register(authPlugin, { config });
  await app.register(eventsPlugin, { config });
  await app.register(healthRoutes);
  await app.register(authRoutes, { config });
  await app.register(coursesPlugin);
  app.get('/', async (_request, reply) => reply.redirect('/login', 302));
  return app;
}
