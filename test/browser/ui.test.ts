/**
 * The app's UI as a person meets it in Chromium: keyboard only, feedback that is shown and
 * announced, the connection indicator, toasts, the theme toggle.
 */
import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import type { Page } from 'playwright-core';
import { buildClient } from '../../scripts/build-client.ts';
import { type RunningApp, startApp } from '../support/app.ts';
import { newContext, openPage, skipReason, useBrowser, type WatchedPage } from './browser.ts';

const browser = useBrowser();
const built = skipReason ? Promise.resolve([]) : buildClient();

/** Signs in through the form and waits for the live page's stream. */
async function liveTab(t: TestContext, app: RunningApp): Promise<WatchedPage> {
  const context = await newContext(browser(), t);
  const tab = await openPage(context, `${app.url}/login`);
  await tab.page.fill('input[name=username]', 'mark');
  await tab.page.fill('input[name=password]', 'pass123');
  await Promise.all([
    tab.page.waitForURL(`${app.url}/protected`),
    tab.page.click('#login-form button[type=submit]'),
  ]);
  await tab.page.locator('#connection[data-state=live]').waitFor();
  return tab;
}

/** Presses Tab until `selector` has focus (at most `limit` times); returns how many presses it took. */
async function tabTo(page: Page, selector: string, limit = 30): Promise<number> {
  for (let presses = 1; presses <= limit; presses++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return presses;
  }
  throw new Error(`${selector} never got focus`);
}

/** The focused element shows a focus indicator (outline or ring), as :focus-visible styles it. */
const focusIsVisible = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement;
    if (!el?.matches(':focus-visible')) return false;
    const style = getComputedStyle(el);
    return (style.outlineStyle !== 'none' && style.outlineWidth !== '0px') || style.boxShadow !== 'none';
  });

/** The text of the live region that announced something, with its politeness. */
const announced = (page: Page, selector: string) =>
  page.evaluate((s) => {
    const el = document.querySelector(s);
    const live = el?.closest('[aria-live], [role=status], [role=alert]');
    return {
      text: el?.textContent?.trim() ?? '',
      live:
        live?.getAttribute('aria-live') ?? (live?.getAttribute('role') === 'alert' ? 'assertive' : 'polite'),
    };
  }, selector);

/** The accessible name Chromium computes for the element (what a screen reader announces). */
async function chromiumName(page: Page, selector: string): Promise<unknown> {
  const cdp = await page.context().newCDPSession(page);
  try {
    const { root } = await cdp.send('DOM.getDocument');
    const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector });
    const { nodes } = await cdp.send('Accessibility.getPartialAXTree', { nodeId, fetchRelatives: false });
    return nodes[0]?.name?.value;
  } finally {
    await cdp.detach();
  }
}

test('keyboard only: skip link, sign in, add a course; focus is always visible and success is announced', {
  skip: skipReason,
}, async (t) => {
  await built;
  const app = await startApp(t);
  const context = await newContext(browser(), t);
  const { page } = await openPage(context, `${app.url}/login`);

  assert.equal(
    await page.evaluate(() => document.activeElement?.getAttribute('name')),
    'username',
    'autofocus',
  );
  await page.keyboard.type('mark');
  await page.keyboard.press('Tab');
  assert.ok(await focusIsVisible(page), 'the password field shows focus');
  await page.keyboard.type('pass123');
  await Promise.all([page.waitForURL(`${app.url}/protected`), page.keyboard.press('Enter')]);

  assert.equal(await tabTo(page, '.skip-link', 1), 1, 'the first Tab reaches the skip link');
  assert.ok(await page.isVisible('.skip-link'), 'it shows when focused');
  await page.keyboard.press('Enter');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'main', 'focus moved to the content');

  await tabTo(page, '#course-title');
  assert.ok(await focusIsVisible(page), 'the course field shows focus');
  await page.keyboard.type('Typed with the keyboard');
  await page.keyboard.press('Enter');
  await page.locator('#course-list .list-item-title', { hasText: 'Typed with the keyboard' }).waitFor();
  await page.locator('#course-form-status', { hasText: 'Course added.' }).waitFor();
  assert.deepEqual(await announced(page, '#course-form-status'), { text: 'Course added.', live: 'polite' });
  await tabTo(page, '#course-form button[type=submit]', 2);
  assert.ok(await focusIsVisible(page), 'the button shows focus');
});

