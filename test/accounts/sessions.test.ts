/**
 * Sessions a user can see and end, over real HTTP: the list, revoking one (streams end with
 * `auth`), another user's id, logging out the others, sliding renewal with its cap, remember-me,
 * the stream's renew prompt, and revocation across instances through Redis.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closeAll, ended, numbered, numberOf, openStream } from '../events/helpers.ts';
import { startApp } from '../support/app.ts';
import { setupBackend } from '../support/backends.ts';
import { apiToken, Browser } from '../support/http.ts';

interface SessionItem {
  id: string;
  current: boolean;
  user_agent: string;
  ip: string;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const listSessions = async (url: string, token: string) =>
  (await (await fetch(`${url}/api/sessions`, { headers: bearer(token) })).json()) as SessionItem[];
const meStatus = async (url: string, token: string) => {
  const response = await fetch(`${url}/api/me`, { headers: bearer(token) });
  await response.body?.cancel();
  return response.status;
};
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as {
    jti: string;
    exp: number;
    sub: string;
  };
const cookieToken = (response: Response) =>
  /^access_token=([^;]+)/.exec(
    response.headers.getSetCookie().find((c) => c.startsWith('access_token=')) ?? '',
  )?.[1];

test('GET /api/sessions lists the caller’s sessions with the current one marked; others see only theirs', async (t) => {
  const { url } = await startApp(t);
  const first = await apiToken(url);
  const second = await fetch(`${url}/api/login`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0',
    },
    body: JSON.stringify({ username: 'mark', password: 'pass123' }),
  }).then((r) => r.json() as Promise<{ access_token: string }>);
  await apiToken(url, 'luke', 'pass456');
  const sessions = await listSessions(url, first);
  assert.equal(sessions.length, 2);
  const current = sessions.find((s) => s.current);
  assert.equal(current?.id, claimsOf(first).jti);
  const other = sessions.find((s) => !s.current);
  assert.equal(other?.id, claimsOf(second.access_token).jti);
  assert.equal(other?.user_agent, 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0');
  assert.equal(other?.ip, '127.0.0.1');
  assert.ok(other && other.created_at <= other.last_seen_at && other.expires_at > other.created_at);
  const anonymous = await fetch(`${url}/api/sessions`);
  assert.equal(anonymous.status, 401);
});

test('DELETE /api/sessions/:id ends that session at once — token and streams — and refuses others’ ids with 404', async (t) => {
  const { url } = await startApp(t);
  const [keeper, victim, luke] = [
    await apiToken(url),
    await apiToken(url),
    await apiToken(url, 'luke', 'pass456'),
  ];
  const victimStream = await openStream(url, victim, 'mark');
  const keeperStream = await openStream(url, keeper, 'mark');
  t.after(closeAll([victimStream, keeperStream]));
  const del = (token: string, id: string) =>
    fetch(`${url}/api/sessions/${encodeURIComponent(id)}`, { method: 'DELETE', headers: bearer(token) });

  // Luke cannot end mark's session, nor learn that it exists: the same 404 as a made-up id.
  const foreign = await del(luke, claimsOf(victim).jti);
  const madeUp = await del(luke, '00000000-0000-0000-0000-000000000000');
  assert.equal(foreign.status, 404);
  assert.equal(madeUp.status, 404);
  assert.equal(await foreign.text(), await madeUp.text());
  assert.equal(await meStatus(url, victim), 200);

  const done = await del(keeper, claimsOf(victim).jti);
  assert.equal(done.status, 204);
  assert.equal(await meStatus(url, victim), 401, 'at once');
  const event = await victimStream.next();
  assert.equal(event.event, 'auth');
  assert.deepEqual(JSON.parse(event.data), { reason: 'revoked', redirect: '/login' });
  await ended(victimStream);
  assert.equal(await meStatus(url, keeper), 200);
  assert.equal((await del(keeper, claimsOf(victim).jti)).status, 404, 'already ended');
  assert.deepEqual(
    (await listSessions(url, keeper)).map((s) => s.id),
    [claimsOf(keeper).jti],
  );
});

test('a cookie caller needs the CSRF token to end a session; a bearer caller does not', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login();
  const other = await apiToken(url);
  const id = encodeURIComponent(claimsOf(other).jti);
  const noToken = await browser.fetch(`/api/sessions/${id}`, { method: 'DELETE' });
  assert.equal(noToken.status, 403);
  assert.equal(await meStatus(url, other), 200);
  const token = await browser.csrfToken('/account');
  const withToken = await browser.fetch(`/api/sessions/${id}`, {
    method: 'DELETE',
    headers: { 'x-csrf-token': token },
  });
  assert.equal(withToken.status, 204);
  assert.equal(await meStatus(url, other), 401);
});

test('"log out other sessions" ends every other session and keeps the caller’s', async (t) => {
  const { url } = await startApp(t);
  const [mine, a, b] = [await apiToken(url), await apiToken(url), await apiToken(url)];
  const luke = await apiToken(url, 'luke', 'pass456');
  const stream = await openStream(url, a, 'mark');
  t.after(() => stream.close());
  const response = await fetch(`${url}/api/sessions/revoke-others`, {
    method: 'POST',
    headers: bearer(mine),
  });
  assert.deepEqual(await response.json(), { ended: 2 });
  assert.deepEqual(
    [await meStatus(url, mine), await meStatus(url, a), await meStatus(url, b)],
    [200, 401, 401],
  );
  assert.equal(await meStatus(url, luke), 200);
  assert.equal((await stream.next()).event, 'auth');
  // The form on the account page does the same for a cookie session.
  const browser = await new Browser(url).login();
  const other = await apiToken(url);
  const form = await browser.submit('/account/sessions/revoke-others', {}, '/account');
  assert.equal(form.status, 204, 'fetch (not a navigation): no content');
  assert.equal(await meStatus(url, other), 401);
  assert.equal((await browser.fetch('/account')).status, 200);
});

test('a cookie session renews past half its life (same session, later expiry); remember-me keeps a persistent cookie', async (t) => {
  // Four-second tokens: renewable after two.
  const { url, app } = await startApp(t, { ACCESS_TOKEN_EXPIRE_HOURS: '0.001' });
  const browser = new Browser(url);
  const login = await browser.submit('/login', { username: 'mark', password: 'pass123', remember: 'on' });
  const first = cookieToken(login) ?? '';
  assert.match(login.headers.getSetCookie().join(), /Max-Age=4/);
  const early = await browser.fetch('/protected');
  assert.equal(cookieToken(early), undefined, 'not renewed while more than half is left');
  const user = await app.auth.authenticate(first);
  assert.ok(user);
  // Wait (bounded) until the token is past half its life.
  await new Promise((resolve) => setTimeout(resolve, (claimsOf(first).exp - 2) * 1000 - Date.now() + 50));
  const later = await browser.fetch('/protected');
  const renewed = cookieToken(later);
  assert.ok(renewed, 'a fresh cookie');
  assert.match(later.headers.getSetCookie().join(), /Max-Age=[34]\b/, 'still persistent');
  assert.equal(claimsOf(renewed).jti, claimsOf(first).jti, 'the same session');
  assert.ok(claimsOf(renewed).exp > claimsOf(first).exp);
  assert.equal(claimsOf(renewed).sub, 'mark');
  // Past the first token's expiry, the renewed cookie still works.
  await new Promise((resolve) => setTimeout(resolve, claimsOf(first).exp * 1000 - Date.now() + 1100));
  assert.equal((await browser.fetch('/protected')).status, 200);
});

test('POST /api/session/refresh renews a bearer session up to SESSION_MAX_AGE_DAYS, and its open stream lives on', async (t) => {
  // Four-second tokens; sessions capped at six seconds (0.00007 days).
  const { url, app } = await startApp(t, {
    ACCESS_TOKEN_EXPIRE_HOURS: '0.001',
    SESSION_MAX_AGE_DAYS: '0.00007',
  });
  const token = await apiToken(url);
  const cap = (await app.auth.authenticate(token))?.session.absoluteExpiresAt ?? 0;
  const stream = await openStream(url, token, 'mark');
  t.after(() => stream.close());
  const prompt = await stream.next();
  assert.equal(prompt.event, 'renew');
  const refresh = await fetch(`${url}/api/session/refresh`, { method: 'POST', headers: bearer(token) });
  assert.equal(refresh.status, 200);
  const body = (await refresh.json()) as { access_token: string; token_type: string; expires_at: number };
  assert.equal(body.token_type, 'bearer');
  assert.equal(claimsOf(body.access_token).jti, claimsOf(token).jti);
  assert.equal(body.expires_at, cap, 'renewed up to the cap, not past it');
  assert.ok(body.expires_at > claimsOf(token).exp);
  // At the cap there is nothing left to renew: no second prompt; the stream ends with the session.
  const next = await stream.next(8000);
  assert.equal(next.event, 'auth');
  assert.ok(Date.now() >= cap * 1000 - 100, 'the stream outlived its first token, up to the session’s end');
  assert.ok(Date.now() > claimsOf(token).exp * 1000);
  const again = await fetch(`${url}/api/session/refresh`, {
    method: 'POST',
    headers: bearer(body.access_token),
  });
  assert.equal(again.status, 401, 'the session is over');
});

test('a revocation on one instance reaches another through Redis: its cache forgets, its streams end', async (t) => {
  const setup = await setupBackend(t, 'redis');
  if (!setup) return;
  const a = await setup.start();
  const b = await setup.start();
  const [keeper, victim] = [await apiToken(a.url), await apiToken(a.url)];
  assert.equal(await meStatus(b.url, victim), 200, 'cached on B');
  const stream = await openStream(b.url, victim, 'mark');
  t.after(() => stream.close());
  const response = await fetch(`${a.url}/api/sessions/${claimsOf(victim).jti}`, {
    method: 'DELETE',
    headers: bearer(keeper),
  });
  assert.equal(response.status, 204);
  assert.equal(await meStatus(a.url, victim), 401, 'at once on the revoking instance');
  const event = await stream.next();
  assert.equal(event.event, 'auth', 'B heard of it');
  assert.equal(await meStatus(b.url, victim), 401, 'and forgot its cached answer');
  // Other sessions keep working on both, and messages still flow.
  const keeperStream = await openStream(b.url, keeper, 'mark');
  t.after(() => keeperStream.close());
  await a.app.events.publish('mark', numbered(7));
  assert.equal(numberOf(await keeperStream.next()), 7);
});
