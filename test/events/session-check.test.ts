/**
 * Streams end when their credential ends out of band: nothing on the event bus says so, and the
 * periodic session check (SSE_SESSION_CHECK_SECONDS) has to find it in the database.
 * The CLI run without REDIS_URL is covered in src/cli/main.test.ts.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { SessionRef } from '../../src/auth/service.ts';
import { startApp } from '../support/app.ts';
import { apiToken } from '../support/http.ts';
import type { SseClient } from '../support/sse.ts';
import { closeAll, ended, numbered, numberOf, openStream } from './helpers.ts';

const FAST_CHECKS = { SSE_SESSION_CHECK_SECONDS: '0.05', SSE_HEARTBEAT_SECONDS: '0.05' };

/** The id the server knows a token by (its `jti`). */
async function tokenIdOf(app: FastifyInstance, token: string): Promise<string> {
  const user = await app.auth.authenticate(token);
  assert.ok(user, 'the token is valid');
  return user.tokenId;
}

/** Ends a session the way another process would: straight in the table, nothing on the bus. */
async function endOutOfBand(app: FastifyInstance, tokenId: string): Promise<void> {
  await app.db
    .updateTable('sessions')
    .set({ ended_at: Math.floor(Date.now() / 1000) })
    .where('id', '=', tokenId)
    .execute();
}

/** Asserts the server ended `stream` with the `auth` event the session check sends. */
async function expectRevoked(stream: SseClient): Promise<void> {
  const event = await stream.next();
  assert.equal(event.event, 'auth');
  assert.deepEqual(JSON.parse(event.data), { reason: 'revoked', redirect: '/login' });
  await ended(stream);
}

/** Asserts `stream` is live: the next thing on it is a message published now, not an `auth` event. */
async function expectLive(app: FastifyInstance, stream: SseClient, username: string, n: number) {
  await app.events.publish(username, numbered(n));
  assert.equal(numberOf(await stream.next()), n);
}

/**
 * Watches the session checks the app runs: the sessions each one was given, and a way to wait
 * for the next `count` of them to finish. `around` may replace the real check.
 */
function watchChecks(
  t: TestContext,
  app: FastifyInstance,
  around?: (real: () => Promise<Set<string>>, call: number) => Promise<Set<string>>,
) {
  const real = app.auth.findEndedSessions.bind(app.auth);
  const seen: SessionRef[][] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  t.mock.method(app.auth, 'findEndedSessions', async (sessions: readonly SessionRef[]) => {
    seen.push([...sessions]);
    try {
      return await (around ? around(() => real(sessions), seen.length) : real(sessions));
    } finally {
      for (const waiter of waiters.filter((w) => seen.length >= w.count)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  });
  return {
    seen,
    /** Resolves once `more` further checks have run. */
    next: (more: number) =>
      new Promise<void>((resolve) => waiters.push({ count: seen.length + more, resolve })),
  };
}

test('a session ended in the database by someone else ends exactly that session’s streams and requests', async (t) => {
  const { url, app } = await startApp(t, FAST_CHECKS);
  const [revokedToken, otherToken] = [await apiToken(url), await apiToken(url)];
  const revoked = await openStream(url, revokedToken, 'mark');
  const sameToken = await openStream(url, revokedToken, 'mark');
  const otherSession = await openStream(url, otherToken, 'mark');
  t.after(closeAll([revoked, sameToken, otherSession]));

  // Straight into the table, as another process would: no logout call, nothing on the bus.
  await endOutOfBand(app, await tokenIdOf(app, revokedToken));

  await expectRevoked(revoked);
  await expectRevoked(sameToken);
  await expectLive(app, otherSession, 'mark', 1);
  assert.equal(app.events.connectionCount('mark'), 1);
  // The check also dropped the cached answer: requests with that token are refused too.
  const me = await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${revokedToken}` } });
  assert.equal(me.status, 401);
  await me.body?.cancel();
});

test('a user row deleted by another tool ends that user’s streams, and only theirs', async (t) => {
  const { url, app } = await startApp(t, FAST_CHECKS);
  const mark = await openStream(url, await apiToken(url), 'mark');
  const luke = await openStream(url, await apiToken(url, 'luke', 'pass456'), 'luke');
  t.after(closeAll([mark, luke]));

  await app.db.deleteFrom('users').where('username', '=', 'mark').execute();
  await expectRevoked(mark);
  await expectLive(app, luke, 'luke', 1);
});

test('valid streams are untouched by any number of session checks', async (t) => {
  const { url, app } = await startApp(t, FAST_CHECKS);
  const checks = watchChecks(t, app);
  const markToken = await apiToken(url);
  const tabs = [await openStream(url, markToken, 'mark'), await openStream(url, markToken, 'mark')];
  const luke = await openStream(url, await apiToken(url, 'luke', 'pass456'), 'luke');
  t.after(closeAll([...tabs, luke]));

  await checks.next(5);
  // Every check saw the open sessions: one per token, however many tabs share it.
  const last = checks.seen.at(-1) ?? [];
  assert.deepEqual(last.map((s) => s.username).sort(), ['luke', 'mark']);
  await app.events.publish('mark', numbered(1));
  for (const tab of tabs) assert.equal(numberOf(await tab.next()), 1);
  await expectLive(app, luke, 'luke', 2);
  assert.equal(app.events.connectionCount(), 3);
});

test('session checks run one at a time, and a failed one is logged and retried, never fatal', async (t) => {
  const { url, app } = await startApp(t, FAST_CHECKS);
  let release = () => {};
  const blocked = new Promise<void>((resolve) => {
    release = resolve;
  });
  const checks = watchChecks(t, app, async (real, call) => {
    if (call === 1) await blocked;
    if (call === 2) throw new Error('database went away');
    return real();
  });
  const token = await apiToken(url);
  const stream = await openStream(url, token, 'mark');
  t.after(() => stream.close());

  // The first check hangs on the database: timers keep firing (heartbeats prove time passes),
  // but no second check starts while it runs.
  await stream.waitForComments(stream.comments.length + 6);
  assert.equal(checks.seen.length, 1);
  release();
  await checks.next(2); // the hung one finishes; the next one fails
  await endOutOfBand(app, await tokenIdOf(app, token));
  await expectRevoked(stream);
});

test('events.checkSessions() runs a check now, between the timer’s, and says how many sessions ended', async (t) => {
  const { url, app } = await startApp(t, { SSE_SESSION_CHECK_SECONDS: '3600' });
  const token = await apiToken(url);
  const stream = await openStream(url, token, 'mark');
  t.after(() => stream.close());
  assert.equal(await app.events.checkSessions(), 0);
  await endOutOfBand(app, await tokenIdOf(app, token));
  assert.equal(await app.events.checkSessions(), 1);
  await expectRevoked(stream);
});
