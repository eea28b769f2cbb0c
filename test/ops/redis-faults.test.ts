import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Redis } from 'ioredis';
import { ServiceUnavailableError } from '../../src/service-unavailable.ts';
import { closeAll, demoTokens, ended, numbered, numberOf, openStreamRetrying } from '../events/helpers.ts';
import { startApp } from '../support/app.ts';
import { setupBackend } from '../support/backends.ts';
import { startFaultProxy, throughProxy } from '../support/fault-proxy.ts';
import { Browser } from '../support/http.ts';
import { privateRedis } from '../support/redis-server.ts';
import { REDIS_URL } from '../support/services.ts';

const PUBLISH_KEY = 'publish-key-0123456789';

/** The id a freshly rendered page tells its stream to resume from. */
async function pageLastId(browser: Browser): Promise<number> {
  const response = await browser.fetch('/protected');
  assert.equal(response.status, 200);
  const match = /sx-last-id="(\d+)"/.exec(await response.text());
  assert.ok(match?.[1], 'the page carries a resume id');
  return Number(match[1]);
}

/** Publishes as soon as the instance's Redis link is back (a 503 until then). */
async function publishWhenBack(app: import('fastify').FastifyInstance, n: number) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await app.events.publish('mark', numbered(n));
    } catch (error) {
      if (!(error instanceof ServiceUnavailableError) || attempt > 200) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}

