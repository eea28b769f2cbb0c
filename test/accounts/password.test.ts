/** Password change and account deletion over real HTTP, as JSON and as the account page's forms. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closeAll, ended, numbered, numberOf, openStream } from '../events/helpers.ts';
import { startApp } from '../support/app.ts';
import { BACKENDS, setupBackend } from '../support/backends.ts';
import { startFaultProxy, throughProxy } from '../support/fault-proxy.ts';
import { apiToken, Browser } from '../support/http.ts';
import { REDIS_URL } from '../support/services.ts';
import { openSse } from '../support/sse.ts';
import { navigatePost } from './helpers.ts';

const NEW = 'a much longer passphrase';
const bearer = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
const meStatus = async (url: string, token: string) => {
  const response = await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${token}` } });
  await response.body?.cancel();
  return response.status;
};
const loginStatus = async (url: string, password: string, username = 'mark') => {
  const response = await fetch(`${url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  await response.body?.cancel();
  return response.status;
};

test('POST /api/account/password: a wrong current password (403) or a weak new one (400) changes nothing', async (t) => {
  const { url } = await startApp(t);
  const token = await apiToken(url);
  const change = (body: object) =>
    fetch(`${url}/api/account/password`, {
      method: 'POST',
      headers: bearer(token),
      body: JSON.stringify(body),
    });
  const wrong = await change({ current_password: 'not it', new_password: NEW });
  assert.equal(wrong.status, 403);
  assert.match(((await wrong.json()) as { error: string }).error, /current password/);
  const weak = await change({ current_password: 'pass123', new_password: 'password123' });
  assert.equal(weak.status, 400);
  assert.match(((await weak.json()) as { error: string }).error, /commonly used/);
  assert.equal((await change({ current_password: 'pass123' })).status, 400);
  assert.equal(await loginStatus(url, 'pass123'), 200);
  assert.equal(await loginStatus(url, NEW), 401);
});

test('a password change ends every other session — tokens and streams — and the caller stays signed in', async (t) => {
  const { url } = await startApp(t);
  const [caller, other] = [await apiToken(url), await apiToken(url)];
  const luke = await apiToken(url, 'luke', 'pass456');
  const otherStream = await openStream(url, other, 'mark');
  const callerStream = await openStream(url, caller, 'mark');
  t.after(closeAll([otherStream, callerStream]));
  const response = await fetch(`${url}/api/account/password`, {
    method: 'POST',
    headers: bearer(caller),
    body: JSON.stringify({ current_password: 'pass123', new_password: NEW }),
  });
  assert.equal(response.status, 204);
  assert.equal(await meStatus(url, caller), 200);
  assert.equal(await meStatus(url, other), 401);
  assert.equal(await meStatus(url, luke), 200);
  const event = await otherStream.next();
  assert.equal(event.event, 'auth');
  assert.equal(JSON.parse(event.data).reason, 'password-changed');
  await ended(otherStream);
  assert.equal(await loginStatus(url, 'pass123'), 401);
  assert.equal(await loginStatus(url, NEW), 200);
});

test('guessing the current password is throttled like login', async (t) => {
  const { url, app } = await startApp(t, { LOGIN_MAX_FAILURES_PER_ACCOUNT: '2' });
  const token = await apiToken(url);
  const attempt = (current: string) =>
    fetch(`${url}/api/account/password`, {
      method: 'POST',
      headers: bearer(token),
      body: JSON.stringify({ current_password: current, new_password: NEW }),
    });
  assert.equal((await attempt('guess 1')).status, 403);
  assert.equal((await attempt('guess 2')).status, 403);
  const throttled = await attempt('pass123');
  assert.equal(throttled.status, 429, 'even the right password, once the limit is reached');
  assert.ok(Number(throttled.headers.get('retry-after')) > 0);
  assert.equal(await loginStatus(url, 'pass123'), 429, 'the same counters as login');
  const stored = await app.auth.users.findByUsername('mark');
  assert.ok(await app.auth.passwords.verify('pass123', stored?.hashed_password ?? null), 'unchanged');
});

test('the account page’s password form: errors re-render the page (400); success keeps this browser signed in', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login();
  const other = await apiToken(url);
  const submit = (fields: Record<string, string>) =>
    navigatePost(browser, '/account/password', fields, '/account');
  const mismatch = await submit({
    current_password: 'pass123',
    new_password: NEW,
    new_password_confirm: 'other!!',
  });
  assert.equal(mismatch.status, 400);
  assert.match(mismatch.body, /id="new-password-confirm-error">The new passwords do not match/);
  const wrong = await submit({ current_password: 'nope', new_password: NEW, new_password_confirm: NEW });
  assert.equal(wrong.status, 400);
  assert.match(wrong.body, /id="current-password-error">The current password is not correct/);
  const done = await submit({ current_password: 'pass123', new_password: NEW, new_password_confirm: NEW });
  assert.equal(done.status, 303);
  assert.equal(done.location, '/account?notice=password-changed');
  const page = await browser.fetch('/account?notice=password-changed');
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Every other session has ended/);
  assert.equal(await meStatus(url, other), 401);
  // Without the form token nothing happens.
  const forged = await browser.fetch('/account/password', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
    body: new URLSearchParams({
      current_password: NEW,
      new_password: 'yet another phrase',
      new_password_confirm: 'yet another phrase',
    }),
  });
  assert.equal(forged.status, 403);
  assert.equal(await loginStatus(url, NEW), 200);
});

test('deleting the account needs the password; it removes the user, their courses and sessions, and ends streams', async (t) => {
  const { url, app } = await startApp(t);
  const token = await apiToken(url, 'luke', 'pass456');
  const browser = await new Browser(url).login('luke', 'pass456');
  await browser.submit('/add_course', { course_title: 'Astrophysics' }, '/protected');
  const stream = await openStream(url, token, 'luke');
  t.after(() => stream.close());
  const remove = (password: string) =>
    fetch(`${url}/api/account`, {
      method: 'DELETE',
      headers: bearer(token),
      body: JSON.stringify({ password }),
    });
  const wrong = await remove('not it');
  assert.equal(wrong.status, 403);
  assert.equal(await meStatus(url, token), 200);
  assert.equal((await remove('pass456')).status, 204);
  assert.equal(await meStatus(url, token), 401);
  assert.equal((await browser.fetch('/protected')).status, 302);
  assert.equal((await stream.next()).event, 'auth');
  assert.equal(await loginStatus(url, 'pass456', 'luke'), 401);
  const rows = await app.db.selectFrom('courses').selectAll().execute();
  assert.deepEqual(rows, [], 'courses went with the user');
  assert.deepEqual(
    await app.db
      .selectFrom('sessions')
      .select('id')
      .where('user_id', 'not in', app.db.selectFrom('users').select('id'))
      .execute(),
    [],
  );
});

test('the account page’s delete form signs out and goes to /login', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login('luke', 'pass456');
  const wrong = await navigatePost(browser, '/account/delete', { password: 'nope' }, '/account');
  assert.equal(wrong.status, 400);
  assert.match(wrong.body, /id="delete-password-error">The current password is not correct/);
  const response = await navigatePost(browser, '/account/delete', { password: 'pass456' }, '/account');
  assert.equal(response.status, 303);
  assert.equal(response.location, '/login');
  assert.ok(!browser.cookies.has('access_token'), 'cookie cleared');
  assert.equal(await loginStatus(url, 'pass456', 'luke'), 401);
});

for (const backend of BACKENDS)
  test(`a new account under a deleted account's name replays none of its messages (${backend})`, async (t) => {
    const setup = await setupBackend(t, backend);
    if (!setup) return;
    const { url, app } = await setup.start();
    const register = async (username: string, password: string) => {
      const response = await fetch(`${url}/api/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password }),
      });
      assert.equal(response.status, 201);
      return ((await response.json()) as { access_token: string }).access_token;
    };
    const first = await register('zoe', NEW);
    // The first Zoe's course, and her account page's pushes (sign-in, failed sign-in, sessions).
    const course = await fetch(`${url}/add_course`, {
      method: 'POST',
      headers: bearer(first),
      body: JSON.stringify({ course_title: 'Zoe’s private notes' }),
    });
    assert.equal(course.status, 201);
    assert.equal(await loginStatus(url, 'a wrong guess', 'zoe'), 401);
    // Others' messages, a name that merely starts alike among them, must stay.
    const zoey = await register('zoey', NEW);
    await app.events.publish('zoey', numbered(1));
    await app.events.publish('*', numbered(2));
    const alike = ['Zoe', 'Zoe#account', 'zoe_', 'zoey#account'];
    for (const recipient of alike) await app.events.publish(recipient, numbered(9));
    const deleted = await fetch(`${url}/api/account`, {
      method: 'DELETE',
      headers: bearer(first),
      body: JSON.stringify({ password: NEW }),
    });
    assert.equal(deleted.status, 204);

    const second = await register('zoe', `${NEW} too`);
    // Asking for everything since the start: nothing of the first Zoe's comes back.
    const firstSession = JSON.parse(Buffer.from(first.split('.')[1] ?? '', 'base64url').toString()).jti;
    const resumed = await openStream(url, second, 'zoe', { lastEventId: 0 });
    const account = await openSse(`${url}/protected/events/zoe?topic=account&lastEventId=0`, {
      authorization: `Bearer ${second}`,
    });
    t.after(closeAll([resumed, account]));
    for (const stream of [resumed, account]) {
      for (;;) {
        const event = await stream.next(1000).catch(() => null);
        if (event === null || event.event === 'reload') break;
        assert.doesNotMatch(event.data, /private notes|Failed sign-in/);
        assert.ok(!event.data.includes(firstSession), 'the first Zoe’s session');
      }
    }
    // The new Zoe's own messages flow; Zoey's and the broadcast are still there to resume.
    const live = await openStream(url, second, 'zoe');
    t.after(() => live.close());
    await app.events.publish('zoe', numbered(3));
    assert.equal(numberOf(await live.next()), 3);
    const other = await openStream(url, zoey, 'zoey', { lastEventId: 0 });
    t.after(() => other.close());
    assert.deepEqual((await other.take(2)).map(numberOf), [1, 2]);
    const { events } = await app.events.log.readAfter(alike, 0, 10);
    const nines = events.filter((e) => e.data === JSON.stringify(numbered(9)));
    assert.deepEqual(nines.map((e) => e.recipient).sort(), [...alike].sort());
  });

test('with Redis away, deleting an account answers 503 and deletes nothing; once it is back, the deletion goes through', async (t) => {
  const setup = await setupBackend(t, 'redis');
  if (!setup) return;
  const proxy = await startFaultProxy(t, {
    host: '127.0.0.1',
    port: Number(new URL(REDIS_URL).port || 6379),
  });
  const { url } = await setup.start({ REDIS_URL: throughProxy(REDIS_URL, proxy) });
  const token = await apiToken(url, 'luke', 'pass456');
  const remove = () =>
    fetch(`${url}/api/account`, {
      method: 'DELETE',
      headers: bearer(token),
      body: JSON.stringify({ password: 'pass456' }),
    });
  proxy.cut('refuse');
  const refused = await remove();
  assert.equal(refused.status, 503, 'its messages could not leave the log');
  assert.ok(Number(refused.headers.get('retry-after')) > 0);
  assert.equal(await meStatus(url, token), 200, 'the account and its session are still there');
  proxy.restore();
  for (let attempt = 0; ; attempt++) {
    const response = await remove();
    if (response.status === 204) break;
    assert.equal(response.status, 503);
    assert.ok(attempt < 200, 'Redis is back within seconds');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.equal(await meStatus(url, token), 401);
  assert.equal(await loginStatus(url, 'pass456', 'luke'), 401);
});