test('keyboard only: rename a course and delete it; focus stays where the user is and each change is announced', {
  skip: skipReason,
}, async (t) => {
  await built;
  const app = await startApp(t);
  const tab = await liveTab(t, app);
  const { page } = tab;
  for (const title of ['Linear Algebra', 'Topology']) {
    await page.fill('#course-title', title);
    await page.keyboard.press('Enter');
    await page.locator('#course-list .list-item-title', { hasText: title }).waitFor();
  }
  const id = await page.locator('#course-list > li', { hasText: 'Linear Algebra' }).getAttribute('id');

  await tabTo(page, `#${id}-edit`);
  assert.ok(await focusIsVisible(page), 'Rename shows focus');
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute(`#${id} details`, 'open'), '', 'the editor opened');
  await tabTo(page, `#${id}-title`, 1);
  await page.keyboard.press('ControlOrMeta+a');
  await page.keyboard.type('Algebra');
  await page.keyboard.press('Enter');
  await page.locator('#toasts .toast', { hasText: 'Course “Algebra” updated' }).waitFor();
  assert.equal(await page.textContent(`#${id}-name`), 'Algebra');
  assert.equal(await page.getAttribute(`#${id} details`, 'open'), null, 'the editor closed');
  assert.equal(
    await page.evaluate(() => document.activeElement?.id),
    `${id}-edit`,
    'focus is back on Rename',
  );
  assert.equal(await chromiumName(page, `#${id}-edit`), 'Rename Algebra');
  assert.equal(await page.getAttribute('#toasts', 'aria-live'), 'polite', 'the toast is announced');

  await tabTo(page, `#${id}-delete`, 1);
  await page.keyboard.press('Enter');
  await page.locator(`#${id}`).waitFor({ state: 'detached' });
  await page.locator('#toasts .toast', { hasText: 'Course “Algebra” removed' }).waitFor();
  assert.equal(
    await page.evaluate(() => document.activeElement?.id),
    'courses-heading',
    'focus moves to the list’s heading, not to the top of the page',
  );
  assert.deepEqual(tab.errors, []);
});

test('a refused course add shows the error at the field and announces it; the next success clears it', {
  skip: skipReason,
}, async (t) => {
  await built;
  const app = await startApp(t);
  const { page } = await liveTab(t, app);
  await page.fill('#course-title', '   '); // passes `required`, refused by the server (400)
  await page.click('#course-form button[type=submit]');
  await page.locator('#course-title-error:not([hidden])').waitFor();
  assert.equal(await page.getAttribute('#course-title', 'aria-invalid'), 'true');
  const error = await page.textContent('#course-title-error');
  assert.equal(error, 'Course title cannot be blank.', 'in words, not the schema’s');
  assert.deepEqual(await announced(page, '#course-form-status'), { text: error, live: 'polite' });
  assert.equal(
    await page.evaluate(() => document.activeElement?.id),
    'course-title',
    'focus is back on the field to fix',
  );

  await page.fill('#course-title', 'Fixed');
  await page.click('#course-form button[type=submit]');
  await page.locator('#course-form-status', { hasText: 'Course added.' }).waitFor();
  assert.equal(await page.getAttribute('#course-title', 'aria-invalid'), null);
  assert.ok(await page.isHidden('#course-title-error'));
});

test('each course’s rename and delete controls are named after the course they act on', {
  skip: skipReason,
}, async (t) => {
  await built;
  const app = await startApp(t);
  const tab = await liveTab(t, app);
  const { page } = tab;
  await page.fill('#course-title', 'Linear Algebra');
  await page.click('#course-form button[type=submit]');
  const item = page.locator('#course-list > li', { hasText: 'Linear Algebra' });
  await item.waitFor();
  const id = await item.getAttribute('id');
  assert.equal(await chromiumName(page, `#${id} summary`), 'Rename Linear Algebra');
  assert.equal(await chromiumName(page, `#${id} form[action$="/delete"] button`), 'Delete Linear Algebra');
  await item.locator('summary').click();
  assert.equal(await chromiumName(page, `#${id} summary`), 'Cancel renaming Linear Algebra');
  assert.equal(await item.getByLabel('New title').inputValue(), 'Linear Algebra', 'the field starts filled');
  assert.deepEqual(tab.errors, []);
});

test('the connection indicator follows the network: live, offline, live again', {
  skip: skipReason,
}, async (t) => {
  await built;
  const app = await startApp(t);
  const tab = await liveTab(t, app);
  const { page } = tab;
  assert.equal(await page.textContent('#connection .conn-label'), 'Live');
  await page.context().setOffline(true);
  await page.locator('#connection[data-state=offline]').waitFor();
  assert.equal(await page.textContent('#connection .conn-label'), 'Offline');
  assert.equal(await page.getAttribute('#connection', 'role'), 'status', 'changes are announced');
  await page.context().setOffline(false);
  await page.locator('#connection[data-state=live]').waitFor();

  // A change pushed meanwhile arrives: the stream resumed where it stopped.
  await app.app.events.publish('mark', {
    html: {
      'course-list': {
        content:
          '<li id="course-0" class="list-item" data-notice-label="Pushed"><span class="list-item-title">Pushed</span></li>',
        swap: 'append',
      },
    },
  });
  await page.locator('#course-list .list-item-title', { hasText: 'Pushed' }).waitFor();
});

