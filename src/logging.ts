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
    // Route-level log options need pino's own child; everything else gets a RequestLogger, which
    // makes its pino child only when a line is written at an enabled level.
    childLoggerFactory: (logger, bindings, options) =>
      options.level !== undefined || options.serializers !== undefined
        ? logger.child(bindings, options)
        : (new RequestLogger(logger as Logger, bindings) as unknown as typeof logger),
  };
}

type LevelName = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';
type LogArgs = Parameters<Logger['info']>;

/**
 * A request's logger that costs nothing until it writes. Fastify makes one per request, and a
 * pino child is not cheap (its bindings are serialised into a prefix string, a prototype is set
 * up): it was a seventh of a `GET /api/me`, although at the usual level most requests write
 * nothing. A stream keeps its request's logger for its whole life, so this saves memory per open
 * stream too. The child is made on the first line at an enabled level, and behaves as pino's
 * from then on (same bindings, same output).
 */
export class RequestLogger {
  readonly #parent: Logger;
  readonly #bindings: Record<string, unknown>;
  #child: Logger | null = null;

  constructor(parent: Logger, bindings: Record<string, unknown>) {
    this.#parent = parent;
    this.#bindings = bindings;
  }

  #logger(): Logger {
    this.#child ??= this.#parent.child(this.#bindings);
    return this.#child;
  }

  #write(level: LevelName, args: LogArgs): void {
    const logger = this.#child ?? this.#parent;
    if (logger.isLevelEnabled(level)) (this.#logger()[level] as (...a: LogArgs) => void)(...args);
  }

  get level(): string {
    return (this.#child ?? this.#parent).level;
  }
  set level(level: string) {
    this.#logger().level = level;
  }
  isLevelEnabled(level: string): boolean {
    return (this.#child ?? this.#parent).isLevelEnabled(level);
  }
  bindings(): Record<string, unknown> {
    return this.#logger().bindings();
  }
  child(bindings: Record<string, unknown>, options?: Parameters<Logger['child']>[1]): Logger<string> {
    return this.#logger().child(bindings, options);
  }
  fatal(...args: LogArgs): void {
    this.#write('fatal', args);
  }
  error(...args: LogArgs): void {
    this.#write('error', args);
  }
  warn(...args: LogArgs): void {
    this.#write('warn', args);
  }
  info(...args: LogArgs): void {
    this.#write('info', args);
  }
  debug(...args: LogArgs): void {
    this.#write('debug', args);
  }
  trace(...args: LogArgs): void {
    this.#write('trace', args);
  }
  silent(): void {}
}
