/**
 * What the CLI must do beyond its database write. Telling running servers that a user's sessions
 * ended: servers answer session checks from an in-process cache that their event bus keeps true,
 * so the CLI's write takes effect on a running server when it hears of it — at once through the
 * Redis bus, or (without REDIS_URL, when that bus lives inside each server process, out of this
 * process's reach) at the server's next session check (every SSE_SESSION_CHECK_SECONDS), for
 * requests and open streams alike. And deleting a removed user's messages from the event log,
 * which lives in Redis when REDIS_URL is set.
 */

import { Redis } from 'ioredis';
import type { SessionEndReason } from '../auth/service.ts';
import type { Config } from '../config.ts';
import type { DatabaseHandle } from '../db/connect.ts';
import { createRedisBackend, defaultRedisPrefix } from '../events/redis-backend.ts';
import { createSqlEventLog } from '../events/sql-log.ts';
import type { EventBackend } from '../events/types.ts';

/** How long the CLI waits for Redis before giving up on telling the servers. */
const REDIS_TIMEOUT_MS = 5_000;

export const NO_BUS_NOTE =
  'Note: REDIS_URL is not set, so running servers were not told. They refuse the old sessions, ' +
  'requests and open event streams alike, from their next session check, within ' +
  'SSE_SESSION_CHECK_SECONDS (30 s by default).';

/** Publishes `session-ended` on the deployment's Redis bus; null when done, else a note why not. */
export async function announceSessionEnd(
  config: Config,
  username: string,
  reason: SessionEndReason,
): Promise<string | null> {
  if (config.redisUrl === null) return NO_BUS_NOTE;
  const problem = await withRedisBackend(config, config.redisUrl, (backend) =>
    backend.bus.publish({ kind: 'session-ended', username, reason }),
  );
  return problem === null ? null : unreachable(problem);
}

/**
 * Deletes a removed user's messages from the deployment's event log (Redis, or without REDIS_URL
 * the database), so that a new account of the same name cannot replay them; null when done, else
 * a note why not.
 */
export async function forgetMessages(
  config: Config,
  database: Pick<DatabaseHandle, 'db' | 'dialect'>,
  username: string,
): Promise<string | null> {
  if (config.redisUrl === null) {
    await createSqlEventLog(database.db, database.dialect, retentionOf(config)).forget(username);
    return null;
  }
  const problem = await withRedisBackend(config, config.redisUrl, (backend) => backend.log.forget(username));
  return problem === null
    ? null
    : `Warning: could not delete their messages from Redis (${problem}); they expire after ` +
        'SSE_REPLAY_MAX_AGE_HOURS, and until then a new account of this name could replay them.';
}

const retentionOf = (config: Config) => ({
  perRecipient: config.sseReplayLimit,
  bytesPerRecipient: config.sseLogMaxBytes,
  maxAgeMs: config.sseReplayMaxAgeHours * 3_600_000,
});

/** Runs `work` on the servers' Redis backend; null when done, else why it could not be. */
async function withRedisBackend(
  config: Config,
  url: string,
  work: (backend: EventBackend) => Promise<unknown>,
): Promise<string | null> {
  // The backend's clients retry forever; find out first, with one attempt, whether Redis answers.
  const problem = await pingRedis(url);
  if (problem !== null) return problem;
  const errors: unknown[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer from Redis within ${REDIS_TIMEOUT_MS} ms`)),
      REDIS_TIMEOUT_MS,
    );
  });
  const connecting = createRedisBackend({
    url,
    // Must match the servers' namespace, derived from the same configuration.
    prefix: config.redisKeyPrefix ?? defaultRedisPrefix(config.secretKey, config.databaseUrl),
    retention: retentionOf(config),
    onError: (error) => errors.push(error),
  });
  try {
    const backend = await Promise.race([connecting, timeout]);
    try {
      await Promise.race([work(backend), timeout]);
    } finally {
      await backend.close();
    }
    return null;
  } catch (error) {
    // A backend that connects after the timeout must still be closed, or the process never exits.
    connecting.then((late) => late.close()).catch(() => {});
    return error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
}

const unreachable = (detail: string) =>
  `Warning: could not tell running servers through Redis (${detail}); they refuse the old ` +
  'sessions from their next session check, within SSE_SESSION_CHECK_SECONDS (30 s by default).';

/** null when Redis answers PING, else why not. Never retries, so it cannot hang. */
async function pingRedis(url: string): Promise<string | null> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: REDIS_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let cause: unknown;
  redis.on('error', (error) => {
    cause ??= error;
  });
  try {
    await redis.connect();
    await redis.ping();
    return null;
  } catch (error) {
    // connect() rejects with a bare "Connection is closed"; the error event says why.
    const reason = cause ?? error;
    return reason instanceof Error ? reason.message : String(reason);
  } finally {
    redis.disconnect();
  }
}