test('pushed changes show a toast in every tab; pushed toasts can be dismissed', {
  skip: skipReason,
}, async (t) => {
  await built;
  const app = await startApp(t);
  const first = await liveTab(t, app);
  const second = await openPage(first.page.context(), `${app.url}/protected`);
  await second.page.locator('#connection[data-state=live]').waitFor();
  const render = (partial: string, title: string) =>
    app.app.view(`partials/${partial}.njk`, { course: { id: 41, title } });
  const long = 'Pneumonoultramicroscopicsilicovolcanoconiosis'.repeat(3);
  // What the course routes push: an add appends the item, a rename replaces its title and its
  // rename field, a delete removes it; a whole item replaced is an update too.
  const changes = [
    [
      { 'course-list': { content: await render('course-item', 'Shared'), swap: 'append' as const } },
      'Course “Shared” added',
    ],
    [
      {
        'course-41-name': await render('course-title', 'Renamed'),
        'course-41-title': await render('course-title-input', 'Renamed'),
      },
      'Course “Renamed” updated',
    ],
    [{ 'course-41': await render('course-item', long) }, `Course “${long.slice(0, 59)}…” updated`],
    [{ 'course-41': { swap: 'remove' as const } }, `Course “${long.slice(0, 59)}…” removed`],
  ] as const;
  for (const [html, notice] of changes) {
    await app.app.events.publish('mark', { html });
    for (const tab of [first, second])
      await tab.page.locator('#toasts .toast', { hasText: notice }).waitFor();
  }
  assert.equal(
    await first.page.locator('#toasts .toast', { hasText: 'Renamed' }).count(),
    1,
    'one notice for a rename, not one per element it updates',
  );
  assert.equal(await first.page.getAttribute('#toasts', 'aria-live'), 'polite', 'toasts are announced');
  assert.ok(await first.page.isVisible('#courses-empty'), 'the empty state is back');

  const toast = await app.app.view('partials/toast.njk', { text: 'Maintenance at 18:00', level: 'info' });
  await app.app.events.publish('mark', { html: { toasts: { content: toast, swap: 'append' } } });
  const pushed = second.page.locator('#toasts .toast', { hasText: 'Maintenance at 18:00' });
  await pushed.waitFor();
  await pushed.getByRole('button', { name: 'Dismiss notification' }).click();
  await pushed.waitFor({ state: 'detached' });
});

test('the theme toggle switches to dark, is remembered across pages, and follows the system until used', {
  skip: skipReason,
}, async (t) => {
  await built;
  const app = await startApp(t);
  const context = await newContext(browser(), t);
  const { page } = await openPage(context, `${app.url}/login`);
  await page.emulateMedia({ colorScheme: 'light' });
  const background = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const light = await background();
  assert.equal(await page.getAttribute('#theme-toggle', 'aria-pressed'), 'false');
  await page.emulateMedia({ colorScheme: 'dark' });
  assert.notEqual(await background(), light, 'no choice yet: the system preference applies');
  await page.locator('#theme-toggle[aria-pressed=true]').waitFor();
  await page.emulateMedia({ colorScheme: 'light' });

  await page.click('#theme-toggle');
  assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');
  assert.equal(await page.getAttribute('#theme-toggle', 'aria-pressed'), 'true');
  const dark = await background();
  assert.notEqual(dark, light);

  // Another page of the site, rendered by the server: dark from the first paint, no script needed.
  const other = await context.newPage();
  await other.emulateMedia({ colorScheme: 'light' });
  const response = await other.goto(`${app.url}/no-such-page`);
  assert.match((await response?.text()) ?? '', /<html lang="en" data-theme="dark">/);
  assert.equal(await other.evaluate(() => getComputedStyle(document.body).backgroundColor), dark);

  await page.click('#theme-toggle');
  assert.equal(await page.getAttribute('html', 'data-theme'), 'light');
  await page.reload();
  assert.equal(await background(), light, 'the choice of light is remembered even under a dark system');
});

test('/docs (Swagger UI) works under the app’s strict CSP, with nothing fetched from elsewhere', {
  skip: skipReason,
}, async (t) => {
  const app = await startApp(t);
  const context = await newContext(browser(), t);
  const outside: string[] = [];
  context.on('request', (request) => {
    if (!request.url().startsWith(app.url)) outside.push(request.url());
  });
  const tab = await openPage(context, `${app.url}/docs/`);
  await tab.page.locator('.opblock-summary-path', { hasText: '/api/login' }).first().waitFor();
  assert.ok((await tab.page.locator('.opblock').count()) >= 10, 'the operations are listed');
  assert.deepEqual(await tab.violations(), [], 'no CSP violation');
  assert.deepEqual(tab.errors, [], 'no console error');
  assert.deepEqual(outside, [], 'no request leaves the app');
});
