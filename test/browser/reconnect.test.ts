import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  newContext,
  openFixturePage,
  openPage,
  skipReason,
  useBrowser,
  type WatchedPage,
} from './browser.ts';
import { startFixture } from './fixture-server.ts';

const browser = useBrowser();

/** Browser-generated network failure lines: expected while the network or the server is down. */
const NETWORK_ERROR = /net::ERR_|Failed to load resource: the server responded with a status of 5\d\d/;
const unexpectedErrors = (tab: WatchedPage) => tab.errors.filter((text) => !NETWORK_ERROR.test(text));

/** Rejects when `promise` takes longer than `ms`: for "at once" claims measured against a long backoff. */
async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const append = (n: number) => ({ html: { log: { content: `<li>${n}</li>`, swap: 'append' } } });
const logItems = (tab: WatchedPage) =>
  tab.page.$$eval('#log li', (items) => items.map((li) => li.textContent));
const LOG_PAGE = { bodyAttrs: 'sx-connect="/events/r"', body: '<ol id="log"></ol>' };

test('going offline and back applies every missed message exactly once, in order, in every tab', {
  skip: skipReason,
}, async (t) => {
  const fx = await startFixture();
  t.after(fx.close);
  const context = await newContext(browser(), t);
  const url = fx.page('/p', LOG_PAGE);
  const tabs = [await openPage(context, url), await openPage(context, url)];
  await Promise.all(tabs.map((tab) => tab.waitForEvent('connected')));
  const first = fx.send('r', append(1));
  await Promise.all(tabs.map((tab) => tab.waitForEvent('processed')));

  await context.setOffline(true);
  await (await fx.nthStream(1)).closed; // the browser said offline: the dead stream is dropped
  for (let n = 2; n <= 5; n++) fx.send('r', append(n));
  await context.setOffline(false);
  await Promise.all(tabs.map((tab) => tab.waitForEvent('processed', 5)));
  fx.send('r', append(6));
  await Promise.all(tabs.map((tab) => tab.waitForEvent('processed', 6)));

  const resumed = fx.streamRequests.filter((r) => r.status === 200);
  assert.equal(resumed.length, 2, 'one stream for both tabs, reopened once online');
  assert.equal(resumed[1]?.lastEventId, String(first));
  for (const tab of tabs) {
    assert.deepEqual(await logItems(tab), ['1', '2', '3', '4', '5', '6']);
    assert.equal(
      (await tab.events()).filter((e) => e.type === 'processed').length,
      6,
      'nothing applied twice',
    );
    assert.deepEqual(unexpectedErrors(tab), []);
  }
});

test('recovers by itself when the server restarts, resuming from the last id', {
  skip: skipReason,
}, async (t) => {
  const { fx, tab } = await openFixturePage(t, browser(), LOG_PAGE);
  await tab.waitForEvent('connected');
  const first = fx.send('r', append(1));
  await tab.waitForEvent('processed');

  await fx.stop();
  await tab.waitForEvent('error', 2); // the stream ended, then at least one attempt was refused
  fx.send('r', append(2)); // published while the server was away (kept in its log)
  await fx.restart();
  await tab.waitForEvent('connected', 2);
  fx.send('r', append(3));
  await tab.waitForEvent('processed', 3);

  assert.deepEqual(await logItems(tab), ['1', '2', '3']);
  assert.equal(fx.streamRequests.at(-1)?.lastEventId, String(first));
  assert.deepEqual(unexpectedErrors(tab), []);
});

test('retries at once when the network returns or the tab becomes visible, not after the backoff', {
  skip: skipReason,
}, async (t) => {
  const fx = await startFixture();
  t.after(fx.close);
  const context = await newContext(browser(), t);
  // Jitter pinned to its maximum: every backoff wait is the full 60 s.
  await context.addInitScript(() => {
    Math.random = () => 1;
  });
  fx.setRetry('r', 60_000);
  const tab = await openPage(context, fx.page('/p', LOG_PAGE));
  await tab.waitForEvent('connected');
  fx.setStatus('r', 503);
  fx.dropStreams('r');
  await tab.waitForEvent('error');

  await tab.page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
  assert.equal((await within(fx.nthStream(2), 10_000, 'retry on visible')).status, 503);
  await tab.waitForEvent('error', 2);
  fx.setStatus('r', 200);
  await tab.page.evaluate(() => window.dispatchEvent(new Event('online')));
  await within(tab.waitForEvent('connected', 2), 10_000, 'retry on online');
  fx.send('r', append(1));
  await tab.waitForEvent('processed');
  assert.deepEqual(await logItems(tab), ['1']);
  assert.equal(fx.streamRequests.length, 3);
});

test('an auth event sends the page to its same-origin redirect and stops the stream', {
  skip: skipReason,
}, async (t) => {
  const fx = await startFixture();
  t.after(fx.close);
  const context = await newContext(browser(), t);
  const tab = await openPage(context, fx.page('/p', LOG_PAGE));
  await tab.waitForEvent('connected');
  fx.send('r', { reason: 'logout', redirect: '/signin' }, 'auth');
  await tab.page.waitForURL(fx.url('/signin'));

  // An off-origin redirect is not followed: the login page is used instead.
  const other = await openPage(context, fx.page('/q', { bodyAttrs: 'sx-connect="/events/q"' }));
  await other.waitForEvent('connected');
  fx.send('q', { reason: 'revoked', redirect: '//evil.example/phish' }, 'auth');
  await other.page.waitForURL(fx.url('/login'));
  assert.equal(fx.streamRequests.length, 2, 'no reconnect after auth');
});

