/** GET /protected/events/:username — the SSE stream, read with a real SSE parser. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startApp } from '../support/app.ts';
import { changeIn } from '../support/courses.ts';
import { apiToken, Browser } from '../support/http.ts';
import { openSse } from '../support/sse.ts';

test('anonymous callers get 401 JSON with a Bearer challenge; another user’s name gets 403', async (t) => {
  const { url } = await startApp(t);
  const anonymous = await fetch(`${url}/protected/events/mark`, { headers: { accept: 'text/event-stream' } });
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.headers.get('www-authenticate'), 'Bearer');
  assert.deepEqual(await anonymous.json(), { error: 'Not authenticated' });

  const bogus = await fetch(`${url}/protected/events/mark`, {
    headers: { authorization: 'Bearer not.a.token' },
  });
  assert.equal(bogus.status, 401);
  await bogus.body?.cancel();

  const luke = await new Browser(url).login('luke', 'pass456');
  const other = await fetch(`${url}/protected/events/mark`, { headers: { cookie: luke.cookieHeader } });
  assert.equal(other.status, 403);
  assert.match(other.headers.get('content-type') ?? '', /json/);
  assert.deepEqual(await other.json(), { error: 'Forbidden' });
});

test('an open stream has proxy-safe headers, sends retry: first, then heartbeat comments', async (t) => {
  const { url } = await startApp(t, { SSE_HEARTBEAT_SECONDS: '0.1', SSE_RETRY_MS: '1500' });
  const browser = await new Browser(url).login();
  const stream = await openSse(`${url}/protected/events/mark`, { cookie: browser.cookieHeader });
  t.after(() => stream.close());
  const headers = stream.response.headers;
  assert.equal(headers.get('content-type'), 'text/event-stream; charset=utf-8');
  assert.match(headers.get('cache-control') ?? '', /no-cache/);
  assert.match(headers.get('cache-control') ?? '', /no-transform/);
  assert.equal(headers.get('x-accel-buffering'), 'no');
  assert.equal(headers.get('content-encoding'), null, 'never compressed');
  assert.equal(headers.get('content-length'), null);

  // Three heartbeats at 0.1 s arrive well within the default 15 s; none would time out.
  await stream.waitForComments(3, 3000);
  assert.equal(stream.retry, 1500);
});

test('each message carries a numeric id, and a resume with Last-Event-ID replays what was missed', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login();
  const stream = await openSse(`${url}/protected/events/mark`, { cookie: browser.cookieHeader });
  await browser.submit('/add_course', { course_title: 'A' }, '/protected');
  const first = await stream.next();
  assert.match(first.id ?? '', /^\d+$/);
  stream.close();

  await browser.submit('/add_course', { course_title: 'B' }, '/protected');
  const resumed = await openSse(`${url}/protected/events/mark`, {
    cookie: browser.cookieHeader,
    'last-event-id': first.id ?? '',
  });
  t.after(() => resumed.close());
  const missed = await resumed.next();
  assert.ok(Number(missed.id) > Number(first.id));
  const change = changeIn(missed.data);
  assert.equal(change.kind === 'added' && change.course.title, 'B');
});

test('a bearer token opens the stream as well as the cookie does', async (t) => {
  const { url } = await startApp(t);
  const token = await apiToken(url, 'luke', 'pass456');
  const stream = await openSse(`${url}/protected/events/luke`, { authorization: `Bearer ${token}` });
  t.after(() => stream.close());
  const browser = await new Browser(url).login('luke', 'pass456');
  await browser.submit('/add_course', { course_title: 'Over bearer' }, '/protected');
  const event = await stream.next();
  const change = changeIn(event.data);
  assert.equal(change.kind === 'added' && change.course.title, 'Over bearer');
});

test('logging out ends the stream with an auth event that sends the page to /login', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login();
  const stream = await openSse(`${url}/protected/events/mark`, { cookie: browser.cookieHeader });
  t.after(() => stream.close());
  await browser.logout();
  const event = await stream.next();
  assert.equal(event.event, 'auth');
  assert.equal((JSON.parse(event.data) as { redirect: string }).redirect, '/login');
  await stream.ended;
});
