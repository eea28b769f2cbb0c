/**
 * Cross-site scripting: stored (course titles, usernames from an adopted Python database),
 * reflected (the login form's username echo, `next`, error pages) and pushed (HTML sent over
 * the stream, and attempts to inject extra SSE fields or events through a title).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startApp } from '../support/app.ts';
import { Browser } from '../support/http.ts';
import { openSse } from '../support/sse.ts';

const SCRIPT = '<script>alert(1)</script>';
const IMG = '<img src=x onerror=alert(2)>';
const ATTR = '"><svg onload=alert(3)>';

/** No raw markup from the payloads survived into the HTML. */
function assertNoRawPayload(html: string, what: string) {
  for (const raw of ['<script>alert', '<img src=x', '<svg onload', 'onerror=alert(2)>'])
    assert.ok(!html.includes(raw), `${what} contains raw ${raw}`);
}

test('stored XSS: a course title is escaped on the page and in the HTML pushed over the stream', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login('mark', 'pass123');
  const stream = await openSse(`${url}/protected/events/mark`, { cookie: browser.cookieHeader });
  t.after(() => stream.close());
  const title = `${SCRIPT}${IMG}${ATTR} {{ 7 * 7 }}`;
  assert.equal((await browser.submit('/add_course', { course_title: title }, '/protected')).status, 201);

  const pushed = JSON.parse((await stream.next()).data) as { html: Record<string, string>; js?: unknown };
  const fragment = (pushed.html['course-list'] as unknown as { content: string }).content ?? '';
  assertNoRawPayload(fragment, 'pushed fragment');
  assert.ok(fragment.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), fragment);
  assert.ok(fragment.includes('{{ 7 * 7 }}'), 'template syntax in data is not evaluated');
  assert.equal(pushed.js, undefined, 'no script channel from user data');

  const page = await (await browser.fetch('/protected')).text();
  assertNoRawPayload(page, '/protected');
  assert.ok(page.includes('&lt;img src=x onerror=alert(2)&gt;'));
});

test('a title cannot inject SSE fields or events (newlines stay inside one JSON data line)', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login('mark', 'pass123');
  const stream = await openSse(`${url}/protected/events/mark`, { cookie: browser.cookieHeader });
  t.after(() => stream.close());
  const title = 'x\n\nevent: auth\ndata: {"js":{"exec":"alert(1)"}}\nid: 999999\r\n\r\ndata: y';
  assert.equal((await browser.submit('/add_course', { course_title: title }, '/protected')).status, 201);
  assert.equal((await browser.submit('/add_course', { course_title: 'after' }, '/protected')).status, 201);
  const [first, second] = await stream.take(2);
  assert.equal(first?.event, undefined, 'an ordinary message, not an `auth` control event');
  assert.notEqual(first?.id, '999999');
  const message = JSON.parse(first?.data ?? '{}') as Record<string, unknown>;
  assert.deepEqual(Object.keys(message), ['html']);
  assert.ok(Number(second?.id) > Number(first?.id), 'ids stay the server’s own');
  assert.match(JSON.parse(second?.data ?? '{}').html['course-list'].content, /after/);
});

test('reflected XSS: the username echoed by the login form is escaped', async (t) => {
  const { url } = await startApp(t);
  const browser = new Browser(url);
  const username = `${ATTR}${SCRIPT}`;
  const response = await browser.submit('/login', { username, password: 'wrong' });
  assert.equal(response.status, 401);
  const html = await response.text();
  assertNoRawPayload(html, 'login error page');
  assert.ok(
    html.includes('value="&quot;&gt;&lt;svg onload=alert(3)&gt;&lt;script&gt;'),
    'escaped inside the attribute',
  );
});

test('reflected XSS: `next` and error pages never echo markup', async (t) => {
  const { url } = await startApp(t);
  const html = { accept: 'text/html' };
  const login = await (await fetch(`${url}/login?next=${encodeURIComponent(`/${ATTR}${SCRIPT}`)}`)).text();
  assertNoRawPayload(login, 'login with next');
  for (const path of [
    `/${encodeURIComponent(SCRIPT)}`,
    `/static/${encodeURIComponent(IMG)}`,
    `/api/${SCRIPT}`,
  ]) {
    const response = await fetch(`${url}${path}`, { headers: html });
    assert.equal(response.status, 404);
    assertNoRawPayload(await response.text(), `404 for ${path}`);
  }
  // A validation error names the field, not the submitted value.
  const browser = new Browser(url);
  const invalid = await browser.submit('/login', { username: `${SCRIPT}${'x'.repeat(200)}`, password: 'x' });
  assert.equal(invalid.status, 400);
  assertNoRawPayload(await invalid.text(), '400 page');
});

test('stored XSS: a hostile username adopted from an old database is escaped on the page', async (t) => {
  const { url, app } = await startApp(t);
  // The Python template never restricted usernames; its rows are adopted as they are.
  const username = '<img src=x onerror=alert(2)>';
  await app.auth.users.create(username, await app.auth.passwords.hash('pw'));
  const browser = await new Browser(url).login(username, 'pw');
  const page = await (await browser.fetch('/protected')).text();
  assertNoRawPayload(page, '/protected');
  assert.ok(page.includes('&lt;img src=x onerror=alert(2)&gt;'));
  assert.ok(page.includes('sx-connect="/protected/events/%3Cimg%20src%3Dx%20onerror%3Dalert(2)%3E"'));
});
