/**
 * What every view gets without its handler passing it: the signed-in user's stream URL and the
 * newest event id (`lastEventId`), so a new live page resumes its stream without loss. The id
 * comes from memory, so a page renders with it even when the event log cannot answer.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { buildApp } from '../../src/app.ts';
import { loadConfig } from '../../src/config.ts';
import { tempSqliteUrl, testEnv } from '../support/app.ts';
import { setupBackend } from '../support/backends.ts';
import { Browser } from '../support/http.ts';
import { privateRedis } from '../support/redis-server.ts';

/** A page written the way docs/ssexi.md says, by a handler that passes nothing but its data. */
const LIVE_PAGE = '<body sx-connect="{{ streamUrl }}" sx-last-id="{{ lastEventId }}">{{ note }}</body>';

/** @fastify/view renders `{raw}` templates too; its types only know template names. */
const inline = (template: string) => ({ raw: template }) as unknown as string;

async function startWithPages(t: TestContext, env: Record<string, string> = {}) {
  const app = await buildApp(loadConfig(testEnv(t, env)));
  t.after(() => app.close());
  const page = { preHandler: app.requirePageUser };
  app.get('/live', page, async (_request, reply) => reply.view(inline(LIVE_PAGE), { note: 'live' }));
  app.get('/plain', page, async (_request, reply) => reply.view(inline('<p>{{ user.username }}</p>')));
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new TypeError('expected a TCP address');
  return { app, url: `http://127.0.0.1:${address.port}` };
}

const lastIdOn = (html: string) => /sx-last-id="([^"]*)"/.exec(html)?.[1];

test('a view gets lastEventId (the newest id when the page was requested) and the stream URL', async (t) => {
  const { app, url } = await startWithPages(t);
  const browser = await new Browser(url).login('mark', 'pass123');
  await app.events.publish('mark', { js: { first: 1 } });
  const newest = await app.events.publish('*', { js: { second: 2 } });
  const html = await (await browser.fetch('/live', { headers: { accept: 'text/html' } })).text();
  assert.equal(lastIdOn(html), String(newest.id));
  assert.match(html, /sx-connect="\/protected\/events\/mark"/);

  const later = await app.events.publish('luke', { js: { third: 3 } });
  const next = await (await browser.fetch('/live', { headers: { accept: 'text/html' } })).text();
  assert.equal(lastIdOn(next), String(later.id), 'the id follows the log after a publish');
});

test('the protected page renders the newest id without its handler passing it', async (t) => {
  const { app, url } = await startWithPages(t);
  const browser = await new Browser(url).login('mark', 'pass123');
  const event = await app.events.publish('mark', { js: { x: 1 } });
  const html = await (await browser.fetch('/protected', { headers: { accept: 'text/html' } })).text();
  assert.equal(lastIdOn(html), String(event.id));
});

test('after a restart, pages carry the newest id of the log the app found at start', async (t) => {
  const database = { DATABASE_URL: tempSqliteUrl(t) };
  const before = await startWithPages(t, database);
  const signedIn = await new Browser(before.url).login('mark', 'pass123');
  const published = await before.app.events.publish('luke', { js: { x: 1 } });
  await before.app.close();
  const after = await startWithPages(t, database);
  const html = await (
    await fetch(`${after.url}/live`, { headers: { accept: 'text/html', cookie: signedIn.cookieHeader } })
  ).text();
  assert.equal(lastIdOn(html), String(published.id));
});

test('a page costs no read of the event log: it renders with the newest id when the log cannot answer', async (t) => {
  const { app, url } = await startWithPages(t);
  const browser = await new Browser(url).login('mark', 'pass123');
  const event = await app.events.publish('mark', { js: { x: 1 } });
  // The log fails outright (a driver error), and then never answers at all.
  const log = app.events.log;
  log.latestId = async () => {
    throw new Error('the log is broken');
  };
  const plain = await browser.fetch('/plain', { headers: { accept: 'text/html' } });
  assert.equal(plain.status, 200);
  assert.equal(await plain.text(), '<p>mark</p>');
  const live = await browser.fetch('/live', { headers: { accept: 'text/html' } });
  assert.equal(live.status, 200);
  assert.equal(lastIdOn(await live.text()), String(event.id));
  log.latestId = () => new Promise<number>(() => {});
  const protectedPage = await browser.fetch('/protected', { headers: { accept: 'text/html' } });
  assert.equal(protectedPage.status, 200, 'the course page too');
  assert.equal(lastIdOn(await protectedPage.text()), String(event.id));
});

test('with Redis, a message published on another instance raises the id pages get here once it arrives', async (t) => {
  const setup = await setupBackend(t, 'redis');
  if (!setup) return;
  const here = await setup.start();
  const there = await setup.start();
  const browser = await new Browser(here.url).login('mark', 'pass123');
  const heard = new Promise<number>((resolve) => {
    const unsubscribe = here.app.events.bus.subscribe((message) => {
      if (message.kind !== 'event') return;
      unsubscribe();
      resolve(message.event.id);
    });
  });
  const published = await there.app.events.publish('luke', { js: { x: 1 } });
  assert.equal(await heard, published.id);
  const html = await (await browser.fetch('/protected', { headers: { accept: 'text/html' } })).text();
  assert.equal(lastIdOn(html), String(published.id));
});

test('with Redis away, a live page still renders and resumes from the newest id this instance saw', {
  timeout: 20_000,
}, async (t) => {
  const redis = await privateRedis(t);
  if (redis === null) return;
  const { app, url } = await startWithPages(t, { REDIS_URL: redis.url });
  const browser = await new Browser(url).login('mark', 'pass123');
  const published = await app.events.publish('mark', { js: { x: 1 } });
  await redis.kill();

  const live = await browser.fetch('/live', { headers: { accept: 'text/html' } });
  assert.equal(live.status, 200);
  assert.equal(lastIdOn(await live.text()), String(published.id), 'the newest id this instance saw');
  const protectedPage = await browser.fetch('/protected', { headers: { accept: 'text/html' } });
  assert.equal(protectedPage.status, 200, 'the course page too');
});
