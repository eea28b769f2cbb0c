/**
 * Logger options for Fastify's pino: JSON lines in production (one object per line, for log
 * shippers), human-readable output through pino-pretty in DEBUG, secrets redacted either way.
 * Request ids: a caller's (or proxy's) `X-Request-Id` is kept when it is a sane token, so one id
 * follows a request through nginx, this app and whatever it calls; anything else gets a fresh one.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { FastifyServerOptions } from 'fastify';
import { type DestinationStream, type Logger, pino } from 'pino';
import type pinoPretty from 'pino-pretty';
import type { Config } from './config.ts';

/** Bounded and plain: it is written into every log line and echoed in a response header. */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/** The request id: `X-Request-Id` when it is safe to log and echo, otherwise a new UUID. */
export function requestIdFor(header: string | string[] | undefined): string {
  return typeof header === 'string' && REQUEST_ID.test(header) ? header : randomUUID();
}

const basics = (config: Config) => ({
  level: config.logLevel,
  redact: {
    paths: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]', '*.password'],
    censor: '[redacted]',
  },
});

/**
 * pino-pretty, in-process (no worker thread), when DEBUG is on and anything is logged at all.
 * Loaded only then (production never pays for it at start-up); CommonJS, so `require` keeps this
 * synchronous.
 */
const prettyStream = (config: Config) =>
  config.debug && config.logLevel !== 'silent'
    ? (createRequire(import.meta.url)('pino-pretty') as typeof pinoPretty)({
        colorize: process.stdout.isTTY,
        translateTime: 'SYS:HH:MM:ss.l',
        ignore: 'hostname',
      })
    : undefined;

/** A logger for code outside the app (the cluster primary), formatted like the app's. */
export function createProcessLogger(config: Config): Logger {
  const stream = prettyStream(config);
  return stream ? pino(basics(config), stream) : pino(basics(config));
}

/**
 * Production lines leave through an asynchronous writer: a request never waits on a write(2) to
 * stdout (pino's default destination is synchronous), and lines written while one write is in
 * flight go out together. pino flushes what is left when the process exits; the app flushes on
 * close.
 */
const jsonStream = () => pino.destination({ dest: 1, sync: false });

/** Fastify's logger and request-id options; `destination` replaces stdout (tests read the lines). */
export function loggerOptions(
  config: Config,
  destination?: DestinationStream,
): Pick<FastifyServerOptions, 'logger' | 'genReqId' | 'childLoggerFactory'> {
  const stream = destination ?? prettyStream(config) ?? jsonStream();
  return {
    logger: { ...basics(config), stream },
    genReqId: (request: IncomingMessage) => requestIdFor(request.headers['x-request-id']),
    // Fastify hands pino an options object even when it is empty, which sends every request's
    // child logger down pino's slow path (new formatters per request, kept for a stream's whole
    // life). Without route-level log options, a plain child does the same job.
    childLoggerFactory: (logger, bindings, options) =>
      options.level !== undefined || options.serializers !== undefined
        ? logger.child(bindings, options)
        : logger.child(bindings),
  };
}
