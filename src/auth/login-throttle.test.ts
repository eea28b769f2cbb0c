import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { connectDatabase } from '../db/connect.ts';
import { migrateToLatest } from '../db/migrations/index.ts';
import { ServiceUnavailableError } from '../service-unavailable.ts';
import { createHashingQueue } from './hashing-queue.ts';
import {
  accountKey,
  createLoginThrottle,
  ipKey,
  retryAfterSeconds,
  type ThrottleStore,
} from './login-throttle.ts';
import { createPasswordHasher } from './passwords.ts';
import { createSqlThrottleStore } from './throttle-stores.ts';

test('ipKey keeps IPv4, unwraps IPv4-mapped IPv6 and groups IPv6 by /64', () => {
  assert.equal(ipKey('203.0.113.7'), 'ip:203.0.113.7');
  assert.equal(ipKey('::ffff:203.0.113.7'), 'ip:203.0.113.7');
  assert.equal(ipKey('2001:db8:1:2:aaaa::1'), 'ip:2001:db8:1:2::/64');
  assert.equal(ipKey('2001:0db8:0001:0002:ffff:0:0:9'), 'ip:2001:db8:1:2::/64');
  assert.equal(ipKey('2001:db8::1'), 'ip:2001:db8:0:0::/64');
  assert.equal(ipKey('::1'), 'ip:0:0:0:0::/64');
  assert.notEqual(ipKey('2001:db8:1:2::1'), ipKey('2001:db8:1:3::1'));
});

test('retryAfterSeconds waits for the latest exceeded window, rounding up to whole seconds', () => {
  const now = 1_000_000;
  assert.equal(
    retryAfterSeconds([{ window: { failures: 10, resetAtMs: now + 5000 }, limit: 10 }], now),
    null,
  );
  assert.equal(retryAfterSeconds([{ window: null, limit: 1 }], now), null);
  assert.equal(retryAfterSeconds([{ window: { failures: 11, resetAtMs: now + 4001 }, limit: 10 }], now), 5);
  assert.equal(retryAfterSeconds([{ window: { failures: 11, resetAtMs: now }, limit: 10 }], now), null);
  assert.equal(
    retryAfterSeconds(
      [
        { window: { failures: 4, resetAtMs: now + 60_000 }, limit: 3 },
        { window: { failures: 101, resetAtMs: now + 90_000 }, limit: 100 },
      ],
      now,
    ),
    90,
  );
});

/** A throttle over the real SQL store on an in-memory SQLite database, with a movable clock. */
async function sqlThrottle(t: TestContext, limits: { maxPerAccount: number; maxPerIp: number }) {
  const { db, dialect } = connectDatabase('sqlite:///:memory:');
  t.after(() => db.destroy());
  await migrateToLatest(db as never, dialect);
  const store: ThrottleStore = createSqlThrottleStore(db);
  const clock = { now: 1_700_000_000_000 };
  const throttle = createLoginThrottle(store, { ...limits, windowMs: 60_000 }, () => clock.now);
  return { db, store, clock, throttle };
}

test('locks an account once its limit is used up, until the window ends', async (t) => {
  const { throttle, clock } = await sqlThrottle(t, { maxPerAccount: 3, maxPerIp: 100 });
  const attempt = { username: 'mark', ip: '203.0.113.1' };
  for (let i = 0; i < 3; i++) assert.equal(await throttle.begin(attempt), null, `attempt ${i}`);
  assert.equal(await throttle.begin(attempt), 60);
  // Another address is locked out of the same account too: the account is what is protected.
  assert.equal(await throttle.begin({ username: 'mark', ip: '198.51.100.9' }), 60);
  assert.equal(await throttle.begin({ username: 'luke', ip: '203.0.113.1' }), null);
  clock.now += 45_000;
  // Attempts while locked do not push the end of the window out.
  assert.equal(await throttle.begin(attempt), 15);
  clock.now += 15_000;
  assert.equal(await throttle.begin(attempt), null, 'a new window starts counting from one');
});

test('locks a client address that sprays many accounts', async (t) => {
  const { throttle } = await sqlThrottle(t, { maxPerAccount: 100, maxPerIp: 5 });
  for (let i = 0; i < 5; i++)
    assert.equal(await throttle.begin({ username: `user${i}`, ip: '203.0.113.1' }), null);
  assert.equal(await throttle.begin({ username: 'fresh', ip: '203.0.113.1' }), 60);
  assert.equal(await throttle.begin({ username: 'fresh', ip: '203.0.113.2' }), null);
});

test('a success clears the account counter and takes its attempt off the address counter', async (t) => {
  const { throttle } = await sqlThrottle(t, { maxPerAccount: 3, maxPerIp: 4 });
  const attempt = { username: 'mark', ip: '203.0.113.1' };
  await throttle.begin(attempt);
  await throttle.begin(attempt);
  assert.equal(await throttle.begin(attempt), null);
  await throttle.succeeded(attempt);
  // Account back to 0, address at 2 failures: two more failures fit under both limits.
  assert.equal(await throttle.begin(attempt), null);
  assert.equal(await throttle.begin(attempt), null);
  assert.equal(await throttle.begin({ username: 'mark', ip: '198.51.100.1' }), null, 'account at 3 of 3');
  assert.equal(await throttle.begin({ username: 'other', ip: '203.0.113.1' }), 60, 'address at 5 of 4');
});

test('parallel attempts are all counted: no more than the limit get through', async (t) => {
  const { throttle } = await sqlThrottle(t, { maxPerAccount: 5, maxPerIp: 100 });
  const results = await Promise.all(
    Array.from({ length: 20 }, () => throttle.begin({ username: 'mark', ip: '203.0.113.1' })),
  );
  assert.equal(results.filter((r) => r === null).length, 5);
});

test('prune deletes only ended windows', async (t) => {
  const { throttle, clock, db } = await sqlThrottle(t, { maxPerAccount: 3, maxPerIp: 5 });
  await throttle.begin({ username: 'old', ip: '203.0.113.1' });
  clock.now += 30_000;
  await throttle.begin({ username: 'new', ip: '203.0.113.2' });
  clock.now += 40_000;
  await throttle.prune();
  const keys = (await db.selectFrom('login_failures').select('throttle_key').execute()).map(
    (r) => r.throttle_key,
  );
  assert.deepEqual(keys.sort(), [accountKey('new'), ipKey('203.0.113.2')].sort());
});

test('an attempt refused before its password is checked (503) is not counted; a checked one is', async (t) => {
  const { throttle } = await sqlThrottle(t, { maxPerAccount: 1, maxPerIp: 1 });
  // Hashing saturated: one slot, busy, and no room to wait.
  const passwords = createPasswordHasher(
    4,
    createHashingQueue({ concurrency: 1, maxWaitMs: 0, maxWaiting: 0 }),
  );
  const hash = await passwords.hash('pass123');
  const busy = passwords.verify('pass123', hash);
  const attempt = { username: 'mark', ip: '203.0.113.1' };
  assert.equal(await throttle.begin(attempt), null);
  await assert.rejects(
    throttle.check(attempt, () => passwords.verify('guess', hash)),
    ServiceUnavailableError,
  );
  await busy;
  // The refused attempt was taken back: this one may still be checked (and is wrong).
  assert.equal(await throttle.begin(attempt), null);
  assert.equal(await throttle.check(attempt, () => passwords.verify('guess', hash)), false);
  assert.equal(await throttle.begin(attempt), 60, 'a checked failure counts');
});
