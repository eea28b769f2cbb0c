/**
 * Where login-attempt counters live. They must be shared by every instance, or N instances
 * multiply the limits by N, and survive restarts, or a crash-loop resets them — which rules out
 * process memory. So: Redis when REDIS_URL is set (atomic INCR with expiry in one script, keys
 * expire on their own), otherwise the database every instance already shares (two upserts per
 * attempt; cheap next to the bcrypt comparison they guard).
 * While Redis is away the counters move to the database (throttle-failover.ts); if neither can
 * be reached, login fails closed (503) rather than allowing unthrottled guessing.
 */
import { createHash } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { Database } from '../db/schema.ts';
import { closeRedis, guardRedis, loadIoredis } from '../events/redis-faults.ts';
import { ServiceUnavailableError } from '../service-unavailable.ts';
import type { FailureWindow, ThrottleStore } from './login-throttle.ts';

/** Counters in the `login_failures` table (migration 006); one atomic upsert per failure. */
export function createSqlThrottleStore(db: Kysely<Database>): ThrottleStore {
  return {
    async read(keys, nowMs) {
      const rows = await db
        .selectFrom('login_failures')
        .select(['throttle_key', 'failures', 'reset_at'])
        .where('throttle_key', 'in', keys)
        .where('reset_at', '>', nowMs)
        .execute();
      return keys.map((key) => {
        const row = rows.find((r) => r.throttle_key === key);
        return row ? { failures: Number(row.failures), resetAtMs: Number(row.reset_at) } : null;
      });
    },
    async increment(key, windowMs, nowMs) {
      // An ended window restarts at 1; a running one counts up and keeps its end.
      const ended = sql<boolean>`${sql.ref('login_failures.reset_at')} <= ${nowMs}`;
      const row = await db
        .insertInto('login_failures')
        .values({ throttle_key: key, failures: 1, reset_at: nowMs + windowMs })
        .onConflict((oc) =>
          oc.column('throttle_key').doUpdateSet({
            failures: sql<number>`case when ${ended} then 1 else ${sql.ref('login_failures.failures')} + 1 end`,
            reset_at: sql<number>`case when ${ended} then ${sql.ref('excluded.reset_at')} else ${sql.ref('login_failures.reset_at')} end`,
          }),
        )
        .returning(['failures', 'reset_at'])
        .executeTakeFirstOrThrow();
      return { failures: Number(row.failures), resetAtMs: Number(row.reset_at) };
    },
    async decrement(key) {
      await db
        .updateTable('login_failures')
        .set({ failures: sql<number>`${sql.ref('failures')} - 1` })
        .where('throttle_key', '=', key)
        .where('failures', '>', 0)
        .execute();
      await db
        .deleteFrom('login_failures')
        .where('throttle_key', '=', key)
        .where('failures', '<=', 0)
        .execute();
    },
    async clear(key) {
      await db.deleteFrom('login_failures').where('throttle_key', '=', key).execute();
    },
    async prune(nowMs) {
      await db.deleteFrom('login_failures').where('reset_at', '<=', nowMs).execute();
    },
    close: async () => {},
  };
}

/** INCR, start the window's expiry on the first failure, return the count and time left. */
const INCREMENT_SCRIPT = `
local failures = redis.call('INCR', KEYS[1])
if failures == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {failures, ttl}`;

/** DECR only an existing, positive counter, so it keeps its TTL and never goes negative; at 0 it goes. */
const DECREMENT_SCRIPT = `
local failures = tonumber(redis.call('GET', KEYS[1]) or '0')
if failures > 1 then return redis.call('DECR', KEYS[1]) end
redis.call('DEL', KEYS[1])
return 0`;

/**
 * Counters in Redis, one key per throttle key with the window as its TTL. Keys live under
 * REDIS_KEY_PREFIX, or by default under a hash of SECRET_KEY and DATABASE_URL: the instances of
 * one deployment share both (they must, to accept each other's tokens and users), while two
 * deployments — or two test apps — on one Redis never share counters. The hash keeps the secret
 * out of Redis.
 */
export function createRedisThrottleStore(options: {
  url: string;
  secretKey: string;
  databaseUrl: string;
  /** REDIS_KEY_PREFIX when set (shared with the event keys); otherwise derived as above. */
  keyPrefix?: string | null;
  /** Connection problems (ioredis reconnects by itself); commands meanwhile fail at once. */
  onError?: (err: Error) => void;
}): ThrottleStore {
  const { Redis } = loadIoredis();
  const redis = new Redis(options.url, { maxRetriesPerRequest: 1, commandTimeout: 5000, lazyConnect: true });
  redis.on('error', (err: Error) => options.onError?.(err));
  // Commands wait for the first connection; once it has been up, a lost link fails them at once
  // (ServiceUnavailableError) instead of queueing logins behind the reconnect attempts.
  let connectedOnce = false;
  redis.on('ready', () => {
    connectedOnce = true;
  });
  const run = <T>(command: () => Promise<T>): Promise<T> => {
    if (connectedOnce && redis.status !== 'ready')
      return Promise.reject(new ServiceUnavailableError('redis'));
    return guardRedis(command);
  };
  const scope = createHash('sha256').update(`${options.secretKey}\0${options.databaseUrl}`).digest('hex');
  const prefix = `${options.keyPrefix ?? `auth-sse:${scope.slice(0, 16)}:`}login-failures:`;
  const toWindow = (failures: number, ttlMs: number, nowMs: number): FailureWindow => ({
    failures,
    resetAtMs: nowMs + ttlMs,
  });
  return {
    async read(keys, nowMs) {
      const pipeline = redis.pipeline();
      for (const key of keys) pipeline.get(prefix + key).pttl(prefix + key);
      const results = (await run(() => pipeline.exec())) ?? [];
      return keys.map((_, i) => {
        const [countError, count] = results[i * 2] ?? [];
        const [ttlError, ttl] = results[i * 2 + 1] ?? [];
        if (countError || ttlError) throw countError ?? ttlError;
        if (count === null || typeof ttl !== 'number' || ttl <= 0) return null;
        return toWindow(Number(count), ttl, nowMs);
      });
    },
    async increment(key, windowMs, nowMs) {
      const [failures, ttl] = (await run(() => redis.eval(INCREMENT_SCRIPT, 1, prefix + key, windowMs))) as [
        number,
        number,
      ];
      return toWindow(failures, ttl, nowMs);
    },
    async decrement(key) {
      await run(() => redis.eval(DECREMENT_SCRIPT, 1, prefix + key));
    },
    async clear(key) {
      await run(() => redis.del(prefix + key));
    },
    prune: async () => {},
    async close() {
      await closeRedis(redis);
    },
  };
}
