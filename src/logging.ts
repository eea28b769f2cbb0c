/**
 * Logger options for Fastify's pino: JSON lines in production (one object per line, for log
 * shippers), human-readable output through pino-pretty in DEBUG, secrets redacted either way.
 * Request ids: a caller's (or proxy's) `X-Request-Id` is kept when it is a sane token, so one id
 * follows a request through nginx, this app and whatever it calls; anything else gets a fresh one.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyServerOptions } from 'fastify';
import { type DestinationStream, type Logger, pino } from 'pino';
import pretty from 'pino-pretty';
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

/** pino-pretty, in-process (no worker thread), when DEBUG is on and anything is logged at all. */
const prettyStream = (config: Config) =>
  config.debug && config.logLevel !== 'silent'
    ? pretty({ colorize: process.stdout.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'hostname' })
    : undefined;

/** A logger for code outside the app (the cluster primary), formatted like the app's. */
export function createProcessLogger(config: Config): Logger {
  const stream = prettyStream(config);
  return stream ? pino(basics(config), stream) : pino(basics(config));
}

/** Fastify's logger and request-id options; `destination` replaces stdout (tests read the lines). */
export function loggerOptions(
  config: Config,
  destination?: DestinationStream,
): Pick<FastifyServerOptions, 'logger' | 'genReqId'> {
  const stream = destination ?? prettyStream(config);
  return {
    logger: { ...basics(config), ...(stream ? { stream } : {}) },
    genReqId: (request: IncomingMessage) => requestIdFor(request.headers['x-request-id']),
  };
}
