/**
 * What one account can make the server store outside the event log is capped too. Sessions: every
 * sign-in used to add a running session with nothing but time to end it, so a script with the
 * password could pile up thousands; the account page then rendered them all in one go (20,000
 * made a 20 MB page that held the event loop — and every other client — for over a minute).
 * Security activity: one row per sign-in, kept 90 days, shown 20 at a time. Both are now capped
 * per account, and a cap is enforced on the way in, so it holds for data an older version left.
 * Courses were capped already; here the cap is raced.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ACTIVITY_KEPT_PER_USER } from '../../src/accounts/activity.ts';
import { startApp } from '../support/app.ts';
import { deleteRedisKeys, redisAvailable, setupBackend } from '../support/backends.ts';
import { courseAdder } from '../support/courses.ts';
import { apiToken, Browser } from '../support/http.ts';
import { isRunning, startServerProcess } from '../support/server-process.ts';
import { REDIS_URL, requireService } from '../support/services.ts';
import { openSse } from '../support/sse.ts';

const nowSeconds = () => Math.floor(Date.now() / 1000);

async function markId(app: Awaited<ReturnType<typeof startApp>>['app']): Promise<number> {
  const user = await app.auth.users.findByUsername('mark');
  if (!user) throw new Error('no mark');
  return user.id;
}

const running = async (app: Awaited<ReturnType<typeof startApp>>['app']) =>
  app.auth.sessions.listActive(await markId(app), nowSeconds());

const me = (url: string, token: string) =>
  fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.status);

/** The session items the account page renders. */
const sessionItems = (html: string) => (html.match(/class="list-item session/g) ?? []).length;

test('signing in over and over keeps at most SESSIONS_MAX_PER_USER running sessions', async (t) => {
  const { url, app } = await startApp(t, { SESSIONS_MAX_PER_USER: '5' });
  const tokens: string[] = [];
  for (let i = 0; i < 30; i++) tokens.push(await apiToken(url));
  assert.equal((await running(app)).length, 5);
  // The newest sign-in always stands; the account page lists no more than the cap.
  assert.equal(await me(url, tokens.at(-1) ?? ''), 200);
  const refused = (await Promise.all(tokens.map((token) => me(url, token)))).filter((s) => s === 401);
  assert.equal(refused.length, 25, 'every session past the cap ended');
  // One more sign-in (a browser's) ends another; its lists show the cap.
  const browser = await new Browser(url).login();
  assert.equal(sessionItems(await (await browser.fetch('/account')).text()), 5);
  const listed = await browser.fetch('/api/sessions');
  assert.equal(((await listed.json()) as unknown[]).length, 5);
});

test('past the cap the least recently used session ends like a revoked one: token refused, stream told', async (t) => {
  const { url, app } = await startApp(t, { SESSIONS_MAX_PER_USER: '3' });
  const old = await apiToken(url);
  const [oldSession] = await running(app);
  // Signed in an hour ago and used then (the clock is not ours to move; the row is).
  const anHourAgo = nowSeconds() - 3600;
  await app.db
    .updateTable('sessions')
    .set({ created_at: anHourAgo, last_seen_at: anHourAgo })
    .where('id', '=', oldSession?.id ?? '')
    .execute();
  const stream = await openSse(`${url}/protected/events/mark`, { authorization: `Bearer ${old}` });
  t.after(() => stream.close());
  const recent = [await apiToken(url), await apiToken(url)];
  assert.equal(await me(url, old), 200, 'within the cap nothing ends');

  const newest = await apiToken(url);
  const event = await stream.next();
  assert.equal(event.event, 'auth');
  assert.equal(JSON.parse(event.data).reason, 'revoked');
  await stream.ended;
  assert.equal(await me(url, old), 401);
  for (const token of [...recent, newest]) assert.equal(await me(url, token), 200);
});

test('sessions an older version let pile up are cut to the cap at the next sign-in', async (t) => {
  const { url, app } = await startApp(t, { SESSIONS_MAX_PER_USER: '10' });
  const userId = await markId(app);
  const now = nowSeconds();
  const piled = Array.from({ length: 2000 }, (_, i) => ({
    id: randomUUID(),
    user_id: userId,
    created_at: now - 3000 + i,
    last_seen_at: now - 3000 + i,
    expires_at: now + 3600,
    absolute_expires_at: now + 86_400,
    persistent: 0,
    user_agent: 'script',
    ip: '203.0.113.7',
    ended_at: null,
  }));
  for (let i = 0; i < piled.length; i += 200)
    await app.db
      .insertInto('sessions')
      .values(piled.slice(i, i + 200))
      .execute();
  const browser = await new Browser(url).login();
  assert.equal((await running(app)).length, 10);
  const page = await browser.fetch('/account');
  assert.equal(sessionItems(await page.text()), 10);
});

test(`an account keeps its newest ${ACTIVITY_KEPT_PER_USER} activity entries, however many sign-ins`, async (t) => {
  const { url, app } = await startApp(t);
  const userId = await markId(app);
  // History as a script of sign-ins would leave it (one row each), then real sign-ins on top.
  const history = Array.from({ length: ACTIVITY_KEPT_PER_USER + 50 }, (_, i) => ({
    user_id: userId,
    kind: 'sign-in',
    created_at: nowSeconds() - 10_000 + i,
    ip: '203.0.113.7',
    user_agent: 'script',
  }));
  for (let i = 0; i < history.length; i += 100)
    await app.db
      .insertInto('security_events')
      .values(history.slice(i, i + 100))
      .execute();
  // A sign-in is recorded before its token is handed out.
  await apiToken(url);
  const token = await apiToken(url);
  const kept = await app.db
    .selectFrom('security_events')
    .select(['id', 'user_agent'])
    .where('user_id', '=', userId)
    .orderBy('id', 'desc')
    .execute();
  assert.equal(kept.length, ACTIVITY_KEPT_PER_USER);
  assert.deepEqual(
    kept.slice(0, 2).map((row) => row.user_agent === 'script'),
    [false, false],
    'the two real sign-ins are the newest entries',
  );
  const shown = await fetch(`${url}/api/account/activity`, { headers: { authorization: `Bearer ${token}` } });
  const entries = (await shown.json()) as { user_agent: string }[];
  assert.equal(entries[0]?.user_agent, kept[0]?.user_agent, 'and shown first');
});

for (const backend of ['sqlite', 'postgres'] as const) {
  test(`on ${backend}, adds racing at COURSES_MAX_PER_USER on two instances never pass it`, async (t) => {
    const setup = await setupBackend(t, backend, { COURSES_MAX_PER_USER: '5' });
    if (!setup) return;
    // Two instances on one database: each runs its own writes one at a time, so only a race
    // between instances can test the cap's lock.
    const first = await setup.start();
    const second = await setup.start();
    const adders = [
      await courseAdder(await new Browser(first.url).login()),
      await courseAdder(await new Browser(second.url).login()),
    ];
    const statuses = await Promise.all(
      Array.from({ length: 30 }, (_, i) => adders[i % 2]?.(`Course ${i}`).then((r) => r.status)),
    );
    assert.equal(statuses.filter((s) => s === 201).length, 5, statuses.join(' '));
    assert.equal(statuses.filter((s) => s === 409).length, 25, statuses.join(' '));
    const { n } = await first.app.db
      .selectFrom('courses')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(n), 5);
  });
}

test('two server processes on one SQLite file (WORKERS) racing adds: none fails, none passes the cap', async (t) => {
  if (!requireService(t, await redisAvailable(), 'Redis')) return;
  // With the log in Redis a course add appends to it inside its database transaction, holding
  // the write lock for a Redis round trip: a deferred transaction in the other process then
  // failed at its first write (SQLITE_BUSY, no wait), a 503 for half the adds.
  const dir = mkdtempSync(join(tmpdir(), 'auth-sse-workers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const prefix = `test:auth-sse:${randomUUID()}:`;
  t.after(() => deleteRedisKeys(prefix));
  const env = {
    DEBUG: 'true',
    SECRET_KEY: 'two-processes-test-secret-0123456789abcdef',
    DATABASE_URL: `sqlite:///${join(dir, 'app.db')}`,
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    COURSES_MAX_PER_USER: '24',
  };
  const servers = [];
  for (let i = 0; i < 2; i++) {
    const server = await startServerProcess(t, dir, env);
    assert.ok(isRunning(server), JSON.stringify(server));
    servers.push(server);
  }
  const adders = await Promise.all(
    servers.map(async (server) => courseAdder(await new Browser(server.url).login())),
  );
  // One add each first: nothing else (a first template compile) holds the lock in the race.
  for (const add of adders) assert.equal((await add('Warm-up')).status, 201);
  const statuses = await Promise.all(
    Array.from({ length: 30 }, (_, i) => adders[i % 2]?.(`Course ${i}`).then((r) => r.status)),
  );
  assert.equal(statuses.filter((s) => s === 201).length, 22, statuses.join(' '));
  assert.equal(statuses.filter((s) => s === 409).length, 8, statuses.join(' '));
  for (const server of servers) await server.stop();
});
