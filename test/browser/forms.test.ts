import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openFixturePage, skipReason, useBrowser } from './browser.ts';
import { CSRF_TOKEN } from './fixture-server.ts';

const browser = useBrowser();

const FORM = `<form id="f" sx-post="/add" sx-swap="none" method="post" action="/no-js">
  <input type="hidden" name="_csrf" value="${CSRF_TOKEN}">
  <input name="title" required><button id="go">Add</button></form>`;

test('sx-post submits with fetch and the CSRF header, disables the submitter in flight (focus stays), resets on success', {
  skip: skipReason,
}, async (t) => {
  const { fx, tab } = await openFixturePage(t, browser(), { body: FORM });
  await tab.waitForEvent('form-initialized');
  await tab.page.fill('input[name=title]', 'Algebra & co');
  const posted = fx.nextPost();
  await tab.page.focus('#go');
  await tab.page.keyboard.press('Enter');
  const request = await posted;

  assert.equal(request.path, '/add');
  assert.equal(request.headers['x-csrf-token'], CSRF_TOKEN);
  assert.match(String(request.headers['content-type']), /^application\/x-www-form-urlencoded/);
  assert.deepEqual(Object.fromEntries(new URLSearchParams(request.body)), {
    _csrf: CSRF_TOKEN,
    title: 'Algebra & co',
  });
  assert.deepEqual(
    await tab.page.evaluate(() => [
      document.getElementById('go')?.getAttribute('aria-disabled'),
      document.getElementById('f')?.getAttribute('aria-busy'),
      document.activeElement?.id,
    ]),
    ['true', 'true', 'go'],
    'in flight: submitter disabled, form busy, and focus stays on the button pressed',
  );
  // A second submit while the first is in flight is ignored.
  await tab.page.evaluate(() => (document.getElementById('f') as HTMLFormElement).requestSubmit());
  request.respond(201);
  await tab.waitForEvent('form-success');

  assert.equal(await tab.page.inputValue('input[name=title]'), '', 'reset after success');
  assert.equal(await tab.page.getAttribute('#go', 'aria-disabled'), null);
  assert.equal(await tab.page.evaluate(() => document.activeElement?.id), 'go', 'still where the user was');
  assert.equal(await tab.page.getAttribute('#f', 'aria-busy'), null);
  assert.equal(new URL(tab.page.url()).pathname, '/p', 'no navigation');
  assert.equal(fx.postCount(), 1, 'the submit made while busy was ignored');
  assert.deepEqual(
    (await tab.events()).filter((e) => e.type.startsWith('form-')).map((e) => e.type),
    ['form-init', 'form-initialized', 'form-submit', 'form-success'],
  );
  assert.deepEqual(tab.errors, []);
});

test('a failed sx-post keeps what the user typed and reports form-error', { skip: skipReason }, async (t) => {
  const { fx, tab } = await openFixturePage(t, browser(), { body: FORM });
  await tab.waitForEvent('form-initialized');
  await tab.page.fill('input[name=title]', 'kept');
  const posted = fx.nextPost();
  await tab.page.click('#go');
  (await posted).respond(500);
  await tab.waitForEvent('form-error');

  assert.equal(await tab.page.inputValue('input[name=title]'), 'kept');
  assert.equal(await tab.page.getAttribute('#go', 'aria-disabled'), null);
  assert.equal(await tab.page.evaluate(() => document.activeElement?.id), 'go', 'still where the user was');
  const error = (await tab.events()).find((e) => e.type === 'form-error');
  assert.equal(error?.status, 500);
  assert.equal(new URL(tab.page.url()).pathname, '/p');
});

test('an sx-post answered 401 goes to the page’s login URL', { skip: skipReason }, async (t) => {
  const { fx, tab } = await openFixturePage(t, browser(), {
    body: FORM,
    head: '<meta name="sx-login-url" content="/signin">',
  });
  await tab.waitForEvent('form-initialized');
  await tab.page.fill('input[name=title]', 'x');
  const posted = fx.nextPost();
  await tab.page.click('#go');
  (await posted).respond(401, '{"error":"Not authenticated"}');
  await tab.page.waitForURL(fx.url('/signin'));
});

test('forms added later are processed; forms under sx-ignore are left alone', {
  skip: skipReason,
}, async (t) => {
  const { fx, tab } = await openFixturePage(t, browser(), {
    body: '<div sx-ignore><form id="ignored" sx-post="/nope"></form></div><div id="slot"></div>',
  });
  await tab.page.evaluate((form) => {
    document.getElementById('slot')?.insertAdjacentHTML('beforeend', form);
  }, FORM);
  await tab.waitForEvent('form-initialized');
  await tab.page.fill('input[name=title]', 'late');
  const posted = fx.nextPost();
  await tab.page.click('#go');
  const request = await posted;
  assert.equal(new URLSearchParams(request.body).get('title'), 'late');
  request.respond(201);
  await tab.waitForEvent('form-success');
  assert.deepEqual(
    (await tab.events()).filter((e) => e.type === 'form-init').map((e) => e.target),
    ['f'],
  );
});
