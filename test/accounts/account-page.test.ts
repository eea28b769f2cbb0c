/** The account page over real HTTP: what it shows, and its live updates over the account topic. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectSilence, numbered, numberOf } from '../events/helpers.ts';
import { startApp } from '../support/app.ts';
import { apiToken, Browser } from '../support/http.ts';
import { openSse } from '../support/sse.ts';
import { navigatePost } from './helpers.ts';

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
  const items = html.match(/<li id="session-[^"]+" class="list-item session[^"]*"/g) ?? [];
  assert.equal(items.length, 2);
  assert.equal((html.match(/This device/g) ?? []).length, 1);
  assert.match(html, /Safari on macOS/);
  assert.equal((html.match(/>Revoke</g) ?? []).length, 1, 'the other session has a revoke button');
  // This device's ends with a logout: the cookie goes with it.
  const current =
    /<li id="session-[^"]+" class="list-item session current"[\s\S]*?<\/li>/.exec(html)?.[0] ?? '';
  assert.match(
    current,
    /<form [^>]*method="post" action="\/logout"[^>]*>\s*<input type="hidden" name="_csrf"/,
  );
  assert.match(current, />Log out</);
  const signedOut = await navigatePost(browser, '/logout', {}, '/account');
  assert.equal(signedOut.status, 302);
  assert.equal(signedOut.location, '/login');
  assert.ok(!browser.cookies.has('access_token'));
  // Newest first: this sign-in, the failed one, the first sign-in.
  const activity = [...html.matchAll(/<li id="activity-\d+"[^>]*>.*?class="list-item-title">([^<]+)</g)].map(
    (m) => m[1],
  );
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
  assert.match(appended.content, /^<li id="session-[0-9a-f-]+" class="list-item session"/);
  assert.match(appended.content, /Firefox on Linux/);
  assert.doesNotMatch(appended.content, /This device|name="_csrf"/);
  const prepended = JSON.parse(signInPush?.data ?? '{}').html['activity-list'];
  assert.equal(prepended.swap, 'prepend');
  assert.match(prepended.content, /^<li id="activity-\d+"[^>]*>.*?class="list-item-title">Signed in</);

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
  const ids = [...html.matchAll(/<li id="(activity-\d+)"/g)].map((m) => m[1]);
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

test('every account form refuses a missing or forged CSRF token and changes nothing', async (t) => {
  const { url, app } = await startApp(t);
  const browser = await new Browser(url).login();
  const other = await apiToken(url);
  const otherId = JSON.parse(Buffer.from(other.split('.')[1] ?? '', 'base64url').toString()).jti as string;
  const forms: [string, Record<string, string>][] = [
    ['/account/email', { email: 'mark@example.com' }],
    [
      '/account/password',
      {
        current_password: 'pass123',
        new_password: 'a long new phrase',
        new_password_confirm: 'a long new phrase',
      },
    ],
    [`/account/sessions/${otherId}/revoke`, {}],
    ['/account/sessions/revoke-others', {}],
    ['/account/delete', { password: 'pass123' }],
    ['/verify-email', { token: 'x' }],
    ['/forgot-password', { email: 'mark@example.com' }],
    [
      '/reset-password',
      { token: 'x', new_password: 'a long new phrase', new_password_confirm: 'a long new phrase' },
    ],
  ];
  for (const [path, fields] of forms)
    for (const token of [undefined, 'forged-token']) {
      const response = await browser.fetch(path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: url },
        body: new URLSearchParams(token ? { ...fields, _csrf: token } : fields),
      });
      assert.equal(response.status, 403, `${path} ${token ?? 'without a token'}`);
    }
  const mark = await app.auth.users.findByUsername('mark');
  assert.equal(mark?.email, null);
  assert.ok(await app.auth.passwords.verify('pass123', mark?.hashed_password ?? null));
  const me = await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${other}` } });
  assert.equal(me.status, 200);
});

test('the account JSON routes refuse a cookie caller without the CSRF token and change nothing', async (t) => {
  const { url, app } = await startApp(t);
  const browser = await new Browser(url).login();
  const other = await apiToken(url);
  const routes: [string, string, object | undefined][] = [
    ['POST', '/api/account/password', { current_password: 'pass123', new_password: 'a long new phrase' }],
    ['POST', '/api/account/email', { email: 'mark@example.com' }],
    ['POST', '/api/sessions/revoke-others', undefined],
    ['DELETE', '/api/account', { password: 'pass123' }],
  ];
  for (const [method, path, body] of routes)
    for (const token of [undefined, 'forged-token']) {
      const response = await browser.fetch(path, {
        method,
        headers: {
          origin: url,
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...(token ? { 'x-csrf-token': token } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      assert.equal(response.status, 403, `${method} ${path} ${token ?? 'without a token'}`);
    }
  const mark = await app.auth.users.findByUsername('mark');
  assert.equal(mark?.email, null);
  assert.ok(await app.auth.passwords.verify('pass123', mark?.hashed_password ?? null));
  const me = await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${other}` } });
  assert.equal(me.status, 200, 'the other session stands');
  // With the page's token the same request goes through.
  const token = await browser.csrfToken('/account');
  const done = await browser.fetch('/api/sessions/revoke-others', {
    method: 'POST',
    headers: { origin: url, 'x-csrf-token': token },
  });
  assert.deepEqual(await done.json(), { ended: 1 });
});

test('the email form: a bad address re-renders the page (400); a good one sends the link and says so', async (t) => {
  const { url, app } = await startApp(t);
  const browser = await new Browser(url).login();
  const published = await app.events.publish('mark', { js: { before: 1 } });
  const bad = await navigatePost(browser, '/account/email', { email: 'not an address' }, '/account');
  assert.equal(bad.status, 400);
  assert.match(bad.body, /id="email-error">This is not an email address/);
  assert.match(bad.body, /value="not an address"/, 'what was typed is kept');
  assert.match(bad.body, /<input [^>]*id="email"[^>]* autofocus aria-invalid="true"/, 'focus on the field');
  // The page again is a live page too: it resumes from the newest id, not from "now".
  const lastId = Number(/sx-last-id="(\d+)"/.exec(bad.body)?.[1]);
  assert.ok(lastId >= published.id, `sx-last-id ${lastId} >= ${published.id}`);
  const good = await navigatePost(browser, '/account/email', { email: 'Mark@Example.com' }, '/account');
  assert.equal(good.status, 303);
  assert.equal(good.location, '/account?notice=email-sent');
  const page = await (await browser.fetch('/account?notice=email-sent')).text();
  assert.match(page, /We sent a confirmation link/);
  assert.match(page, /id="account-email">mark@example.com <span class="badge badge-warning">not verified/);
  // Revoking a session that is not one's own, by the form, is a 404 too.
  const foreign = await apiToken(url, 'luke', 'pass456');
  const id = JSON.parse(Buffer.from(foreign.split('.')[1] ?? '', 'base64url').toString()).jti as string;
  const refused = await navigatePost(browser, `/account/sessions/${id}/revoke`, {}, '/account');
  assert.equal(refused.status, 404);
});

test('link pages without a token, or with a bad one, say the link is invalid', async (t) => {
  const { url } = await startApp(t);
  const verify = await fetch(`${url}/verify-email`);
  assert.equal(verify.status, 200);
  assert.match(await verify.text(), /id="verify-error"[\s\S]*?This link is invalid, used or expired/);
  for (const path of ['/reset-password', '/reset-password?token=made-up']) {
    const reset = await fetch(`${url}${path}`);
    assert.equal(reset.status, 400, path);
    assert.match(await reset.text(), /id="reset-error"[\s\S]*?This link is invalid, used or expired/);
  }
  const browser = new Browser(url);
  const used = await navigatePost(
    browser,
    '/verify-email',
    { token: 'made-up' },
    '/verify-email?token=made-up',
  );
  assert.equal(used.status, 400);
  assert.match(used.body, /invalid, used or expired/);
});
