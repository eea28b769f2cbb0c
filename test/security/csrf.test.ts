/**
 * Cross-site request forgery against every state-changing form, each attack paired with the
 * legitimate request it imitates (which must succeed, or the attack test proves nothing).
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { startApp } from '../support/app.ts';
import { apiToken, Browser } from '../support/http.ts';

const EVIL = 'http://evil.example';

interface Form {
  path: string;
  /** Where a legitimate user gets the form (and its token). */
  page: string;
  fields: Record<string, string>;
  /** True when the forged request changed nothing the victim would notice. */
  unchanged(victim: Browser, url: string): Promise<boolean>;
  legitimateStatus: number;
}

const sessionAlive = async (victim: Browser) => (await victim.fetch('/api/me')).status === 200;

const FORMS: Form[] = [
  {
    path: '/login',
    page: '/login',
    fields: { username: 'mark', password: 'pass123' },
    // Login CSRF: the victim must not end up signed in to the attacker's (here: any) account.
    unchanged: async (victim) => !victim.cookies.has('access_token'),
    legitimateStatus: 302,
  },
  {
    path: '/logout',
    page: '/protected',
    fields: {},
    unchanged: sessionAlive,
    legitimateStatus: 302,
  },
  {
    path: '/logout/all',
    page: '/protected',
    fields: {},
    unchanged: sessionAlive,
    legitimateStatus: 302,
  },
  {
    path: '/add_course',
    page: '/protected',
    fields: { course_title: 'Forged course' },
    unchanged: async (victim) => !(await (await victim.fetch('/protected')).text()).includes('Forged course'),
    legitimateStatus: 201,
  },
];

/** A victim with the form open (and, except for the login form, signed in). */
async function victimOn(url: string, form: Form) {
  const victim = new Browser(url);
  if (form.path !== '/login') await victim.login('mark', 'pass123');
  const token = await victim.csrfToken(form.page);
  return { victim, token };
}

function post(browser: Browser, path: string, body: Record<string, string>, headers: Record<string, string>) {
  return browser.fetch(path, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body),
  });
}

async function attackEachForm(
  t: TestContext,
  name: string,
  forge: (ctx: { token: string; otherSessionToken: string; url: string }) => {
    body: Record<string, string | undefined>;
    headers: Record<string, string>;
  },
) {
  const { url } = await startApp(t);
  const attacker = await new Browser(url).login('luke', 'pass456');
  const otherSessionToken = await attacker.csrfToken('/protected');
  for (const form of FORMS) {
    const { victim, token } = await victimOn(url, form);
    const { body, headers } = forge({ token, otherSessionToken, url });
    const fields = Object.fromEntries(
      Object.entries({ ...form.fields, ...body }).filter((e): e is [string, string] => e[1] !== undefined),
    );
    const response = await post(victim, form.path, fields, headers);
    assert.equal(response.status, 403, `${name} on ${form.path}`);
    await response.text();
    assert.ok(await form.unchanged(victim, url), `${name} on ${form.path} changed state`);
  }
}

test('each form works for a same-origin page with its token (control)', async (t) => {
  const { url } = await startApp(t);
  for (const form of FORMS) {
    const { victim, token } = await victimOn(url, form);
    const response = await post(victim, form.path, { ...form.fields, _csrf: token }, { origin: url });
    assert.equal(response.status, form.legitimateStatus, form.path);
    assert.equal(await form.unchanged(victim, url), false, `${form.path} should have acted`);
  }
});

test('refuses a form post without a CSRF token', async (t) => {
  await attackEachForm(t, 'missing token', ({ url }) => ({
    body: { _csrf: undefined },
    headers: { origin: url },
  }));
});

test('refuses a form post with a made-up CSRF token', async (t) => {
  await attackEachForm(t, 'wrong token', ({ url }) => ({
    body: { _csrf: 'AAAAAAAA-forged-token-AAAAAAAAAAAA' },
    headers: { origin: url },
  }));
});

test("refuses a CSRF token taken from another user's session", async (t) => {
  await attackEachForm(t, 'token from another session', ({ url, otherSessionToken }) => ({
    body: { _csrf: otherSessionToken },
    headers: { origin: url },
  }));
});

