/** Sign-up over real HTTP: the form, the JSON API, the policy, the throttle, and registration off. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startApp } from '../support/app.ts';
import { apiToken, Browser } from '../support/http.ts';

const STRONG = 'correct horse battery';

const postJson = (url: string, path: string, body: unknown) =>
  fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

test('the sign-up form creates the account, signs it in with a browser-session cookie and goes to /protected', async (t) => {
  const { url } = await startApp(t);
  const browser = new Browser(url);
  const form = await (await browser.fetch('/register')).text();
  for (const name of ['username', 'password', 'password_confirm', 'email', '_csrf'])
    assert.match(form, new RegExp(`name="${name}"`), name);
  const response = await browser.submit(
    '/register',
    { username: 'alice', password: STRONG, password_confirm: STRONG, email: '' },
    '/register',
  );
  assert.equal(response.status, 303);
  assert.equal(response.headers.get('location'), '/protected');
  const cookie = response.headers.getSetCookie().find((c) => c.startsWith('access_token=')) ?? '';
  assert.doesNotMatch(cookie, /Max-Age|Expires/i, 'a browser-session cookie');
  const page = await browser.fetch('/protected');
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Hello, <span id="username">alice<\/span>/);
  await apiToken(url, 'alice', STRONG);
});

test('form errors come back as 400 with one message per field, keeping what was typed but passwords', async (t) => {
  const { url } = await startApp(t);
  const browser = new Browser(url);
  const cases: [Record<string, string>, RegExp][] = [
    [
      { username: 'alice', password: 'short', password_confirm: 'short' },
      /id="password-error">Password must be at least 8/,
    ],
    [
      { username: 'alice', password: 'password1', password_confirm: 'password1' },
      /id="password-error">This password is on a list/,
    ],
    [
      { username: 'alice', password: 'alice2024', password_confirm: 'alice2024' },
      /id="password-error">Password must not be your username/,
    ],
    [
      { username: 'alice', password: STRONG, password_confirm: 'different thing' },
      /id="password-confirm-error">The passwords do not match/,
    ],
    [
      { username: 'bad name!', password: STRONG, password_confirm: STRONG },
      /id="username-error">Username must be/,
    ],
    [
      { username: 'mark', password: STRONG, password_confirm: STRONG },
      /id="username-error">This username is taken/,
    ],
    [
      { username: 'alice', password: STRONG, password_confirm: STRONG, email: 'not-an-address' },
      /id="email-error">This is not an email address/,
    ],
  ];
  for (const [fields, error] of cases) {
    const response = await browser.submit(
      '/register',
      { email: 'alice@example.com', ...fields },
      '/register',
    );
    assert.equal(response.status, 400, JSON.stringify(fields));
    const html = await response.text();
    assert.match(html, error);
    assert.match(html, new RegExp(`name="username" type="text" value="${fields.username}"`));
    assert.ok(!html.includes(fields.password ?? '\u0000'), 'passwords are never echoed');
    assert.ok(!response.headers.getSetCookie().some((c) => c.startsWith('access_token=')));
  }
  // Every field in error has its message at once, the name's among them.
  const several = await browser.submit(
    '/register',
    { username: 'bad name!', password: 'short', password_confirm: 'other', email: 'nope' },
    '/register',
  );
  assert.equal(several.status, 400);
  const html = await several.text();
  for (const error of [
    /id="username-error">Username must be/,
    /id="password-error">Password must be at least 8/,
    /id="password-confirm-error">The passwords do not match/,
    /id="email-error">This is not an email address/,
  ])
    assert.match(html, error);
  // Nothing was created: the name is still free.
  const created = await browser.submit(
    '/register',
    { username: 'alice', password: STRONG, password_confirm: STRONG },
    '/register',
  );
  assert.equal(created.status, 303);
});

test('the form without a valid CSRF token is refused and creates nothing', async (t) => {
  const { url } = await startApp(t);
  const browser = new Browser(url);
  await browser.csrfToken('/register');
  const response = await browser.fetch('/register', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      username: 'alice',
      password: STRONG,
      password_confirm: STRONG,
      _csrf: 'forged',
    }),
  });
  assert.equal(response.status, 403);
  const api = await postJson(url, '/api/login', { username: 'alice', password: STRONG });
  assert.equal(api.status, 401);
});

test('POST /api/register answers 201 with a working token; 400 names the rule; a taken name is 409 and changes nothing', async (t) => {
  const { url } = await startApp(t);
  const created = await postJson(url, '/api/register', {
    username: 'bob',
    password: STRONG,
    email: 'bob@example.com',
  });
  assert.equal(created.status, 201);
  const body = (await created.json()) as { access_token: string; token_type: string; username: string };
  assert.equal(body.token_type, 'bearer');
  assert.equal(body.username, 'bob');
  const me = await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${body.access_token}` } });
  assert.deepEqual(
    { ...((await me.json()) as object), id: 0, expires_at: 0 },
    { id: 0, username: 'bob', email: 'bob@example.com', email_verified: false, expires_at: 0 },
  );

  for (const [input, rule] of [
    [{ username: 'carol', password: 'short' }, /at least 8 characters/],
    [{ username: 'carol', password: 'iloveyou' }, /commonly used/],
    [{ username: 'carol', password: 'carol1234' }, /your username/],
    [{ username: 'carol', password: 'é'.repeat(40) }, /at most 72 bytes/],
    [{ username: 'bad name', password: STRONG }, /Username must be/],
  ] as const) {
    const response = await postJson(url, '/api/register', input);
    assert.equal(response.status, 400, JSON.stringify(input));
    assert.match(((await response.json()) as { error: string }).error, rule);
  }
  for (const malformed of [
    {},
    { username: 'dave' },
    { username: 'dave', password: 42 },
    { username: 'dave', password: STRONG, email: 'nope' },
  ]) {
    const response = await postJson(url, '/api/register', malformed);
    assert.equal(response.status, 400, JSON.stringify(malformed));
  }

  const taken = await postJson(url, '/api/register', { username: 'mark', password: STRONG });
  assert.equal(taken.status, 409);
  assert.match(((await taken.json()) as { error: string }).error, /taken/);
  await apiToken(url, 'mark', 'pass123');
  const refused = await postJson(url, '/api/login', { username: 'mark', password: STRONG });
  assert.equal(refused.status, 401, "the existing account's password is unchanged");
});

test('sign-ups are throttled per address: past REGISTRATION_MAX_PER_IP, 429 with Retry-After', async (t) => {
  const { url } = await startApp(t, { REGISTRATION_MAX_PER_IP: '2' });
  for (const username of ['u1', 'u2'])
    assert.equal((await postJson(url, '/api/register', { username, password: STRONG })).status, 201);
  const refused = await postJson(url, '/api/register', { username: 'u3', password: STRONG });
  assert.equal(refused.status, 429);
  assert.ok(Number(refused.headers.get('retry-after')) > 0);
  const form = await new Browser(url).submit(
    '/register',
    { username: 'u4', password: STRONG, password_confirm: STRONG },
    '/register',
  );
  assert.equal(form.status, 429);
  assert.match(await form.text(), /Too many attempts/);
  assert.equal((await postJson(url, '/api/login', { username: 'u3', password: STRONG })).status, 401);
});

test('with ALLOW_REGISTRATION=false every sign-up route answers 404 and the login page offers none', async (t) => {
  const { url } = await startApp(t, { ALLOW_REGISTRATION: 'false' });
  const browser = new Browser(url);
  assert.equal((await browser.fetch('/register')).status, 404);
  assert.equal((await postJson(url, '/api/register', { username: 'bob', password: STRONG })).status, 404);
  const form = await browser.fetch('/register', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'username=bob',
  });
  assert.equal(form.status, 404);
  assert.doesNotMatch(await (await browser.fetch('/login')).text(), /href="\/register"/);
});
