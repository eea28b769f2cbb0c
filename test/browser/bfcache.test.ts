import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openFixturePage, skipReason, useBrowser } from './browser.ts';

const browser = useBrowser({ backForwardCache: true });

const append = (n: number) => ({ html: { log: { content: `<li>${n}</li>`, swap: 'append' } } });

test('closes the stream on pagehide; back from the bfcache it resumes from its last id', {
  skip: skipReason,
}, async (t) => {
  const { fx, tab } = await openFixturePage(t, browser(), {
    bodyAttrs: 'sx-connect="/events/b"',
    body: '<ol id="log"></ol>',
  });
  await tab.waitForEvent('connected');
  const seen = fx.send('b', append(1));
  await tab.waitForEvent('processed');
  await tab.page.evaluate(() => {
    document.body.dataset.kept = 'same document';
  });

  await tab.page.goto(fx.url('/login'));
  await (await fx.nthStream(1)).closed;
  fx.send('b', append(2)); // while the page sits in the cache
  await tab.page.goBack({ waitUntil: 'commit' });
  await tab.waitForEvent('processed', 2);

  assert.equal(await tab.page.getAttribute('body', 'data-kept'), 'same document', 'restored, not reloaded');
  assert.equal((await fx.nthStream(2)).lastEventId, String(seen));
  assert.deepEqual(await tab.page.$$eval('#log li', (items) => items.map((li) => li.textContent)), [
    '1',
    '2',
  ]);
  assert.deepEqual(tab.errors, []);
});
