import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type TestContext, test } from 'node:test';
import { freshPostgresDatabase, REDIS_URL, requireService } from '../../test/support/services.ts';
import { connectDatabase } from '../db/connect.ts';
import { migrateToLatest } from '../db/migrations/index.ts';
import type { ThrottleStore } from './login-throttle.ts';
import { createRedisThrottleStore, createSqlThrottleStore } from './throttle-stores.ts';

/** The contract every store keeps; clock-dependent parts use real time so Redis TTLs agree. */
async function checkStoreContract(store: ThrottleStore) {
  const key = `account:${randomUUID()}`;
  const now = Date.now();
  assert.deepEqual(await store.read([key], now), [null]);
  const first = await store.increment(key, 60_000, now);
  assert.equal(first.failures, 1);
  const second = await store.increment(key, 60_000, now + 10);
  assert.equal(second.failures, 2);
  // The window is fixed at the first failure; later ones do not extend it.
  assert.ok(Math.abs(second.resetAtMs - (now + 60_000)) < 1000, `window end ${second.resetAtMs - now} ms`);
  const [read, other] = await store.read([key, `${key}-other`], now + 20);
  assert.equal(read?.failures, 2);
  assert.equal(other, null);
  await store.decrement(key);
  assert.equal((await store.read([key], now + 25))[0]?.failures, 1);
  await store.decrement(key);
  await store.decrement(key);
  assert.equal((await store.read([key], now + 25))[0]?.failures ?? 0, 0, 'never below zero');
  await store.increment(key, 60_000, now + 26);
  await store.clear(key);
  assert.deepEqual(await store.read([key], now + 30), [null]);
  // Concurrent failures are all counted (atomic increment, no lost update).
  await Promise.all(Array.from({ length: 20 }, () => store.increment(key, 60_000, now + 40)));
  assert.equal((await store.read([key], now + 50))[0]?.failures, 20);
}

/** Runs the contract on a migrated database, closed before the test's own cleanup drops it. */
async function checkSqlStore(url: string) {
  const { db, dialect } = connectDatabase(url);
  try {
    await migrateToLatest(db as never, dialect);
    await checkStoreContract(createSqlThrottleStore(db));
  } finally {
    await db.destroy();
  }
}

test('the SQL store keeps the throttle contract on SQLite', async () => {
  await checkSqlStore('sqlite:///:memory:');
});

test('the SQL store keeps the throttle contract on PostgreSQL', async (t: TestContext) => {
  const url = await freshPostgresDatabase(t);
  if (!requireService(t, url !== null, 'PostgreSQL') || url === null) return;
  await checkSqlStore(url);
});

test('the Redis store keeps the throttle contract and scopes keys per deployment', async (t) => {
  const make = (databaseUrl: string) => {
    const store = createRedisThrottleStore({ url: REDIS_URL, secretKey: 'k'.repeat(32), databaseUrl });
    t.after(() => store.close());
    return store;
  };
  const store = make(`sqlite:///${randomUUID()}.db`);
  try {
    await store.read(['probe'], Date.now());
  } catch {
    if (!requireService(t, false, 'Redis')) return;
  }
  await checkStoreContract(store);
  const key = `account:${randomUUID()}`;
  const databaseUrl = `sqlite:///${randomUUID()}.db`;
  const [a, b, otherDeployment] = [make(databaseUrl), make(databaseUrl), make(`${databaseUrl}x`)];
  await a.increment(key, 60_000, Date.now());
  assert.equal(
    (await b.read([key], Date.now()))[0]?.failures,
    1,
    'instances of one deployment share counters',
  );
  assert.deepEqual(await otherDeployment.read([key], Date.now()), [null]);
  await a.clear(key);
});

test('with Redis unreachable the store fails fast (so login fails closed) and closes at once', async () => {
  const errors: Error[] = [];
  // Port 1 on loopback: nothing listens, connections are refused at once.
  const store = createRedisThrottleStore({
    url: 'redis://127.0.0.1:1',
    secretKey: 'k'.repeat(32),
    databaseUrl: 'sqlite:///x.db',
    onError: (err) => errors.push(err),
  });
  await assert.rejects(store.increment('account:mark', 60_000, Date.now()));
  await assert.rejects(store.read(['account:mark'], Date.now()));
  await store.close();
  assert.ok(errors.length > 0, 'connection errors are reported, not thrown at the process');
});