test('Redis cut and restored: pages, logins and the API keep working, publishing answers 503, streams end and resume with the gap replayed', async (t) => {
  const setup = await setupBackend(t, 'redis', { PUBLISH_API_KEY: PUBLISH_KEY });
  if (!setup) return;
  const proxy = await startFaultProxy(t, {
    host: '127.0.0.1',
    port: Number(new URL(REDIS_URL).port || 6379),
  });
  // A reaches Redis through the proxy; B, another instance, directly.
  const a = await setup.start({
    REDIS_URL: throughProxy(REDIS_URL, proxy),
    LOGIN_MAX_FAILURES_PER_ACCOUNT: '2',
  });
  const b = await setup.start();
  const tokens = await demoTokens(a.url);
  const browser = await new Browser(a.url).login();

  const stream = await openStreamRetrying(a.url, tokens.mark, 'mark');
  t.after(closeAll([stream]));
  const first = await b.app.events.publish('mark', numbered(1));
  assert.equal(numberOf(await stream.next()), 1);

  proxy.cut('refuse');
  await ended(stream);
  // Published elsewhere while A is cut off: A's clients must get it when they resume.
  const second = await b.app.events.publish('mark', numbered(2));

  // Pages and logins work without Redis.
  const renderedId = await pageLastId(browser);
  assert.ok(renderedId >= first.id && renderedId < second.id, 'the newest id this instance saw');
  await new Browser(a.url).login('luke', 'pass456');
  const me = await fetch(`${a.url}/api/me`, { headers: { authorization: `Bearer ${tokens.mark}` } });
  assert.equal(me.status, 200);

  // Publishing is refused out loud, never dropped.
  const refused = await fetch(`${a.url}/api/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${PUBLISH_KEY}` },
    body: JSON.stringify({ to: 'mark', message: numbered(99) }),
  });
  assert.equal(refused.status, 503);
  assert.ok(Number(refused.headers.get('retry-after')) > 0);
  assert.match((await refused.json()).error, /unavailable/);
  await assert.rejects(a.app.events.publish('mark', numbered(99)), ServiceUnavailableError);
  // A change that announces itself is refused whole: nothing stored that open pages never hear of.
  const add = await browser.submit(
    '/add_course',
    { course_title: 'Written during the outage' },
    '/protected',
  );
  assert.equal(add.status, 503);
  assert.doesNotMatch(await (await browser.fetch('/protected')).text(), /Written during the outage/);

  // New streams are refused until the bus is back (they would miss live messages).
  const early = await fetch(`${a.url}/protected/events/mark`, {
    headers: { authorization: `Bearer ${tokens.mark}` },
  });
  assert.equal(early.status, 503);
  await early.body?.cancel();

  // The login throttle counts in the database meanwhile: it never fails open.
  const wrong = () =>
    fetch(`${a.url}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'luke', password: 'wrong' }),
    });
  assert.equal((await wrong()).status, 401);
  assert.equal((await wrong()).status, 401);
  assert.equal((await wrong()).status, 429);

  proxy.restore();
  // Resuming from the stream's last id and from the page rendered during the outage: both get
  // message 2, published while A was cut off, then live messages.
  const resumed = await openStreamRetrying(a.url, tokens.mark, 'mark', { lastEventId: first.id });
  const fromPage = await openStreamRetrying(a.url, tokens.mark, 'mark', { lastEventId: renderedId });
  t.after(closeAll([resumed, fromPage]));
  for (const client of [resumed, fromPage]) assert.equal(numberOf(await client.next()), 2);
  await b.app.events.publish('mark', numbered(3));
  for (const client of [resumed, fromPage]) assert.equal(numberOf(await client.next()), 3);
  // The failures counted in the database during the outage still count now Redis is back.
  assert.equal((await wrong()).status, 429);
});

test('Redis black-holed (a partition: no reset, no answer): the silent link is found, streams end and resume once it answers', async (t) => {
  const setup = await setupBackend(t, 'redis', { SSE_HEARTBEAT_SECONDS: '0.2' });
  if (!setup) return;
  const proxy = await startFaultProxy(t, {
    host: '127.0.0.1',
    port: Number(new URL(REDIS_URL).port || 6379),
  });
  const a = await setup.start({ REDIS_URL: throughProxy(REDIS_URL, proxy) });
  const b = await setup.start();
  const tokens = await demoTokens(a.url);
  const stream = await openStreamRetrying(a.url, tokens.mark, 'mark');
  t.after(closeAll([stream]));
  const first = await b.app.events.publish('mark', numbered(1));
  assert.equal(numberOf(await stream.next()), 1);

  proxy.cut('hang');
  // Nothing tells A its links are dead; its link check must notice.
  const second = await b.app.events.publish('mark', numbered(2));
  await ended(stream, 5000);
  proxy.restore();
  const resumed = await openStreamRetrying(a.url, tokens.mark, 'mark', { lastEventId: first.id });
  t.after(closeAll([resumed]));
  const event = await resumed.next();
  assert.equal(event.id, String(second.id));
});

test('Redis restarted empty: a client resuming from the old log is told to reload, never replayed a partial log', async (t) => {
  const redis = await privateRedis(t);
  if (!redis) return;
  const { app, url } = await startApp(t, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'epoch-test:' });
  const tokens = await demoTokens(url);
  const browser = await new Browser(url).login();
  const stream = await openStreamRetrying(url, tokens.mark, 'mark');
  t.after(closeAll([stream]));
  await app.events.publish('mark', numbered(1));
  const old = await app.events.publish('mark', numbered(2));
  await stream.take(2);

  await redis.kill();
  await ended(stream);
  await redis.start();

  // Back but empty; then the new log grows past the client's id.
  const newer = [await publishWhenBack(app, 3), await publishWhenBack(app, 4)];
  assert.ok(
    newer.every((event) => event.id > old.id),
    'every id of the new log is above the old ones',
  );

  const resumed = await openStreamRetrying(url, tokens.mark, 'mark', { lastEventId: old.id });
  t.after(closeAll([resumed]));
  const control = await resumed.next();
  assert.equal(control.event, 'reload');
  assert.deepEqual(JSON.parse(control.data), { reason: 'log-reset' });
  await ended(resumed);

  // The reloaded page resumes inside the new log and gets what comes next.
  const fresh = await openStreamRetrying(url, tokens.mark, 'mark', {
    lastEventId: await pageLastId(browser),
  });
  t.after(closeAll([fresh]));
  await app.events.publish('mark', numbered(5));
  assert.equal(numberOf(await fresh.next()), 5);
});

test('Redis restarted empty: pages move to the new log, even from an old log whose ids ran ahead of the new ones', async (t) => {
  const redis = await privateRedis(t);
  if (!redis) return;
  const prefix = 'epoch-ahead:';
  const { app, url } = await startApp(t, { REDIS_URL: redis.url, REDIS_KEY_PREFIX: prefix });
  const tokens = await demoTokens(url);
  const browser = await new Browser(url).login();
  // An old log past the clock-based start of any new one (it averaged more than 100,000
  // messages a second): its ids are above every id the new log will issue for a long while.
  const direct = new Redis(redis.url);
  t.after(() => direct.disconnect());
  await direct.set(`${prefix}seq`, '900000000000000');
  const old = await app.events.publish('mark', numbered(1));
  assert.equal(await pageLastId(browser), old.id);

  await redis.kill();
  await redis.start();
  // The page's stream, back: the old log is gone, so it reloads.
  const stale = await openStreamRetrying(url, tokens.mark, 'mark', { lastEventId: old.id });
  t.after(closeAll([stale]));
  assert.equal((await stale.next()).event, 'reload');

  // The reloaded page carries an id of the new log, though nothing was published in it yet: its
  // stream resumes (no second reload) and gets what comes next.
  const renderedId = await pageLastId(browser);
  assert.ok(renderedId < old.id, 'not the old log’s id');
  const fresh = await openStreamRetrying(url, tokens.mark, 'mark', { lastEventId: renderedId });
  t.after(closeAll([fresh]));
  await publishWhenBack(app, 2);
  const next = await fresh.next();
  assert.equal(next.event, undefined, `a message, not ${next.event}: ${next.data}`);
  assert.equal(numberOf(next), 2);
});
