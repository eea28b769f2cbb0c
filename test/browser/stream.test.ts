import assert from 'node:assert/strict';
import { test } from 'node:test';
import { newContext, openFixturePage, openPage, skipReason, useBrowser } from './browser.ts';
import { startFixture } from './fixture-server.ts';

const browser = useBrowser();

test('connects, applies js then html, and announces each step with sx:* events', {
  skip: skipReason,
}, async (t) => {
  const fx = await startFixture();
  t.after(fx.close);
  const url = fx.page('/p', { bodyAttrs: 'sx-connect="/events/a"', body: '<div id="x">old</div>' });
  const tab = await openPage(await newContext(browser(), t), url);
  await tab.waitForEvent('connected');
  assert.equal((await fx.nthStream(1)).lastEventId, null, 'a first connection starts from now');

  fx.send('a', {
    js: { count: 5, exec: 'document.body.dataset.ran = String(window.count)' },
    html: { x: '<b>new</b>' },
  });
  await tab.waitForEvent('processed');

  assert.equal(await tab.page.innerHTML('#x'), '<b>new</b>');
  assert.equal(await tab.page.evaluate(() => (window as unknown as { count: number }).count), 5);
  assert.equal(await tab.page.getAttribute('body', 'data-ran'), '5', 'exec ran after the var was set');
  const events = await tab.events();
  assert.deepEqual(
    events.map((e) => `${e.type}${e.key ? `:${e.key}` : ''}${e.elementId ? `#${e.elementId}` : ''}`),
    ['init', 'initialized', 'connected', 'message', 'js-var:count', 'js-exec', 'html-updated#x', 'processed'],
  );
  assert.equal(events[2]?.endpoint, fx.url('/events/a'));
  assert.deepEqual(await tab.page.evaluate(() => [window.SSEXI?.version, window.SSEXI?.connections.size]), [
    '2.0.0',
    1,
  ]);
  assert.deepEqual(await tab.violations(), []);
  assert.deepEqual(tab.errors, []);
});

test('js.exec runs under strict nonce CSPs without violations, and only because of the nonce', {
  skip: skipReason,
}, async (t) => {
  const fx = await startFixture();
  t.after(fx.close);
  const context = await newContext(browser(), t);
  const open = (name: string, options: Parameters<typeof fx.page>[1]) =>
    openPage(context, fx.page(`/${name}`, { bodyAttrs: `sx-connect="/events/${name}"`, ...options }));
  const tabs = {
    strictDynamic: await open('strict-dynamic', {}),
    nonceOnly: await open('nonce-only', { csp: 'nonce' }),
    wrongNonce: await open('wrong-nonce', { csp: 'nonce', metaNonce: 'not-the-nonce' }),
  };
  for (const [name, tab] of Object.entries(tabs)) {
    await tab.waitForEvent('connected');
    fx.send(
      name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`),
      { js: { exec: "document.body.dataset.ran = 'yes'" } },
    );
    await tab.waitForEvent('processed');
  }

  for (const tab of [tabs.strictDynamic, tabs.nonceOnly]) {
    assert.equal(await tab.page.getAttribute('body', 'data-ran'), 'yes');
    assert.deepEqual(await tab.violations(), []);
    assert.deepEqual(tab.errors, []);
  }
  // Control: without the right nonce the same code is refused, so the policy is really enforced.
  const bad = tabs.wrongNonce;
  await bad.page.waitForFunction(() => window.__violations.length > 0, null, { polling: 25, timeout: 5000 });
  assert.equal(await bad.page.getAttribute('body', 'data-ran'), null);
  assert.match((await bad.violations())[0] ?? '', /^script-src/);
});

test('listeners can cancel a message, a js var or an exec', { skip: skipReason }, async (t) => {
  const { fx, tab } = await openFixturePage(t, browser(), {
    bodyAttrs: 'sx-connect="/events/c"',
    body: '<div id="x">old</div>',
  });
  await tab.waitForEvent('connected');
  await tab.page.evaluate(() => {
    document.addEventListener(
      'sx:message',
      (e) => (e as CustomEvent).detail.update.skip && e.preventDefault(),
    );
    document.addEventListener(
      'sx:js-var',
      (e) => (e as CustomEvent).detail.key === 'blocked' && e.preventDefault(),
    );
    document.addEventListener('sx:js-exec', (e) => e.preventDefault());
  });
  fx.send('c', { skip: true, html: { x: 'skipped' } });
  fx.send('c', { js: { blocked: 1, allowed: 2, exec: "document.body.dataset.ran = 'yes'" } });
  await tab.waitForEvent('processed');

  assert.equal(await tab.page.textContent('#x'), 'old');
  assert.deepEqual(
    await tab.page.evaluate(() => {
      const w = window as unknown as Record<string, unknown>;
      return [w.blocked, w.allowed, document.body.dataset.ran];
    }),
    [undefined, 2, undefined],
  );
  assert.equal((await tab.events()).filter((e) => e.type === 'message').length, 2);
});

test('bad input is reported as parse-error / html-error and the stream carries on', {
  skip: skipReason,
}, async (t) => {
  const { fx, tab } = await openFixturePage(t, browser(), {
    bodyAttrs: 'sx-connect="/events/bad"',
    body: '<div id="x">old</div>',
  });
  await tab.waitForEvent('connected');
  fx.sendRaw('bad', 'data: {not json\n\n');
  fx.send('bad', { html: { missing: '<p>x</p>', x: { content: 'y', swap: 'sideways' } } });
  fx.send('bad', { html: { x: 'fine' } });
  await tab.waitForEvent('processed', 2);

  assert.equal(await tab.page.textContent('#x'), 'fine');
  const events = await tab.events();
  assert.equal(events.filter((e) => e.type === 'parse-error').length, 1);
  assert.deepEqual(
    events.filter((e) => e.type === 'html-error').map((e) => e.elementId),
    ['missing', 'x'],
  );
  assert.deepEqual(tab.errors, []);
});

test('elements on one endpoint share one connection, later ones join it, the last one removed closes it', {
  skip: skipReason,
}, async (t) => {
  const { fx, tab } = await openFixturePage(t, browser(), {
    body: `<div id="one" sx-connect="/events/shared"></div><div id="two" sx-connect="/events/shared"></div>
        <div sx-ignore><div id="ignored" sx-connect="/events/ignored"></div></div><div id="x"></div>`,
  });
  await tab.waitForEvent('connected');
  await tab.page.evaluate(() => {
    const three = document.createElement('div');
    three.id = 'three';
    three.setAttribute('sx-connect', '/events/shared');
    document.body.append(three);
  });
  await tab.waitForEvent('initialized', 3);
  fx.send('shared', { html: { x: 'once' } });
  await tab.waitForEvent('processed');

  const events = await tab.events();
  assert.deepEqual(
    events.filter((e) => e.type === 'init').map((e) => e.target),
    ['one', 'two', 'three'],
  );
  assert.equal(events.filter((e) => e.type === 'message').length, 1, 'one message, applied once');
  assert.equal(events.find((e) => e.type === 'message')?.target, 'one', 'dispatched on the first element');
  assert.deepEqual(
    fx.streamRequests.map((r) => r.channel),
    ['shared'],
    'one request for three elements, none for the sx-ignore subtree',
  );

  const stream = await fx.nthStream(1);
  await tab.page.evaluate(() => {
    for (const id of ['one', 'two', 'three']) document.getElementById(id)?.remove();
  });
  await stream.closed;
  assert.equal(await tab.page.evaluate(() => window.SSEXI?.connections.size), 0);
});
