/**
 * `HEAD /protected/events/:user` used to open a real stream — one the client never reads, which
 * held one of the user's stream slots until it went away — and never finished its answer. HEAD
 * must answer what a GET would (status and headers) and hold nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startApp } from '../support/app.ts';
import { apiToken } from '../support/http.ts';
import { openSse } from '../support/sse.ts';

test('HEAD on a stream answers at once and holds no stream slot', async (t) => {
  const { url, app } = await startApp(t, { SSE_MAX_STREAMS_PER_USER: '2' });
  const token = await apiToken(url);
  const authorization = `Bearer ${token}`;
  for (let i = 0; i < 5; i++) {
    // Bounded only so that a server that never finishes the answer fails here instead of hanging.
    const response = await fetch(`${url}/protected/events/mark`, {
      method: 'HEAD',
      headers: { authorization },
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.equal(await response.text(), '', 'the answer is complete');
    assert.equal(app.events.connectionCount('mark'), 0, 'no stream was opened');
  }
  // Both slots are still free for real streams.
  const streams = [await openSse(`${url}/protected/events/mark`, { authorization })];
  streams.push(await openSse(`${url}/protected/events/mark`, { authorization }));
  t.after(() => {
    for (const stream of streams) stream.close();
  });
  assert.equal(app.events.connectionCount('mark'), 2);
});

test('HEAD on a stream is guarded like GET: 401 anonymous, 403 for another user', async (t) => {
  const { url } = await startApp(t);
  const token = await apiToken(url);
  const anonymous = await fetch(`${url}/protected/events/mark`, { method: 'HEAD' });
  assert.equal(anonymous.status, 401);
  const other = await fetch(`${url}/protected/events/luke`, {
    method: 'HEAD',
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(other.status, 403);
});
