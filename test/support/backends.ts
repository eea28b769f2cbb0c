import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { type RunningApp, startApp, tempSqliteUrl } from './app.ts';
import { freshPostgresDatabase, REDIS_URL, requireService } from './services.ts';

/** Where the event log and bus live: the database (SQLite or PostgreSQL) or Redis. */
export type Backend = 'sqlite' | 'postgres' | 'redis';
export const BACKENDS: readonly Backend[] = ['sqlite', 'postgres', 'redis'];

export interface BackendSetup {
  /** Env every app of this test shares (one database, one Redis namespace). */
  env: Record<string, string>;
  /** Starts an app (an instance, or a restart) on the shared backend. */
  start(env?: Record<string, string>): Promise<RunningApp>;
}

/** True when Redis answers PING quickly. */
export async function redisAvailable(url = REDIS_URL): Promise<boolean> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

/** Deletes every Redis key under `prefix`. */
export async function deleteRedisKeys(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/**
 * A fresh backend for one test, or null when its service is missing (the test is then skipped,
 * or fails under REQUIRE_ALL_TESTS=1). Apps started through it close before the database is
 * dropped and the Redis keys are deleted.
 */
export async function setupBackend(
  t: TestContext,
  backend: Backend,
  env: Record<string, string> = {},
): Promise<BackendSetup | null> {
  const apps: RunningApp[] = [];
  // Registered first, so it runs before the database drop and key cleanup registered below.
  t.after(async () => {
    for (const app of apps) await app.close();
  });
  const shared: Record<string, string> = { ...env };
  if (backend === 'postgres') {
    const url = await freshPostgresDatabase(t);
    if (!requireService(t, url !== null, 'PostgreSQL')) return null;
    shared.DATABASE_URL = url as string;
  } else {
    shared.DATABASE_URL ??= tempSqliteUrl(t);
  }
  if (backend === 'redis') {
    if (!requireService(t, await redisAvailable(), 'Redis')) return null;
    const prefix = `test:auth-sse:${randomBytes(6).toString('hex')}:`;
    t.after(() => deleteRedisKeys(prefix));
    shared.REDIS_URL = REDIS_URL;
    shared.REDIS_KEY_PREFIX = prefix;
  }
  return {
    env: shared,
    async start(extra = {}) {
      const app = await startApp(t, { ...shared, ...extra });
      apps.push(app);
      return app;
    },
  };
}
