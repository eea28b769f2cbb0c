import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startApp } from '../support/app.ts';
import { apiToken, Browser } from '../support/http.ts';
import { openSse } from '../support/sse.ts';
import { closeAll, ended, expectSilence, numbered, numberOf, openStream } from './helpers.ts';

/** Resolves once `condition` holds, polling; rejects after `timeoutMs`. */
async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

test('a stream has the streaming headers, a retry hint and heartbeat comments', async (t) => {
  const { url } = await startApp(t, { SSE_HEARTBEAT_SECONDS: '0.1', SSE_RETRY_MS: '1500' });
  const token = await apiToken(url);
  const stream = await openStream(url, token, 'mark');
  t.after(() => stream.close());
  const headers = stream.response.headers;
  assert.equal(headers.get('content-type'), 'text/event-stream; charset=utf-8');
  assert.equal(headers.get('cache-control'), 'no-cache, no-transform');
  assert.equal(headers.get('x-accel-buffering'), 'no');
  assert.equal(headers.get('content-encoding'), null);
  await until(() => stream.comments.length >= 3);
  assert.equal(stream.retry, 1500);
});

test('streams are never compressed, even when the client accepts gzip', async (t) => {
  const { url } = await startApp(t);
  const token = await apiToken(url);
  const stream = await openSse(`${url}/protected/events/mark`, {
    authorization: `Bearer ${token}`,
    'accept-encoding': 'gzip, br',
  });
  t.after(() => stream.close());
  assert.equal(stream.response.headers.get('content-encoding'), null);
});

test('anonymous callers get 401, other users 403', async (t) => {
  const { url } = await startApp(t);
  assert.equal((await fetch(`${url}/protected/events/mark`)).status, 401);
  const token = await apiToken(url, 'luke', 'pass456');
  const response = await fetch(`${url}/protected/events/mark`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(response.status, 403);
});

test('logout ends that session’s streams with `event: auth`; the user’s other sessions keep theirs', async (t) => {
  const { url, app } = await startApp(t);
  const [first, second] = [await apiToken(url), await apiToken(url)];
  const ending = await openStream(url, first, 'mark');
  const staying = await openStream(url, second, 'mark');
  t.after(closeAll([ending, staying]));

  const response = await fetch(`${url}/api/logout`, {
    method: 'POST',
    headers: { authorization: `Bearer ${first}` },
  });
  assert.equal(response.status, 204);
  const event = await ending.next();
  assert.equal(event.event, 'auth');
  assert.deepEqual(JSON.parse(event.data), { reason: 'logout', redirect: '/login' });
  await ended(ending);

  await app.events.publish('mark', numbered(1));
  assert.equal(numberOf(await staying.next()), 1);
  const again = await fetch(`${url}/protected/events/mark`, {
    headers: { authorization: `Bearer ${first}` },
  });
  assert.equal(again.status, 401);
});

test('logging out everywhere ends every stream of the user, and only theirs', async (t) => {
  const { url, app } = await startApp(t);
  const browser = await new Browser(url).login('mark', 'pass123');
  const tabs = await Promise.all(
    [1, 2].map(() => openSse(`${url}/protected/events/mark`, { cookie: browser.cookieHeader })),
  );
  const luke = await openStream(url, await apiToken(url, 'luke', 'pass456'), 'luke');
  t.after(closeAll([...tabs, luke]));

  const response = await browser.submit('/logout/all', {}, '/protected');
  assert.equal(response.status, 302);
  for (const tab of tabs) {
    const event = await tab.next();
    assert.equal(event.event, 'auth');
    assert.equal(JSON.parse(event.data).reason, 'logout-all');
    await ended(tab);
  }
  await app.events.publish('luke', numbered(2));
  assert.equal(numberOf(await luke.next()), 2);
});

test('a stream prompts its page to renew at half-life, and ends with `event: auth` when the session expires unrenewed', async (t) => {
  // Four-second tokens (0.001 h, rounded up to whole seconds).
  const { url, app } = await startApp(t, { ACCESS_TOKEN_EXPIRE_HOURS: '0.001' });
  const token = await apiToken(url);
  const { expiresAt } = (await app.auth.authenticate(token)) ?? { expiresAt: 0 };
  const stream = await openStream(url, token, 'mark');
  const renew = await stream.next(5000);
  assert.equal(renew.event, 'renew');
  assert.deepEqual(JSON.parse(renew.data), { url: '/api/session/refresh' });
  assert.ok(Date.now() >= (expiresAt - 2) * 1000 - 50, 'not before half the lifetime');
  const event = await stream.next(5000);
  assert.equal(event.event, 'auth');
  assert.deepEqual(JSON.parse(event.data), { reason: 'expired', redirect: '/login' });
  assert.ok(Date.now() >= expiresAt * 1000 - 50, 'not before the token expired');
  await ended(stream);
});

test('a user past SSE_MAX_STREAMS_PER_USER gets 429 with Retry-After; closing one frees a slot', async (t) => {
  const { url, app } = await startApp(t, { SSE_MAX_STREAMS_PER_USER: '2' });
  const token = await apiToken(url);
  const open = [await openStream(url, token, 'mark'), await openStream(url, token, 'mark')];
  t.after(closeAll(open));
  const refused = await fetch(`${url}/protected/events/mark`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get('retry-after')) > 0);
  assert.match((await refused.json()).error, /too many/i);
  // Other users are not affected.
  const luke = await openStream(url, await apiToken(url, 'luke', 'pass456'), 'luke');
  luke.close();

  open[0]?.close();
  await until(() => app.events.connectionCount('mark') < 2);
  const third = await openStream(url, token, 'mark');
  t.after(() => third.close());
  await expectSilence(third, 50);
});