test('refuses a post from another site even with a valid token (Origin)', async (t) => {
  await attackEachForm(t, 'cross-site Origin', ({ token }) => ({
    body: { _csrf: token },
    headers: { origin: EVIL },
  }));
});

test('refuses a post from another site even with a valid token (Sec-Fetch-Site)', async (t) => {
  await attackEachForm(t, 'Sec-Fetch-Site cross-site', ({ token }) => ({
    body: { _csrf: token },
    headers: { 'sec-fetch-site': 'cross-site' },
  }));
  await attackEachForm(t, 'Sec-Fetch-Site same-site (sibling subdomain)', ({ token }) => ({
    body: { _csrf: token },
    headers: { 'sec-fetch-site': 'same-site' },
  }));
  await attackEachForm(t, 'opaque Origin null', ({ token }) => ({
    body: { _csrf: token },
    headers: { origin: 'null' },
  }));
});

test('a cookie-authenticated JSON request gets no API exemption', async (t) => {
  const { url } = await startApp(t);
  const victim = await new Browser(url).login('mark', 'pass123');
  const token = await victim.csrfToken('/protected');
  const send = (origin: string, title: string) =>
    victim.fetch('/add_course', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': token, origin },
      body: JSON.stringify({ course_title: title }),
    });
  assert.equal((await send(EVIL, 'Cross-site JSON')).status, 403);
  assert.equal((await send(url, 'Same-site JSON')).status, 201);
  const page = await (await victim.fetch('/protected')).text();
  assert.ok(!page.includes('Cross-site JSON'));
  assert.ok(page.includes('Same-site JSON'));
  // What an HTML form can send cross-site without a preflight (text/plain) is refused too.
  const plain = await victim.fetch('/add_course', {
    method: 'POST',
    headers: { 'content-type': 'text/plain', origin: EVIL },
    body: 'course_title=Plain',
  });
  assert.equal(plain.status, 403);
});

test('bearer-token API calls are exempt from the Origin check (no cookie is involved)', async (t) => {
  const { url } = await startApp(t);
  const token = await apiToken(url);
  const response = await fetch(`${url}/api/logout`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, origin: EVIL, 'sec-fetch-site': 'cross-site' },
  });
  assert.equal(response.status, 204);
  assert.equal((await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${token}` } })).status, 401);
  // Without a credential header the same cross-site call is refused (e.g. API login CSRF).
  const login = await fetch(`${url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: EVIL },
    body: JSON.stringify({ username: 'mark', password: 'pass123' }),
  });
  assert.equal(login.status, 403);
});

test('GET /logout acts only for same-origin navigations; others get a confirmation form', async (t) => {
  const { url } = await startApp(t);
  const cases: { name: string; headers: Record<string, string>; acts: boolean }[] = [
    { name: 'link on our page', headers: { 'sec-fetch-site': 'same-origin' }, acts: true },
    { name: 'typed URL / bookmark', headers: { 'sec-fetch-site': 'none' }, acts: true },
    { name: 'older browser, same-origin Referer', headers: { referer: `${url}/protected` }, acts: true },
    { name: 'link or <img> on another site', headers: { 'sec-fetch-site': 'cross-site' }, acts: false },
    { name: 'sibling subdomain', headers: { 'sec-fetch-site': 'same-site' }, acts: false },
    { name: 'older browser, foreign Referer', headers: { referer: `${EVIL}/page` }, acts: false },
    { name: 'no provenance at all', headers: {}, acts: false },
  ];
  for (const { name, headers, acts } of cases) {
    const victim = await new Browser(url).login('mark', 'pass123');
    const response = await victim.fetch('/logout', { headers });
    if (acts) {
      assert.equal(response.status, 302, name);
      assert.equal(response.headers.get('location'), '/login');
      assert.equal(await sessionAlive(victim), false, `${name}: should have logged out`);
      continue;
    }
    assert.equal(response.status, 200, name);
    const html = await response.text();
    assert.match(html, /<form [^>]*method="post" action="\/logout"/, name);
    assert.equal(await sessionAlive(victim), true, `${name}: must not log out`);
    // The confirmation form itself works.
    const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const confirm = await post(victim, '/logout', { _csrf: token }, { origin: url });
    assert.equal(confirm.status, 302, `${name}: confirm`);
    assert.equal(await sessionAlive(victim), false, `${name}: confirmed logout`);
  }
});
