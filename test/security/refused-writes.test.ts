/**
 * A refused request costs the server nothing durable. The reported case: once a client address
 * was throttled, every further login attempt with a new username still stored a counter row for
 * that name (100 refused attempts → 100 rows), so the refusal itself let one client grow the
 * database at will. The neighbours: every other way a request is refused — throttling, CSRF,
 * cross-site origin, schema, size, content type, authentication, ownership, caps.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { RunningApp } from '../support/app.ts';
import { startApp } from '../support/app.ts';
import { redisAvailable } from '../support/backends.ts';
import { apiToken, Browser } from '../support/http.ts';
import { REDIS_URL, requireService } from '../support/services.ts';

function apiLogin(base: string, username: string, password: string) {
  return fetch(`${base}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
}

/**
 * Every row of every table, as text: what "nothing durable changed" is compared on. A session's
 * last-seen time is left out: any authenticated request, refused or not, may touch it (in place,
 * at most once a minute), which grows nothing.
 */
async function snapshot(running: RunningApp): Promise<string> {
  const tables = await sql<{ name: string }>`
    select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name`.execute(
    running.app.db,
  );
  const out: Record<string, unknown[]> = {};
  for (const { name } of tables.rows)
    out[name] = (
      await sql<Record<string, unknown>>`select * from ${sql.table(name)} order by 1`.execute(running.app.db)
    ).rows.map(({ last_seen_at: _, ...row }) => row);
  return JSON.stringify(out);
}

test('throttled login attempts with ever new usernames store nothing (was one row each)', async (t) => {
  const running = await startApp(t, { LOGIN_MAX_FAILURES_PER_IP: '5' });
  for (let i = 0; i < 5; i++) assert.equal((await apiLogin(running.url, `user-${i}`, 'guess')).status, 401);
  const before = await snapshot(running);
  const browser = new Browser(running.url);
  for (let i = 0; i < 100; i++) {
    const name = `sprayed-${i}-${randomBytes(4).toString('hex')}`;
    const response =
      i % 2
        ? await apiLogin(running.url, name, 'guess')
        : await browser.submit('/login', { username: name, password: 'guess' });
    assert.equal(response.status, 429, name);
  }
  assert.equal(await snapshot(running), before, 'the refused attempts changed the database');
});

