/** The JSON API: POST /api/login and GET /api/me, for bearer-token clients and the cookie. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startApp } from '../support/app.ts';
import { Browser } from '../support/http.ts';

const postJson = (url: string, body: string, contentType = 'application/json') =>
  fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': contentType }, body });

test('POST /api/login: 200 {access_token, token_type: "bearer", username} for good credentials', async (t) => {
  const { url } = await startApp(t);
  const response = await postJson(url, JSON.stringify({ username: 'mark', password: 'pass123' }));
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const body = (await response.json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['access_token', 'token_type', 'username']);
  assert.equal(body.token_type, 'bearer');
  assert.equal(body.username, 'mark');
  assert.match(String(body.access_token), /^[\w-]+\.[\w-]+\.[\w-]+$/);
  assert.equal(response.headers.getSetCookie().length, 0, 'the API sets no cookie');
});

test('POST /api/login: 401 {error} for a wrong password or an unknown user, with the same words', async (t) => {
  const { url } = await startApp(t);
  const wrong = await postJson(url, JSON.stringify({ username: 'mark', password: 'nope' }));
  const unknown = await postJson(url, JSON.stringify({ username: 'ghost', password: 'pass123' }));
  assert.equal(wrong.status, 401);
  assert.equal(unknown.status, 401);
  assert.deepEqual(await wrong.json(), { error: 'Invalid username or password' });
  assert.deepEqual(await unknown.json(), { error: 'Invalid username or password' });
});

test('POST /api/login: 400 {error} for malformed JSON, missing fields and wrong types', async (t) => {
  const { url } = await startApp(t);
  const bodies = [
    '{"username": "mark", "password": ',
    'not json',
    '',
    '[]',
    'null',
    '{}',
    '{"username":"mark"}',
    '{"password":"pass123"}',
    '{"username":"mark","password":123}',
    '{"username":["mark"],"password":"pass123"}',
    '{"username":null,"password":"pass123"}',
  ];
  for (const body of bodies) {
    const response = await postJson(url, body);
    assert.equal(response.status, 400, body);
    const json = (await response.json()) as { error?: unknown };
    assert.equal(typeof json.error, 'string', body);
  }
});

test('POST /api/login: a plain-text body is 400, never a login', async (t) => {
  const { url } = await startApp(t);
  const response = await postJson(url, '{"username":"mark","password":"pass123"}', 'text/plain');
  assert.equal(response.status, 400);
  assert.equal(typeof ((await response.json()) as { error?: unknown }).error, 'string');
});

test('GET /api/me answers for a bearer token and for the session cookie', async (t) => {
  const { url } = await startApp(t);
  const login = await postJson(url, JSON.stringify({ username: 'luke', password: 'pass456' }));
  const { access_token } = (await login.json()) as { access_token: string };
  const bearer = await fetch(`${url}/api/me`, { headers: { authorization: `Bearer ${access_token}` } });
  assert.equal(bearer.status, 200);
  const me = (await bearer.json()) as { id: number; username: string; expires_at: number };
  assert.equal(me.username, 'luke');
  assert.ok(Number.isInteger(me.id));
  assert.ok(me.expires_at > Date.now() / 1000);

  const browser = await new Browser(url).login('mark', 'pass123');
  const cookie = await browser.fetch('/api/me');
  assert.equal(cookie.status, 200);
  assert.equal(((await cookie.json()) as { username: string }).username, 'mark');
});

test('GET /api/me: 401 {error} without a token, with a bad one, or with a malformed header', async (t) => {
  const { url } = await startApp(t);
  for (const headers of [
    {},
    { authorization: 'Bearer not.a.jwt' },
    { authorization: 'Basic bWFyazpwYXNzMTIz' },
    { authorization: 'Bearer' },
    { cookie: 'access_token=garbage' },
  ] as Record<string, string>[]) {
    const response = await fetch(`${url}/api/me`, { headers });
    assert.equal(response.status, 401, JSON.stringify(headers));
    assert.deepEqual(await response.json(), { error: 'Not authenticated' });
  }
});
