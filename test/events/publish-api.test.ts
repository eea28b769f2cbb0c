import assert from 'node:assert/strict';
import { test } from 'node:test';
import { combine, html, safeHtml, vars } from '../../src/events/messages.ts';
import { startApp } from '../support/app.ts';
import { closeAll, demoTokens, expectSilence, openStream } from './helpers.ts';

const KEY = 'publish-key-for-tests-0123456789';

const post = (url: string, body: unknown, authorization: string | null = `Bearer ${KEY}`) =>
  fetch(`${url}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(body),
  });

test('POST /api/events does not exist when PUBLISH_API_KEY is unset', async (t) => {
  const { url } = await startApp(t);
  const response = await post(url, { to: 'mark', message: { js: { x: 1 } } });
  assert.equal(response.status, 404);
});

test('POST /api/events refuses a missing or wrong key with 401', async (t) => {
  const { url, app } = await startApp(t, { PUBLISH_API_KEY: KEY });
  const body = { to: 'mark', message: { js: { x: 1 } } };
  for (const authorization of [
    null,
    `Bearer ${KEY}x`,
    `Bearer ${KEY.slice(0, -1)}`,
    `Basic ${KEY}`,
    KEY,
    'Bearer ',
  ]) {
    const response = await post(url, body, authorization);
    assert.equal(response.status, 401, `${authorization}`);
    assert.equal(response.headers.get('www-authenticate'), 'Bearer');
  }
  // A user's own access token is not a publish key either.
  const { mark } = await demoTokens(url);
  assert.equal((await post(url, body, `Bearer ${mark}`)).status, 401);
  // (Signing in publishes to the account page's topic, `mark#account`; nothing reached mark's pages.)
  const published = await app.events.log.readAfter(['mark', '*'], 0, 10);
  assert.deepEqual(published.events, [], 'nothing was published');
});

test('POST /api/events validates the message shape (400) and never delivers a bad one', async (t) => {
  const { url, app } = await startApp(t, { PUBLISH_API_KEY: KEY });
  const bad: unknown[] = [
    {},
    { to: 'mark' },
    { message: { js: { x: 1 } } },
    { to: 'mark', message: {} },
    { to: 'mark', message: { html: { list: 5 } } },
    { to: 'mark', message: { html: { list: { content: 'x', swap: 'explode' } } } },
    { to: 'mark', message: { js: { exec: 42 } } },
    { to: 'mark', message: { script: 'alert(1)' } },
    { to: 'mark', message: 'hello' },
    { to: 'two words', message: { js: { x: 1 } } },
    { to: '', message: { js: { x: 1 } } },
    { to: 'mark', message: { js: { x: 1 } }, extra: true },
  ];
  for (const body of bad) {
    const response = await post(url, body);
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal(typeof (await response.json()).error, 'string');
  }
  const malformed = await fetch(`${url}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: '{"to":',
  });
  assert.equal(malformed.status, 400);
  // The answer names what is wrong, and a number is not taken for a string (no coercion).
  const wrongType = await post(url, { to: 'mark', message: { js: { exec: 42 } } });
  assert.match((await wrongType.json()).error, /body\/message\/js\/exec expected string/);
  assert.equal(await app.events.latestId(), 0);
});

test('POST /api/events delivers to the named user only (202 with the id); "*" reaches everyone', async (t) => {
  const { url } = await startApp(t, { PUBLISH_API_KEY: KEY });
  const tokens = await demoTokens(url);
  const mark = await openStream(url, tokens.mark, 'mark');
  const luke = await openStream(url, tokens.luke, 'luke');
  t.after(closeAll([mark, luke]));

  const message = combine(
    html('greeting', safeHtml`<b>${'<img src=x onerror=alert(1)>'}</b>`, 'inner'),
    vars({ n: 1 }),
  );
  const response = await post(url, { to: 'mark', message });
  assert.equal(response.status, 202);
  const { id } = (await response.json()) as { id: number };
  const event = await mark.next();
  assert.equal(event.id, String(id));
  assert.deepEqual(JSON.parse(event.data), {
    html: { greeting: { content: '<b>&lt;img src=x onerror=alert(1)&gt;</b>', swap: 'inner' } },
    js: { n: 1 },
  });
  await expectSilence(luke, 200);

  const everyone = await post(url, { to: '*', message: { js: { notice: 'maintenance' } } });
  assert.equal(everyone.status, 202);
  for (const stream of [mark, luke])
    assert.deepEqual(JSON.parse((await stream.next()).data), { js: { notice: 'maintenance' } });
});

test('app.events.publish refuses invalid messages and messages too large for a stream', async (t) => {
  const { app } = await startApp(t, { SSE_MAX_BUFFERED_BYTES: '4096' });
  await assert.rejects(app.events.publish('mark', {} as never), {
    name: 'InvalidMessageError',
    statusCode: 400,
  });
  await assert.rejects(app.events.publish('has space', { js: { x: 1 } }), { name: 'InvalidMessageError' });
  await assert.rejects(app.events.publish('mark', { js: { big: 'x'.repeat(3000) } }), {
    name: 'MessageTooLargeError',
    statusCode: 413,
  });
  assert.equal(await app.events.latestId(), 0);
});