test('attempts on a locked account from fresh addresses store nothing', async (t) => {
  const running = await startApp(t, { LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', TRUST_PROXY: 'true' });
  const from = (ip: string) => ({ 'content-type': 'application/json', 'x-forwarded-for': ip });
  for (let i = 0; i < 3; i++)
    await fetch(`${running.url}/api/login`, {
      method: 'POST',
      headers: from('203.0.113.1'),
      body: '{"username":"mark","password":"x"}',
    });
  const before = await snapshot(running);
  for (let i = 0; i < 50; i++) {
    const response = await fetch(`${running.url}/api/login`, {
      method: 'POST',
      headers: from(`198.51.100.${i}`),
      body: JSON.stringify({ username: 'mark', password: 'pass123' }),
    });
    assert.equal(response.status, 429);
  }
  assert.equal(await snapshot(running), before);
});

test('with Redis counters, throttled attempts create no keys', async (t) => {
  if (!requireService(t, await redisAvailable(), 'Redis')) return;
  const prefix = `test:auth-sse:${randomBytes(6).toString('hex')}:`;
  const redis = new Redis(REDIS_URL);
  t.after(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  const running = await startApp(t, { REDIS_URL, REDIS_KEY_PREFIX: prefix, LOGIN_MAX_FAILURES_PER_IP: '3' });
  for (let i = 0; i < 3; i++) await apiLogin(running.url, `user-${i}`, 'guess');
  const keys = async () => (await redis.keys(`${prefix}login-failures:*`)).sort();
  const before = await keys();
  for (let i = 0; i < 40; i++) assert.equal((await apiLogin(running.url, `new-${i}`, 'guess')).status, 429);
  assert.deepEqual(await keys(), before);
});

test('parallel attempts at the limit never leave more than the limit counted, and refusals are taken back', async (t) => {
  const running = await startApp(t, { LOGIN_MAX_FAILURES_PER_ACCOUNT: '5', BCRYPT_ROUNDS: '6' });
  const statuses = await Promise.all(
    Array.from({ length: 30 }, () => apiLogin(running.url, 'mark', 'wrong').then((r) => r.status)),
  );
  assert.ok(statuses.filter((s) => s === 401).length <= 5);
  const row = await running.app.db
    .selectFrom('login_failures')
    .select('failures')
    .where('throttle_key', '=', 'account:mark')
    .executeTakeFirst();
  assert.equal(
    Number(row?.failures),
    statuses.filter((s) => s === 401).length,
    'only checked attempts count',
  );
});

test('throttled sign-ups and password-reset requests store nothing either', async (t) => {
  const running = await startApp(t, {
    ALLOW_REGISTRATION: 'true',
    REGISTRATION_MAX_PER_IP: '2',
    PASSWORD_RESET_MAX_PER_IP: '2',
  });
  const post = (path: string, body: unknown) =>
    fetch(`${running.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const password = 'a long enough passphrase 7491';
  for (let i = 0; i < 2; i++) {
    assert.equal((await post('/api/register', { username: `first-${i}`, password })).status, 201);
    assert.equal((await post('/api/password-reset', { email: `first-${i}@example.com` })).status, 202);
  }
  const before = await snapshot(running);
  for (let i = 0; i < 30; i++) {
    const name = `refused-${i}-${randomBytes(3).toString('hex')}`;
    assert.equal((await post('/api/register', { username: name, password })).status, 429, name);
    assert.equal((await post('/api/password-reset', { email: `${name}@example.com` })).status, 429, name);
  }
  assert.equal(await snapshot(running), before);
});

test('no refused request changes anything durable', async (t) => {
  const running = await startApp(t, { COURSES_MAX_PER_USER: '1', SSE_MAX_STREAMS_PER_USER: '1' });
  const { url } = running;
  const mark = await new Browser(url).login();
  const luke = await new Browser(url).login('luke', 'pass456');
  const added = await luke.submit('/add_course', { course_title: 'Luke’s' }, '/protected');
  const lukesCourse = ((await added.json()) as { id: number }).id;
  assert.equal(
    (await mark.submit('/add_course', { course_title: 'The one allowed' }, '/protected')).status,
    201,
  );
  const token = await apiToken(url);
  const stream = new AbortController();
  t.after(() => stream.abort());
  assert.equal((await mark.fetch('/protected/events/mark', { signal: stream.signal })).status, 200);
  const csrf = await mark.csrfToken('/protected');
  const before = await snapshot(running);

  const form = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
    mark.fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url, ...headers },
      body: new URLSearchParams(fields),
    });
  const bearer = (path: string, body: unknown) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const refusals: [string, () => Promise<Response>, number][] = [
    [
      'login without a CSRF token',
      () =>
        new Browser(url).fetch('/login', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'username=mark&password=nope',
        }),
      403,
    ],
    [
      'cross-site login',
      () =>
        fetch(`${url}/login`, {
          method: 'POST',
          headers: { origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
          body: 'username=mark&password=nope',
        }),
      403,
    ],
    ['login with an oversized password', () => apiLogin(url, 'mark', 'x'.repeat(5000)), 400],
    [
      'login with a malformed body',
      () =>
        fetch(`${url}/api/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"username":',
        }),
      400,
    ],
    [
      'add beyond the course cap',
      () => form('/add_course', { course_title: 'One too many', _csrf: csrf }),
      409,
    ],
    [
      'add beyond the course cap (bearer)',
      () => bearer('/add_course', { course_title: 'One too many' }),
      409,
    ],
    ['add without a CSRF token', () => form('/add_course', { course_title: 'Forged' }), 403],
    ['add with an empty title', () => form('/add_course', { course_title: ' ', _csrf: csrf }), 400],
    [
      'add anonymously',
      () =>
        fetch(`${url}/add_course`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"course_title":"x"}',
        }),
      401,
    ],
    [
      'rename another user’s course',
      () => form(`/courses/${lukesCourse}/rename`, { course_title: 'Mine now', _csrf: csrf }),
      404,
    ],
    ['delete another user’s course', () => form(`/courses/${lukesCourse}/delete`, { _csrf: csrf }), 404],
    [
      'rename a course that does not exist',
      () => bearer('/courses/999999/rename', { course_title: 'Ghost' }),
      404,
    ],
    [
      'body over the limit',
      () => form('/add_course', { course_title: 'x'.repeat(70_000), _csrf: csrf }),
      413,
    ],
    [
      'unsupported content type',
      () =>
        mark.fetch('/add_course', {
          method: 'POST',
          headers: { 'content-type': 'text/csv', origin: url },
          body: 'a,b',
        }),
      415,
    ],
    ['logout all without a CSRF token', () => form('/logout/all', {}), 403],
    ['a second stream over the per-user limit', () => mark.fetch('/protected/events/mark'), 429],
    ['another user’s stream', () => mark.fetch('/protected/events/luke'), 403],
  ];
  for (const [name, send, status] of refusals) {
    const response = await send();
    await response.body?.cancel();
    assert.equal(response.status, status, name);
    assert.equal(await snapshot(running), before, `${name} changed the database`);
  }
});
