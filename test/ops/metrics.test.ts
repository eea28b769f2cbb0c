import assert from 'node:assert/strict';
import { once } from 'node:events';
import { test } from 'node:test';
import { closeAll, ended, numbered, numberOf, openStream, openStuckStream } from '../events/helpers.ts';
import { startApp } from '../support/app.ts';
import { apiToken } from '../support/http.ts';

const KEY = 'metrics-key-0123456789';

/** The value of one series (`name` with exactly these labels, in any order) in a scrape; 0 when absent. */
function seriesValue(scrape: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels)
    .map(([key, value]) => `${key}="${value}"`)
    .sort();
  for (const line of scrape.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = (match[2] ?? '').split(',').filter(Boolean).sort();
    if (JSON.stringify(found) === JSON.stringify(wanted)) return Number(match[3]);
  }
  return 0;
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return response.text();
}

test('/metrics does not exist without METRICS_API_KEY', async (t) => {
  const { url } = await startApp(t);
  assert.equal((await fetch(`${url}/metrics`)).status, 404);
});

test('/metrics needs the key as a bearer token', async (t) => {
  const { url } = await startApp(t, { METRICS_API_KEY: KEY });
  for (const authorization of [undefined, 'Bearer wrong-key-0123456789', `Basic ${KEY}`, KEY]) {
    const response = await fetch(`${url}/metrics`, authorization ? { headers: { authorization } } : {});
    assert.equal(response.status, 401, String(authorization));
    assert.equal(response.headers.get('www-authenticate'), 'Bearer');
  }
});

test('the figures move as streams open, messages flow, resumes replay or reload, sessions end and logins fail', async (t) => {
  const { app, url } = await startApp(t, { METRICS_API_KEY: KEY });
  const token = await apiToken(url);
  const before = await scrape(url);
  assert.ok(seriesValue(before, 'nodejs_eventloop_lag_seconds') >= 0);
  assert.match(before, /^process_cpu_user_seconds_total /m, 'default process metrics');

  // Signing in publishes to the account page's topic too: count from here.
  const publishedBefore = seriesValue(before, 'sse_messages_published_total');
  const stream = await openStream(url, token, 'mark');
  t.after(closeAll([stream]));
  const first = await app.events.publish('mark', numbered(1));
  await app.events.publish('*', numbered(2));
  await stream.take(2);
  const replaying = await openStream(url, token, 'mark', { lastEventId: first.id });
  t.after(closeAll([replaying]));
  await replaying.next();
  const reloaded = await openStream(url, token, 'mark', { lastEventId: 999_999 });
  assert.equal((await reloaded.next()).event, 'reload');

  let during = await scrape(url);
  assert.equal(seriesValue(during, 'sse_open_streams'), 2);
  assert.equal(seriesValue(during, 'sse_streams_opened_total'), 3);
  assert.equal(seriesValue(during, 'sse_messages_published_total') - publishedBefore, 2);
  assert.equal(seriesValue(during, 'sse_messages_delivered_total'), 2);
  assert.equal(seriesValue(during, 'sse_messages_replayed_total'), 1);
  assert.equal(seriesValue(during, 'sse_reloads_total', { reason: 'replay-gap' }), 1);
  assert.equal(seriesValue(during, 'sse_streams_closed_total', { reason: 'reload' }), 1);

  // Logout ends both of the session's streams: two session-ended closes.
  const logout = await fetch(`${url}/api/logout`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  assert.equal(logout.status, 204);
  await Promise.all([ended(stream), ended(replaying)]);
  for (const password of ['wrong', 'pass123'])
    await fetch(`${url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'mark', password }),
    });
  await fetch(`${url}/no/such/page/12345`);

  during = await scrape(url);
  assert.equal(seriesValue(during, 'sse_open_streams'), 0);
  assert.equal(seriesValue(during, 'sse_streams_closed_total', { reason: 'auth' }), 2);
  assert.equal(seriesValue(during, 'auth_logins_total', { result: 'failure' }), 1);
  assert.equal(seriesValue(during, 'auth_logins_total', { result: 'success' }), 2);
  const loginCount = { method: 'POST', route: '/api/login', status_code: '401' };
  assert.equal(seriesValue(during, 'http_request_duration_seconds_count', loginCount), 1);
  // Routes are labelled by pattern; a URL nobody routes is "unmatched", never its raw path.
  assert.equal(
    seriesValue(during, 'http_request_duration_seconds_count', {
      method: 'GET',
      route: 'unmatched',
      status_code: '404',
    }),
    1,
  );
  assert.doesNotMatch(during, /12345/);
  // Streams are counted by the sse_streams_* series, not as hours-long "requests".
  assert.doesNotMatch(during, /http_request_duration_seconds_count\{[^}]*route="\/protected\/events/);
});

test('a client that stops reading is dropped and counted as closed for reason "slow"', async (t) => {
  const { app, url } = await startApp(t, {
    METRICS_API_KEY: KEY,
    SSE_MAX_BUFFERED_BYTES: String(256 * 1024),
  });
  const token = await apiToken(url);
  const healthy = await openStream(url, token, 'mark');
  t.after(closeAll([healthy]));
  const stuck = await openStuckStream(t, url, token, 'mark');
  assert.equal(seriesValue(await scrape(url), 'sse_open_streams'), 2);

  // Publish until the stuck stream's unsent bytes pass the cap (the kernel's socket buffers take
  // the first few MB); the healthy reader keeps up, so only the stuck client falls behind.
  const payload = 'x'.repeat(100 * 1024);
  for (let n = 0; app.events.connectionCount('mark') === 2; n++) {
    assert.ok(n < 300, 'the stuck client was never dropped');
    await app.events.publish('mark', { js: { n, payload } });
    assert.equal(numberOf(await healthy.next()), n);
  }
  stuck.resume();
  await once(stuck, 'close');

  const after = await scrape(url);
  assert.equal(seriesValue(after, 'sse_open_streams'), 1, 'the healthy stream stays');
  assert.equal(seriesValue(after, 'sse_streams_closed_total', { reason: 'slow' }), 1);
  for (const reason of ['client', 'auth', 'reload', 'bus-reset', 'server'])
    assert.equal(seriesValue(after, 'sse_streams_closed_total', { reason }), 0, reason);
});

test('a login refused by the throttle is counted as throttled, not as a failure', async (t) => {
  const { url } = await startApp(t, { METRICS_API_KEY: KEY, LOGIN_MAX_FAILURES_PER_ACCOUNT: '2' });
  const login = (password: string) =>
    fetch(`${url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'luke', password }),
    });
  assert.deepEqual(
    [(await login('wrong')).status, (await login('wrong')).status, (await login('pass456')).status],
    [401, 401, 429],
  );
  const after = await scrape(url);
  assert.equal(seriesValue(after, 'auth_logins_total', { result: 'failure' }), 2);
  assert.equal(seriesValue(after, 'auth_logins_total', { result: 'throttled' }), 1);
  assert.equal(seriesValue(after, 'auth_logins_total', { result: 'success' }), 0);
});
