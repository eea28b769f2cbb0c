/**
 * PostgreSQL and Redis for the scale-out scenario: a throwaway database and a random key prefix
 * on the shared services (never anything else: no FLUSHALL, no restarts), removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';

export const POSTGRES_URL =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL =
  process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Scratch {
  env: Record<string, string>;
  remove(): Promise<void>;
}

/** A fresh PostgreSQL database and Redis namespace, or null when either service is missing. */
export async function scaleOutScratch(): Promise<Scratch | null> {
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await admin.connect();
    await redis.connect();
  } catch {
    await admin.end().catch(() => {});
    redis.disconnect();
    return null;
  }
  const suffix = randomBytes(6).toString('hex');
  const database = `auth_sse_bench_${suffix}`;
  const prefix = `bench:auth-sse:${suffix}:`;
  await admin.query(`create database ${database}`);
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${database}`;
  return {
    env: { DATABASE_URL: url.toString(), REDIS_URL, REDIS_KEY_PREFIX: prefix },
    async remove() {
      await admin.query(`drop database if exists ${database} with (force)`).catch(() => {});
      await admin.end();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}
