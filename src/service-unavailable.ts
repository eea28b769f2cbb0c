/**
 * A dependency the request needs (the database, Redis) cannot be reached right now, or password
 * hashing has more work queued than it can do in time (src/auth/hashing-queue.ts). Thrown at the
 * edge of each client (src/db/faults.ts, src/events/redis-faults.ts) so callers and the one
 * error handler see one type whatever the driver; answered `503` with `Retry-After`, and never
 * counted as a server bug. Everything else keeps working meanwhile.
 */
export type Dependency = 'database' | 'redis' | 'password-hashing';

export class ServiceUnavailableError extends Error {
  readonly statusCode = 503;
  readonly code = 'SERVICE_UNAVAILABLE';
  readonly dependency: Dependency;
  /** What `Retry-After` tells clients: long enough not to hammer, short enough to heal fast. */
  readonly retryAfterSeconds: number;

  constructor(dependency: Dependency, options: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    // The answer names no dependency, host or driver error (clients learn nothing of the insides);
    // the log line says which.
    super('Service temporarily unavailable; try again shortly', { cause: options.cause });
    this.name = 'ServiceUnavailableError';
    this.dependency = dependency;
    this.retryAfterSeconds = options.retryAfterSeconds ?? 5;
  }
}
