import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import pg from 'pg';

/**
 * Tests that need PostgreSQL, Redis, Chromium or the Python libraries skip locally when these are
 * missing, but CI sets REQUIRE_ALL_TESTS=1 so a missing service fails the run instead.
 */
export function requireService(t: TestContext, available: boolean, what: string): boolean {
  if (available) return true;
  if (process.env.REQUIRE_ALL_TESTS === '1') throw new Error(`${what} is required in CI but unavailable`);
  t.skip(`${what} unavailable`);
  return false;
}

export const POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh, empty PostgreSQL database for one test (dropped afterwards), or null if PG is down. */
export async function freshPostgresDatabase(t: TestContext): Promise<string | null> {
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  try {
    await admin.connect();
  } catch {
    return null;
  }
  const name = `auth_sse_test_${randomBytes(6).toString('hex')}`;
  await admin.query(`create database ${name}`);
  await admin.end();
  t.after(async () => {
    const dropper = new pg.Client({ connectionString: POSTGRES_URL });
    await dropper.connect();
    // pg's Pool.end() resolves before the server has closed the sessions it ended; `with (force)`
    // would then kill them and their dying sockets emit an uncaught "terminating connection due
    // to administrator command" into the test. Give them a moment to go on their own first.
    for (let i = 0; i < 50; i++) {
      const { rows } = await dropper.query(
        'select count(*)::int as n from pg_stat_activity where datname = $1',
        [name],
      );
      if (rows[0]?.n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await dropper.query(`drop database if exists ${name} with (force)`);
    await dropper.end();
  });
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}
