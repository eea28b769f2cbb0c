import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newContext, openPage, skipReason, useBrowser, type WatchedPage } from './browser.ts';
import { startFixture } from './fixture-server.ts';

const browser = useBrowser();

const append = (n: number) => ({ html: { log: { content: `<li>${n}</li>`, swap: 'append' } } });
const logItems = (tab: WatchedPage) =>
  tab.page.$$eval('#log li', (items) => items.map((li) => li.textContent));
const isLeader = (tab: WatchedPage) =>
  tab.page.evaluate(() => [...(window.SSEXI?.connections.values() ?? [])].some((source) => source.leader));

test('tabs share one stream: one leader holds it and relays every message to the others', {
  skip: skipReason,
}, async (t) => {
  const fx = await startFixture();
  t.after(fx.close);
  const context = await newContext(browser(), t);
  const url = fx.page('/p', { bodyAttrs: 'sx-connect="/events/tabs"', body: '<ol id="log"></ol>' });
  const tabs = [await openPage(context, url), await openPage(context, url), await openPage(context, url)];
  await Promise.all(tabs.map((tab) => tab.waitForEvent('connected')));
  for (let n = 1; n <= 3; n++) fx.send('tabs', append(n));
  await Promise.all(tabs.map((tab) => tab.waitForEvent('processed', 3)));

  for (const tab of tabs) {
    assert.deepEqual(await logItems(tab), ['1', '2', '3']);
    assert.deepEqual(tab.errors, []);
  }
  assert.equal(fx.streamRequests.length, 1, 'three tabs, one HTTP stream');
  assert.deepEqual(await Promise.all(tabs.map(isLeader)), [true, false, false]);
});

test('when the leader tab closes, another takes over and resumes from the last id', {
  skip: skipReason,
}, async (t) => {
  const fx = await startFixture();
  t.after(fx.close);
  const context = await newContext(browser(), t);
  const url = fx.page('/p', { bodyAttrs: 'sx-connect="/events/tabs"', body: '<ol id="log"></ol>' });
  const leader = await openPage(context, url);
  await leader.waitForEvent('connected');
  const seen = fx.send('tabs', append(1));
  await leader.waitForEvent('processed');
  // A tab that joins later learns the resume point from the leader, not from a message.
  const follower = await openPage(context, url);
  await follower.waitForEvent('connected');
  assert.equal(await isLeader(follower), false);

  await leader.page.close();
  await (await fx.nthStream(1)).closed;
  fx.send('tabs', append(2)); // published while nobody holds the stream
  const takeover = await fx.nthStream(2);
  await follower.waitForEvent('processed');
  fx.send('tabs', append(3));
  await follower.waitForEvent('processed', 2);

  assert.equal(takeover.lastEventId, String(seen));
  assert.equal(await isLeader(follower), true);
  assert.deepEqual(await logItems(follower), ['2', '3'], 'the gap replayed once, then live');
  assert.deepEqual(follower.errors, []);
});

test('an auth event reaches every tab through the leader', { skip: skipReason }, async (t) => {
  const fx = await startFixture();
  t.after(fx.close);
  const context = await newContext(browser(), t);
  const url = fx.page('/p', { bodyAttrs: 'sx-connect="/events/tabs"' });
  const tabs = [await openPage(context, url), await openPage(context, url)];
  await Promise.all(tabs.map((tab) => tab.waitForEvent('connected')));
  fx.send('tabs', { reason: 'logout', redirect: '/login' }, 'auth');
  await Promise.all(tabs.map((tab) => tab.page.waitForURL(fx.url('/login'))));
  assert.equal(fx.streamRequests.length, 1);
});

test('sx-share="false" gives a tab its own stream', { skip: skipReason }, async (t) => {
  const fx = await startFixture();
  t.after(fx.close);
  const context = await newContext(browser(), t);
  const url = fx.page('/p', {
    bodyAttrs: 'sx-connect="/events/own" sx-share="false"',
    body: '<ol id="log"></ol>',
  });
  const tabs = [await openPage(context, url), await openPage(context, url)];
  await Promise.all(tabs.map((tab) => tab.waitForEvent('connected')));
  fx.send('own', append(1));
  await Promise.all(tabs.map((tab) => tab.waitForEvent('processed')));
  assert.equal(fx.streamRequests.length, 2);
  assert.equal(fx.openStreams('own'), 2);
  for (const tab of tabs) assert.deepEqual(await logItems(tab), ['1']);
});
