/**
 * Session ending: a copied token must stop working the moment its session ends — for the page,
 * the API and the stream (an open stream is told and closed) — and "log out everywhere" must end
 * every session of the user, whatever credential form it uses.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startApp } from '../support/app.ts';
import { apiToken, Browser } from '../support/http.ts';
import { openSse } from '../support/sse.ts';
import { DENIED, GRANTED, nowSeconds, probeAccess, signHs256 } from './attack.ts';

/** Waits for the stream's `auth` event and its end. */
async function expectSessionEndedEvent(stream: Awaited<ReturnType<typeof openSse>>, reason: string) {
  const event = await stream.next();
  assert.equal(event.event, 'auth');
  assert.equal((JSON.parse(event.data) as { reason: string }).reason, reason);
  await stream.ended;
}

test('after logout a copied cookie token stops working for page, API and stream', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login('mark', 'pass123');
  const stolen = browser.cookies.get('access_token') ?? '';
  assert.deepEqual(await probeAccess(url, stolen), GRANTED);
  const stream = await openSse(`${url}/protected/events/mark`, { cookie: `access_token=${stolen}` });
  t.after(() => stream.close());

  const logout = await browser.submit('/logout', {}, '/protected');
  assert.equal(logout.status, 302);
  assert.equal(browser.cookies.has('access_token'), false, 'the cookie is cleared');
  await expectSessionEndedEvent(stream, 'logout');
  assert.deepEqual(await probeAccess(url, stolen), DENIED);
});

test('logging out one session leaves the same user’s other sessions alone', async (t) => {
  const { url } = await startApp(t);
  const first = await new Browser(url).login('mark', 'pass123');
  const second = await new Browser(url).login('mark', 'pass123');
  await first.logout();
  assert.equal((await first.fetch('/api/me')).status, 401);
  assert.equal((await second.fetch('/api/me')).status, 200);
});

test('POST /api/logout revokes the presented bearer token', async (t) => {
  const { url } = await startApp(t);
  const token = await apiToken(url);
  const stream = await openSse(`${url}/protected/events/mark`, { authorization: `Bearer ${token}` });
  t.after(() => stream.close());
  const response = await fetch(`${url}/api/logout`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(response.status, 204);
  await expectSessionEndedEvent(stream, 'logout');
  assert.deepEqual(await probeAccess(url, token), DENIED);
  const again = await fetch(`${url}/api/logout`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(again.status, 401);
});

test('a Python-template token (no jti) is revoked by logout too', async (t) => {
  const { url, config, app } = await startApp(t);
  const token = signHs256(config.secretKey, {
    sub: 'mark',
    exp: nowSeconds() + app.auth.tokenLifetimeSeconds,
  });
  const response = await fetch(`${url}/api/logout`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(response.status, 204);
  assert.deepEqual(await probeAccess(url, token), DENIED);
});

test('"log out everywhere" ends every session of the user: cookies, bearer tokens and streams', async (t) => {
  const { url } = await startApp(t);
  const laptop = await new Browser(url).login('mark', 'pass123');
  const phone = await new Browser(url).login('mark', 'pass123');
  const script = await apiToken(url);
  const otherUser = await new Browser(url).login('luke', 'pass456');
  const stream = await openSse(`${url}/protected/events/mark`, { authorization: `Bearer ${script}` });
  t.after(() => stream.close());

  const response = await laptop.submit('/logout/all', {}, '/protected');
  assert.equal(response.status, 302);
  assert.equal(response.headers.get('location'), '/login');
  await expectSessionEndedEvent(stream, 'logout-all');
  for (const token of [laptop.cookies.get('access_token'), phone.cookies.get('access_token'), script])
    if (token) assert.deepEqual(await probeAccess(url, token), DENIED);
  assert.equal((await phone.fetch('/protected')).status, 302);
  assert.equal((await otherUser.fetch('/api/me')).status, 200, 'other users are untouched');
  // Logging in again right away works: the cut-off does not lock the user out.
  await laptop.login('mark', 'pass123');
  assert.equal((await laptop.fetch('/api/me')).status, 200);
});

test('anonymous POST /logout/all with a valid form token changes nothing and asks to log in', async (t) => {
  const { url } = await startApp(t);
  const browser = new Browser(url);
  const response = await browser.submit('/logout/all', {}, '/login');
  assert.equal(response.status, 302);
  assert.match(response.headers.get('location') ?? '', /^\/login/);
});

test('expired revocation rows are pruned when the app starts', async (t) => {
  const first = await startApp(t);
  const { db } = first.app;
  await db
    .insertInto('revoked_tokens')
    .values([
      { token_id: 'long-expired', expires_at: nowSeconds() - 60 },
      { token_id: 'still-live', expires_at: nowSeconds() + 3600 },
    ])
    .execute();
  await first.close();
  const second = await startApp(t, { DATABASE_URL: first.config.databaseUrl });
  // Pruning runs in the background once the app is ready; poll rather than sleep blindly.
  let ids: string[] = [];
  for (let i = 0; i < 50; i++) {
    ids = (await second.app.db.selectFrom('revoked_tokens').select('token_id').execute()).map(
      (r) => r.token_id,
    );
    if (!ids.includes('long-expired')) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.deepEqual(ids, ['still-live']);
});

test('the protected page offers "log out everywhere" as a CSRF-protected form', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login('mark', 'pass123');
  const html = await (await browser.fetch('/protected')).text();
  const form = /<form [^>]*action="\/logout\/all"[^>]*>([\s\S]*?)<\/form>/.exec(html)?.[1] ?? '';
  assert.match(form, /name="_csrf" value="[^"]+"/);
});
