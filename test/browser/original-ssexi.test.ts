/**
 * A developer coming from the Python template keeps its SSEXI.js and the app's pages: here
 * /static/ssexi.js is that library's stand-in (original-ssexi.js, written from its behaviour).
 * Its `sx-post` forms post multipart `FormData` with the form's `_csrf` field, and every form
 * route takes them; the fragments the app pushes for a rename follow the rule both libraries
 * share, so they apply in every tab — and leave the item's forms, CSRF fields included, as they
 * were, so the same course can be renamed and deleted again. What it cannot do is what README's
 * "Coming from the Python template" says: `{content, swap}` updates (an add, a delete) wait for
 * the next load, and `js.exec` (its `eval`) is refused by the CSP.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { type TestContext, test } from 'node:test';
import type { BrowserContext, Request } from 'playwright-core';
import { buildClient } from '../../scripts/build-client.ts';
import { type RunningApp, startApp } from '../support/app.ts';
import { apiToken } from '../support/http.ts';
import { newContext, openPage, skipReason, useBrowser, type WatchedPage } from './browser.ts';

const ORIGINAL = readFileSync(new URL('./original-ssexi.js', import.meta.url), 'utf8');

const browser = useBrowser();
const built = skipReason ? Promise.resolve([]) : buildClient();

/** A signed-in browser whose pages load the original library in place of ours. */
async function originalContext(t: TestContext, app: RunningApp): Promise<BrowserContext> {
  const context = await newContext(browser(), t);
  await context.route('**/static/ssexi.js', (route) =>
    route.fulfill({ contentType: 'text/javascript; charset=utf-8', body: ORIGINAL }),
  );
  const { page } = await openPage(context, `${app.url}/login`);
  await page.fill('input[name=username]', 'mark');
  await page.fill('input[name=password]', 'pass123');
  await Promise.all([page.waitForURL(`${app.url}/protected`), page.click('#login-form button[type=submit]')]);
  await page.close();
  return context;
}

/** A page of the app with the original library connected to its stream. */
async function openLive(context: BrowserContext, url: string): Promise<WatchedPage> {
  const tab = await openPage(context, url);
  assert.equal(await tab.page.evaluate(() => window.SSEXI?.version), '1.0.0', 'the original library');
  await tab.waitForEvent('connected');
  return tab;
}

/** Records the content type of every POST the page makes with fetch into `types`. */
function recordPosts(tab: WatchedPage, types: string[]): void {
  tab.page.on('request', (request: Request) => {
    if (request.method() === 'POST' && request.resourceType() === 'fetch')
      types.push((request.headers()['content-type'] ?? '').split(';')[0] ?? '');
  });
}

const titles = (tab: WatchedPage) =>
  tab.page.$$eval('#course-list .list-item-title', (spans) => spans.map((span) => span.textContent));

/** Renames the course shown as `title` through its rename form, as a user does. */
async function rename(tab: WatchedPage, title: string, to: string): Promise<void> {
  const item = tab.page.locator('#course-list > li', { hasText: title });
  await item.locator('summary').click();
  await item.getByLabel('New title').fill(to);
  await item.getByRole('button', { name: 'Save' }).click();
}

test('the original SSEXI.js: its multipart sx-post works on the course forms, and renames apply live in every tab, again and again', {
  skip: skipReason,
}, async (t) => {
  await built;
  const app = await startApp(t);
  const context = await originalContext(t, app);
  const first = await openLive(context, `${app.url}/protected`);
  const posted: string[] = [];
  recordPosts(first, posted);

  await first.page.fill('#course-title', 'Linear Algebra');
  await first.page.click('#course-form button[type=submit]');
  await first.waitForEvent('form-success');
  assert.equal(await first.page.inputValue('#course-title'), '', 'the form was reset');
  // The add is pushed as {content, swap: 'append'}, which the original library skips.
  await first.waitForEvent('processed');
  assert.deepEqual(await titles(first), [], 'an add shows on the next load');
  await first.page.reload();
  await first.waitForEvent('connected');
  assert.deepEqual(await titles(first), ['Linear Algebra']);
  const second = await openLive(context, `${app.url}/protected`);
  recordPosts(second, posted);

  // A rename pushes plain fragments: both tabs apply them.
  await rename(first, 'Linear Algebra', 'Algebra');
  await first.waitForEvent('form-success');
  for (const tab of [first, second]) {
    await tab.page.locator('#course-list .list-item-title', { hasText: /^Algebra$/ }).waitFor();
    assert.deepEqual(await titles(tab), ['Algebra']);
  }
  assert.equal(
    await second.page.getAttribute('#course-list input[name=course_title]', 'value'),
    'Algebra',
    'the other tab’s rename field has the new title too',
  );
  // The item's forms kept their CSRF fields: the same course is renamed again, from either tab.
  await rename(second, 'Algebra', 'Abstract Algebra');
  await second.waitForEvent('form-success');
  for (const tab of [first, second])
    await tab.page.locator('#course-list .list-item-title', { hasText: 'Abstract Algebra' }).waitFor();
  await first.page.locator('#course-list form[action$="/delete"] button').click();
  await first.waitForEvent('form-success', 2);
  assert.deepEqual(
    (await first.events()).filter((e) => e.type === 'form-error'),
    [],
  );
  assert.deepEqual(
    (await second.events()).filter((e) => e.type === 'form-error'),
    [],
  );
  await first.page.reload();
  assert.deepEqual(await titles(first), [], 'deleted');

  assert.deepEqual(posted, Array(posted.length).fill('multipart/form-data'), 'FormData, every time');
  assert.equal(posted.length, 4);
  for (const tab of [first, second]) assert.deepEqual(await tab.violations(), [], 'no CSP violation');
});

test('the original SSEXI.js: a refused post is shown; js values are set; js.exec is refused by the CSP', {
  skip: skipReason,
}, async (t) => {
  await built;
  const app = await startApp(t);
  const context = await originalContext(t, app);
  const tab = await openLive(context, `${app.url}/protected`);

  // It reports a refusal by status text only; the page still says so, in its live region.
  await tab.page.fill('#course-title', '   ');
  await tab.page.click('#course-form button[type=submit]');
  await tab.page
    .locator('#course-form-status', { hasText: 'The server refused this (Bad Request).' })
    .waitFor();

  await app.app.events.publish('mark', {
    js: { announced: 'yes', exec: "document.body.dataset.ran = 'yes'" },
  });
  await tab.waitForEvent('parse-error');
  assert.equal(await tab.page.evaluate(() => (window as unknown as { announced?: string }).announced), 'yes');
  assert.equal(await tab.page.getAttribute('body', 'data-ran'), null, 'eval is refused');
  assert.ok(
    (await tab.violations()).some((v) => v.startsWith('script-src')),
    'a CSP violation',
  );
});

test('the original SSEXI.js on the account page: "Log out other sessions" posts multipart and ends them', {
  skip: skipReason,
}, async (t) => {
  await built;
  const app = await startApp(t);
  const other = await apiToken(app.url);
  const context = await originalContext(t, app);
  const tab = await openLive(context, `${app.url}/account`);
  await tab.page.click('#revoke-others-form button[type=submit]');
  await tab.waitForEvent('form-success');
  const me = await fetch(`${app.url}/api/me`, { headers: { authorization: `Bearer ${other}` } });
  assert.equal(me.status, 401, 'the other session ended');
  assert.equal(
    (
      await fetch(`${app.url}/account`, {
        headers: { cookie: (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ') },
      })
    ).status,
    200,
    'this one lives on',
  );
});