test('a cancelled sx:auth keeps the page but still closes the stream for good', {
  skip: skipReason,
}, async (t) => {
  const { fx, tab } = await openFixturePage(t, browser(), LOG_PAGE);
  await tab.waitForEvent('connected');
  await tab.page.evaluate(() => document.addEventListener('sx:auth', (e) => e.preventDefault()));
  fx.send('r', { reason: 'expired', redirect: '/login' }, 'auth');
  await tab.waitForEvent('auth');
  await (await fx.nthStream(1)).closed;
  assert.equal(new URL(tab.page.url()).pathname, '/p');
  assert.equal(await tab.page.evaluate(() => window.SSEXI?.connections.size), 0);
});

test('a 401 on reconnect goes to the login page instead of retrying', { skip: skipReason }, async (t) => {
  const { fx, tab } = await openFixturePage(t, browser(), LOG_PAGE);
  await tab.waitForEvent('connected');
  fx.setStatus('r', 401);
  fx.dropStreams('r');
  await tab.page.waitForURL(fx.url('/login'));
  assert.deepEqual(
    fx.streamRequests.map((r) => r.status),
    [200, 401],
  );
});

test('a reload event reloads the page', { skip: skipReason }, async (t) => {
  const { fx, tab } = await openFixturePage(t, browser(), LOG_PAGE);
  await tab.waitForEvent('connected');
  await tab.page.evaluate(() => {
    document.body.dataset.before = 'reload';
  });
  const reloaded = tab.page.waitForEvent('load');
  fx.send('r', { reason: 'replay-gap' }, 'reload');
  await reloaded;
  assert.equal(await tab.page.getAttribute('body', 'data-before'), null);
});

test('an id announced before any message (or rendered as sx-last-id) is resumed from, so nothing is missed', {
  skip: skipReason,
}, async (t) => {
  const fx = await startFixture();
  t.after(fx.close);
  const old = fx.send('r', append(0)); // history before the page was rendered
  fx.setAnnounceId('r', true);
  const context = await newContext(browser(), t);
  const tab = await openPage(context, fx.page('/p', LOG_PAGE));
  const rendered = await openPage(
    context,
    fx.page('/rendered', {
      bodyAttrs: `sx-connect="/events/rendered" sx-last-id="${fx.send('rendered', append(0))}"`,
      body: '<ol id="log"></ol>',
    }),
  );
  await Promise.all([tab.waitForEvent('connected'), rendered.waitForEvent('connected')]);
  assert.equal(fx.streamRequests.find((r) => r.channel === 'rendered')?.lastEventId, String(old + 1));

  fx.dropStreams('r');
  await tab.waitForEvent('error');
  fx.send('r', append(1)); // while reconnecting
  await tab.waitForEvent('processed');
  assert.deepEqual(await logItems(tab), ['1']);
  assert.equal(fx.streamRequests.filter((r) => r.channel === 'r').at(-1)?.lastEventId, String(old));
  assert.deepEqual(await logItems(rendered), [], 'the rendered id skips history the page already shows');
});

test('cancelling sx:error stops reconnecting', { skip: skipReason }, async (t) => {
  const fx = await startFixture();
  t.after(fx.close);
  const context = await newContext(browser(), t);
  // No jitter: a retry, if any, would be scheduled with no delay at all.
  await context.addInitScript(() => {
    Math.random = () => 0;
  });
  const tab = await openPage(context, fx.page('/p', LOG_PAGE));
  await tab.waitForEvent('connected');
  await tab.page.evaluate(() => document.addEventListener('sx:error', (e) => e.preventDefault()));
  fx.dropStreams('r');
  await tab.waitForEvent('error');
  // Two round trips through the page's event loop and the server: a zero-delay retry would be first.
  for (let i = 0; i < 2; i++) await tab.page.evaluate(() => fetch('/favicon.ico').then(() => undefined));
  await tab.page.evaluate(() => window.dispatchEvent(new Event('online')));
  await tab.page.evaluate(() => fetch('/favicon.ico').then(() => undefined));
  assert.equal(fx.streamRequests.length, 1);
});

test('an auth event does not cut short a navigation the page already started (the logout link)', {
  skip: skipReason,
}, async (t) => {
  const { fx, tab } = await openFixturePage(t, browser(), {
    ...LOG_PAGE,
    body: '<a id="out" href="/hold/logout">Log out</a>',
  });
  await tab.waitForEvent('connected');
  const held = fx.nextHeld();
  await tab.page.click('#out', { noWaitAfter: true });
  const logout = await held; // the server is handling the logout…
  fx.send('r', { reason: 'logout', redirect: '/login' }, 'auth'); // …and ends the stream first
  // The page heard it: it closes the stream (Playwright cannot evaluate during the navigation).
  await (await fx.nthStream(1)).closed;
  logout.respond('<!doctype html><title>bye</title><p id="bye">Logged out</p>');
  await tab.page.waitForSelector('#bye', { timeout: 10_000 });
  assert.equal(new URL(tab.page.url()).pathname, '/hold/logout', 'the logout response was not aborted');
});
