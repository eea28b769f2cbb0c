/**
 * Form bodies in both encodings, and who needs a CSRF token: cookie-authenticated requests do,
 * bearer-authenticated ones do not (a browser never attaches that header by itself).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startApp } from '../support/app.ts';
import { titlesIn } from '../support/courses.ts';
import { apiToken, Browser } from '../support/http.ts';

const titlesOf = async (browser: Browser) => titlesIn(await (await browser.fetch('/protected')).text());

test('a multipart FormData post with the _csrf field works, as the original SSEXI.js sends it', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login();
  const token = await browser.csrfToken('/protected');
  const form = new FormData();
  form.append('_csrf', token);
  form.append('course_title', 'Sent as multipart');
  // Exactly what the original library does: fetch(endpoint, {method: 'POST', body: new FormData(form)}).
  const response = await browser.fetch('/add_course', { method: 'POST', body: form });
  assert.equal(response.status, 201);
  assert.deepEqual(await titlesOf(browser), ['Sent as multipart']);
});

test('the login form accepts multipart too', async (t) => {
  const { url } = await startApp(t);
  const browser = new Browser(url);
  const form = new FormData();
  form.append('_csrf', await browser.csrfToken('/login'));
  form.append('username', 'mark');
  form.append('password', 'pass123');
  const response = await browser.fetch('/login', { method: 'POST', body: form });
  assert.equal(response.status, 302);
  assert.equal(response.headers.get('location'), '/protected');
  assert.ok(browser.cookies.has('access_token'));
});

test('multipart is bounded: no CSRF token → 403, a file → 413, an oversized field or too many → 413; nothing stored', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login();
  const token = await browser.csrfToken('/protected');
  const post = (fields: [string, string | Blob][]) => {
    const form = new FormData();
    for (const [name, value] of fields) form.append(name, value);
    return browser.fetch('/add_course', { method: 'POST', body: form });
  };
  assert.equal((await post([['course_title', 'No token']])).status, 403);
  const file = new Blob(['not wanted'], { type: 'text/plain' });
  assert.equal(
    (
      await post([
        ['_csrf', token],
        ['course_title', 'With a file'],
        ['upload', file],
      ])
    ).status,
    413,
  );
  // A value past the field limit is refused, never passed on cut short.
  const huge = 'x'.repeat(20 * 1024);
  assert.equal(
    (
      await post([
        ['_csrf', token],
        ['course_title', 'Big field'],
        ['notes', huge],
      ])
    ).status,
    413,
  );
  const many = Array.from({ length: 80 }, (_, i): [string, string] => [`f${i}`, 'v']);
  assert.equal((await post([['_csrf', token], ['course_title', 'Many fields'], ...many])).status, 413);
  assert.deepEqual(await titlesOf(browser), []);
});

test('a multipart body that cannot be read is a 400, one past the body limit a 413; no stack, nothing stored', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login();
  const token = await browser.csrfToken('/protected');
  const raw = (contentType: string, body: string) =>
    browser.fetch('/add_course', { method: 'POST', headers: { 'content-type': contentType }, body });
  const part = (name: string, value: string) =>
    `--b\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;

  const noBoundary = await raw('multipart/form-data', part('course_title', 'x'));
  assert.equal(noBoundary.status, 400);
  const cutShort = await raw('multipart/form-data; boundary=b', `${part('_csrf', token)}--b\r\nContent-Disp`);
  assert.equal(cutShort.status, 400);
  const body = (await cutShort.json()) as { error: string };
  assert.doesNotMatch(JSON.stringify(body), /at .*\.(ts|js):\d+/, 'no stack trace');
  // Bytes outside any part count too: 100 KiB of preamble passes every per-field bound.
  const preamble = 'x'.repeat(100 * 1024);
  const tooBig = await raw(
    'multipart/form-data; boundary=b',
    `${preamble}\r\n${part('_csrf', token)}${part('course_title', 'Padded')}--b--\r\n`,
  );
  assert.equal(tooBig.status, 413);
  // A well-formed raw body still works, and a field named __proto__ is only a field.
  const ok = await raw(
    'multipart/form-data; boundary=b',
    `${part('__proto__', 'x')}${part('_csrf', token)}${part('course_title', 'Raw multipart')}--b--\r\n`,
  );
  assert.equal(ok.status, 201);
  assert.deepEqual(await titlesOf(browser), ['Raw multipart']);
});

test('a bearer-authenticated POST needs no CSRF token; the same request with the cookie does', async (t) => {
  const { url } = await startApp(t);
  const token = await apiToken(url);
  const bearer = await fetch(`${url}/add_course`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ course_title: 'Over bearer' }),
  });
  assert.equal(bearer.status, 201);
  assert.equal(((await bearer.json()) as { title: string }).title, 'Over bearer');

  const browser = await new Browser(url).login();
  const cookie = await browser.fetch('/add_course', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ course_title: 'Over cookie, no token' }),
  });
  assert.equal(cookie.status, 403, 'the cookie is ambient: its requests need the token');
  assert.deepEqual(await titlesOf(browser), ['Over bearer']);
});

test('an invalid bearer token is refused (401), not treated as the cookie', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login();
  const response = await browser.fetch('/add_course', {
    method: 'POST',
    headers: { authorization: 'Bearer not-a-token', 'content-type': 'application/json' },
    body: JSON.stringify({ course_title: 'Sneaky' }),
  });
  assert.equal(response.status, 401, 'with Authorization present the cookie is ignored');
  assert.deepEqual(await titlesOf(browser), []);
});
