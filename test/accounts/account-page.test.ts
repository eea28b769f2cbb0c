/** The account page over real HTTP: what it shows, and its live updates over the account topic. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectSilence, numbered, numberOf } from '../events/helpers.ts';
import { startApp } from '../support/app.ts';
import { apiToken, Browser } from '../support/http.ts';
import { openSse } from '../support/sse.ts';

const login = (url: string, username: string, password: string, userAgent: string) =>
  fetch(`${url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': userAgent },
    body: JSON.stringify({ username, password }),
  });

test('anonymous visitors are sent to log in; the page shows the user, the sessions (this device marked) and activity', async (t) => {
  const { url } = await startApp(t);
  const anonymous = await fetch(`${url}/account`, { redirect: 'manual' });
  assert.equal(anonymous.status, 302);
  assert.equal(anonymous.headers.get('location'), '/login?next=%2Faccount');

  await login(url, 'mark', 'pass123', 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) Safari/605.1.15');
  await login(url, 'mark', 'wrong', 'curl/8.0');
  const browser = await new Browser(url).login();
  const response = await browser.fetch('/account');
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  const html = await response.text();
  assert.match(html, /id="account-username">mark</);
  assert.match(html, /sx-connect="\/protected\/events\/mark\?topic=account"/);
  const items = html.match(/<li id="session-[^"]+" class="session[^"]*">/g) ?? [];
  assert.equal(items.length, 2);
  assert.equal((html.match(/This device/g) ?? []).length, 1);
  assert.match(html, /Safari on macOS/);
  assert.equal((html.match(/>Revoke</g) ?? []).length, 1, 'every session but this one has a revoke button');
  // Newest first: this sign-in, the failed one, the first sign-in.
  const activity = [...html.matchAll(/<li id="activity-\d+"><strong>([^<]+)</g)].map((m) => m[1]);
  assert.deepEqual(activity, ['Signed in', 'Failed sign-in (wrong password)', 'Signed in']);
  for (const form of ['email-form', 'password-form', 'revoke-others-form', 'delete-form'])
    assert.match(html, new RegExp(`id="${form}">\\s*<input type="hidden" name="_csrf" value="[^"]+"`), form);
});

test('a session started or ended elsewhere, and new activity, reach the account page live — and no other page', async (t) => {
  const { url, app } = await startApp(t);
  const browser = await new Browser(url).login();
  const account = await openSse(`${url}/protected/events/mark?topic=account`, {
    cookie: browser.cookieHeader,
  });
  const plain = await openSse(`${url}/protected/events/mark`, { cookie: browser.cookieHeader });
  t.after(() => {
    account.close();
    plain.close();
  });

  const started = await login(url, 'mark', 'pass123', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0');
  const { access_token } = (await started.json()) as { access_token: string };
  const [sessionPush, signInPush] = await account.take(2);
  const appended = JSON.parse(sessionPush?.data ?? '{}').html['session-list'];
  assert.equal(appended.swap, 'append');
  assert.match(appended.content, /^<li id="session-[0-9a-f-]+" class="session">/);
  assert.match(appended.content, /Firefox on Linux/);
  assert.doesNotMatch(appended.content, /This device|name="_csrf"/);
  const prepended = JSON.parse(signInPush?.data ?? '{}').html['activity-list'];
  assert.equal(prepended.swap, 'prepend');
  assert.match(prepended.content, /^<li id="activity-\d+"><strong>Signed in</);

  await login(url, 'mark', 'wrong password', 'curl/8.0');
  const failed = JSON.parse((await account.next()).data).html['activity-list'];
  assert.match(failed.content, /Failed sign-in/);

  const id = JSON.parse(Buffer.from(access_token.split('.')[1] ?? '', 'base64url').toString()).jti as string;
  const revoked = await fetch(`${url}/api/sessions/${id}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${access_token}` },
  });
  assert.equal(revoked.status, 204);
  assert.deepEqual(JSON.parse((await account.next()).data), {
    html: { [`session-${id}`]: { swap: 'remove' } },
  });

  // None of it went to the protected page's stream: the next thing there is its own message.
  await app.events.publish('mark', numbered(1));
  assert.equal(numberOf(await plain.next()), 1);
  await expectSilence(plain, 100);
});

test('only the newest 20 activity entries are shown; the one pushed past them leaves the page', async (t) => {
  const { url } = await startApp(t, { LOGIN_MAX_FAILURES_PER_ACCOUNT: '100' });
  for (let i = 0; i < 20; i++) await login(url, 'luke', `wrong ${i}`, 'curl/8.0');
  const token = await apiToken(url, 'luke', 'pass456');
  const browser = await new Browser(url).login('luke', 'pass456');
  const html = await (await browser.fetch('/account')).text();
  const ids = [...html.matchAll(/<li id="(activity-\d+)">/g)].map((m) => m[1]);
  assert.equal(ids.length, 20);
  const account = await openSse(`${url}/protected/events/luke?topic=account`, {
    cookie: browser.cookieHeader,
  });
  t.after(() => account.close());
  await login(url, 'luke', 'wrong again', 'curl/8.0');
  const html2 = JSON.parse((await account.next()).data).html;
  assert.equal(html2[ids.at(-1) ?? '']?.swap, 'remove', 'the oldest shown entry goes');
  const activity = (await (
    await fetch(`${url}/api/account/activity`, { headers: { authorization: `Bearer ${token}` } })
  ).json()) as unknown[];
  assert.equal(activity.length, 20);
});
