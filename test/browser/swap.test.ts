import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newContext, openFixturePage, openPage, skipReason, useBrowser } from './browser.ts';
import { startFixture } from './fixture-server.ts';

const browser = useBrowser();

test('html swaps: the seed default rule and each positional mode', { skip: skipReason }, async (t) => {
  const { fx, tab } = await openFixturePage(t, browser(), {
    bodyAttrs: 'sx-connect="/events/swap"',
    body: `<div id="def" class="old" data-a="1">old</div><div id="other-root"><p>old</p></div>
        <div id="inner" class="keep">old</div><div id="outer">old</div><ul id="list"><li>b</li></ul>
        <div id="anchor">anchor</div><div id="gone">x</div>`,
  });
  await tab.waitForEvent('connected');
  fx.send('swap', {
    html: {
      def: '<div class="new" data-b="2"><span>new</span></div>',
      'other-root': '<span>x</span>',
      inner: { content: '<div>inside</div>', swap: 'inner' },
      outer: { content: '<p id="outer2">replaced</p>', swap: 'outer' },
      list: { content: '<li>c</li>', swap: 'append' },
      anchor: { content: '<i id="before">1</i>', swap: 'before' },
      gone: { swap: 'remove' },
    },
  });
  fx.send('swap', {
    html: {
      list: { content: '<li>a</li>', swap: 'prepend' },
      anchor: { content: '<i id="after">2</i>', swap: 'after' },
    },
  });
  await tab.waitForEvent('processed', 2);

  const html = (selector: string) => tab.page.$eval(selector, (el) => el.outerHTML);
  assert.equal(await html('#def'), '<div id="def" class="new" data-b="2"><span>new</span></div>');
  assert.equal(await html('#other-root'), '<div id="other-root"><span>x</span></div>');
  assert.equal(await html('#inner'), '<div id="inner" class="keep"><div>inside</div></div>');
  assert.equal(await tab.page.$('#outer'), null);
  assert.equal(await html('#outer2'), '<p id="outer2">replaced</p>');
  assert.equal(await html('#list'), '<ul id="list"><li>a</li><li>b</li><li>c</li></ul>');
  assert.deepEqual(await tab.page.$$eval('#before, #anchor, #after', (els) => els.map((el) => el.id)), [
    'before',
    'anchor',
    'after',
  ]);
  assert.equal(await tab.page.$('#gone'), null);
  assert.equal((await tab.events()).filter((e) => e.type === 'html-updated').length, 9);
  assert.deepEqual(tab.errors, []);
});

test('morph keeps the element, its focus and typed value; it loads lazily and keeps message order', {
  skip: skipReason,
}, async (t) => {
  const { fx, tab } = await openFixturePage(t, browser(), {
    bodyAttrs: 'sx-connect="/events/morph"',
    script: 'ssexi.min.js',
    csp: 'nonce',
    body: `<section id="m" class="v1"><label>Name <input id="name" name="name"></label><p>v1</p></section>
        <div id="later">before</div>`,
  });
  await tab.waitForEvent('connected');
  await tab.page.fill('#name', 'typed');
  await tab.page.$eval('#name', (el) => {
    (el as unknown as { marker: number }).marker = 42;
  });
  assert.equal(await tab.page.evaluate(() => document.activeElement?.id), 'name');

  fx.send('morph', {
    html: {
      m: {
        content: '<section class="v2"><label>Name <input id="name" name="name"></label><p>v2</p></section>',
        swap: 'morph',
      },
    },
  });
  fx.send('morph', { html: { later: 'after' } });
  await tab.waitForEvent('processed', 2);

  assert.deepEqual(
    await tab.page.evaluate(() => {
      const input = document.getElementById('name') as HTMLInputElement & { marker?: number };
      return {
        marker: input.marker,
        value: input.value,
        focused: document.activeElement === input,
        section: document.getElementById('m')?.className,
        text: document.querySelector('#m p')?.textContent,
        morphScript: document.querySelector<HTMLScriptElement>('script[src*="ssexi-morph"]')?.src,
      };
    }),
    {
      marker: 42,
      value: 'typed',
      focused: true,
      section: 'v2',
      text: 'v2',
      morphScript: fx.url('/static/ssexi-morph.min.js'),
    },
  );
  assert.deepEqual(
    (await tab.events()).filter((e) => e.type === 'html-updated').map((e) => e.elementId),
    ['m', 'later'],
    'the message after a morph waits for the morph code to load',
  );
  assert.equal(await tab.page.textContent('#later'), 'after');
  assert.deepEqual(await tab.violations(), []);
  assert.deepEqual(tab.errors, []);
});

test('positional swaps are idempotent: an element whose id is already there is replaced in place', {
  skip: skipReason,
}, async (t) => {
  const { fx, tab } = await openFixturePage(t, browser(), {
    bodyAttrs: 'sx-connect="/events/once"',
    body: `<ul id="list"><li id="a">a</li><li id="b">b</li></ul>
        <div id="x">x</div><div id="anchor">anchor</div><div id="y">y</div>`,
  });
  await tab.waitForEvent('connected');
  fx.send('once', {
    html: {
      list: { content: '<li id="a" class="v2">a2</li>', swap: 'append' },
      anchor: { content: '<div id="y">y2</div>', swap: 'before' },
    },
  });
  fx.send('once', {
    html: {
      // One of two elements is known: it is replaced, the other one is added.
      list: { content: '<li id="b">b2</li><li id="c">c</li>', swap: 'prepend' },
      anchor: { content: '<div id="x">x2</div>', swap: 'after' },
    },
  });
  await tab.waitForEvent('processed', 2);

  assert.equal(
    await tab.page.$eval('#list', (el) => el.outerHTML),
    '<ul id="list"><li id="c">c</li><li id="a" class="v2">a2</li><li id="b">b2</li></ul>',
  );
  assert.deepEqual(
    await tab.page.$$eval('body > div', (els) => els.map((el) => `${el.id}:${el.textContent}`)),
    ['x:x2', 'anchor:anchor', 'y:y2'],
    'each known element stays where it stood',
  );
  assert.deepEqual(tab.errors, []);
});

test('an add replayed to a page that already shows it leaves one item', { skip: skipReason }, async (t) => {
  const fx = await startFixture();
  t.after(fx.close);
  // The add is published after the page read its newest id (0) but before it read its data: the
  // page shows the item, and its stream replays the add from id 0.
  const add = { html: { 'course-list': { content: '<li id="course-7">Algebra</li>', swap: 'append' } } };
  const addId = fx.send('replay', add);
  const tab = await openPage(
    await newContext(browser(), t),
    fx.page('/p', {
      bodyAttrs: 'sx-connect="/events/replay" sx-last-id="0"',
      body: '<ul id="course-list"><li id="course-7">Algebra</li></ul>',
    }),
  );
  await tab.waitForEvent('processed');
  assert.equal((await fx.nthStream(1)).lastEventId, '0');
  assert.deepEqual(
    (await tab.events()).filter((e) => e.type === 'html-updated').map((e) => e.elementId),
    ['course-list'],
    `the add (id ${addId}) was replayed and applied`,
  );
  assert.deepEqual(await tab.page.$$eval('#course-list > li', (items) => items.map((li) => li.id)), [
    'course-7',
  ]);
});
