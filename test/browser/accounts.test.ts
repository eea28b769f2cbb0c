/**
 * Accounts in real Chromium against the real app: signing up through the form, revoking a
 * session from the account page (the other browser lands on the login page), and a page left
 * open across a session renewal that keeps receiving messages.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BrowserContext } from 'playwright-core';
import { buildClient } from '../../scripts/build-client.ts';
import { startApp } from '../support/app.ts';
import { newContext, openPage, skipReason, useBrowser, type WatchedPage } from './browser.ts';

const browser = useBrowser();
const built = skipReason ? Promise.resolve([]) : buildClient();

async function logIn(context: BrowserContext, base: string, username = 'mark', password = 'pass123') {
  const tab = await openPage(context, `${base}/login`);
  await tab.page.fill('input[name=username]', username);
  await tab.page.fill('input[name=password]', password);
  await Promise.all([
    tab.page.waitForURL(`${base}/protected`),
    tab.page.click('#login-form button[type=submit]'),
  ]);
  return tab;
}

/** No CSP violation and no console error but the browser's own notes of the statuses `expected`. */
const cleanConsole = async (tab: WatchedPage, expected = /status of 401/) => {
  assert.deepEqual(await tab.violations(), [], 'no CSP violation');
  assert.deepEqual(
    tab.errors.filter((text) => !expected.test(text)),
    [],
    'no console error',
  );
};

test('signing up through the form lands on the live page, signed in', { skip: skipReason }, async (t) => {
  await built;
  const app = await startApp(t);
  const context = await newContext(browser(), t);
  const tab = await openPage(context, `${app.url}/login`);
  await Promise.all([tab.page.waitForURL(`${app.url}/register`), tab.page.click('a[href="/register"]')]);
  await tab.page.fill('input[name=username]', 'alice');
  await tab.page.fill('input[name=password]', 'password');
  await tab.page.fill('input[name=password_confirm]', 'password');
  await tab.page.click('#register-form button[type=submit]');
  // Refused (a common password): the form again, the name kept, the error tied to its field.
  assert.match((await tab.page.textContent('#password-error')) ?? '', /commonly used/);
  assert.equal(await tab.page.inputValue('input[name=username]'), 'alice');
  assert.equal(await tab.page.inputValue('input[name=password]'), '');
  assert.match(
    (await tab.page.getAttribute('input[name=password]', 'aria-describedby')) ?? '',
    /(^| )password-error$/,
  );
  assert.equal(await tab.page.getAttribute('input[name=password]', 'aria-invalid'), 'true');
  assert.equal(
    await tab.page.evaluate(() => document.activeElement?.getAttribute('name')),
    'password',
    'focus is on the refused field, so its error is read out',
  );
  await tab.page.fill('input[name=password]', 'correct horse battery');
  await tab.page.fill('input[name=password_confirm]', 'correct horse battery');
  await Promise.all([
    tab.page.waitForURL(`${app.url}/protected`),
    tab.page.click('#register-form button[type=submit]'),
  ]);
  assert.equal(await tab.page.textContent('#username'), 'alice');
  await tab.waitForEvent('connected');
  // Chromium notes the refused form's 400 itself.
  await cleanConsole(tab, /status of 400 \(Bad Request\) @ .*\/register$/);
});

test('revoking a session on the account page sends that browser to the login page; the list updates live', {
  skip: skipReason,
}, async (t) => {
  await built;
  const app = await startApp(t);
  const laptop = await newContext(browser(), t);
  const phone = await newContext(browser(), t);
  const phonePage = await logIn(phone, app.url);
  await phonePage.waitForEvent('connected');
  await logIn(laptop, app.url);
  const account = await openPage(laptop, `${app.url}/account`);
  await account.waitForEvent('connected');
  assert.equal(await account.page.locator('#session-list li').count(), 2);
  assert.equal(await account.page.locator('#session-list li.current').count(), 1);

  // A third sign-in elsewhere appears without a reload.
  const tablet = await newContext(browser(), t);
  await logIn(tablet, app.url);
  await account.page.waitForFunction(() => document.querySelectorAll('#session-list li').length === 3);

  // Revoke the phone's session (the first non-current entry, the oldest).
  await account.page.locator('#session-list li:not(.current) button').first().click();
  await phonePage.page.waitForURL(`${app.url}/login`);
  await account.page.waitForFunction(() => document.querySelectorAll('#session-list li').length === 2);
  await account.page.waitForFunction(() =>
    [...document.querySelectorAll('#activity-list .list-item-title')].some(
      (el) => el.textContent === 'Session revoked',
    ),
  );
  await cleanConsole(account);
});

test('a page left open across a session renewal keeps its stream and keeps receiving messages', {
  skip: skipReason,
}, async (t) => {
  await built;
  // Four-second tokens: the stream asks the page to renew after two.
  const app = await startApp(t, { ACCESS_TOKEN_EXPIRE_HOURS: '0.001' });
  const context = await newContext(browser(), t);
  const tab = await logIn(context, app.url);
  await tab.waitForEvent('connected');
  const first = (await context.cookies()).find((c) => c.name === 'access_token')?.value ?? '';
  const exp = JSON.parse(Buffer.from(first.split('.')[1] ?? '', 'base64url').toString()).exp as number;
  await tab.waitForEvent('renew');
  // Past the first token's expiry, the page is still here and still live.
  await tab.page.waitForFunction((until) => Date.now() > until, exp * 1000 + 500, {
    polling: 100,
    timeout: 10_000,
  });
  await app.app.events.publish('mark', { html: { 'course-list': '<ul><li>Still live</li></ul>' } });
  await tab.waitForEvent('html-updated');
  assert.equal(await tab.page.textContent('#course-list li'), 'Still live');
  assert.equal(tab.page.url(), `${app.url}/protected`);
  const renewed = (await context.cookies()).find((c) => c.name === 'access_token')?.value ?? '';
  assert.notEqual(renewed, first, 'the cookie was renewed');
  const events = await tab.events();
  assert.equal(events.filter((e) => e.type === 'auth').length, 0);
  assert.equal(events.filter((e) => e.type === 'connected').length, 1, 'the same stream throughout');
  // And a navigation with the renewed cookie works.
  await tab.page.goto(`${app.url}/account`);
  assert.equal(tab.page.url(), `${app.url}/account`);
  await cleanConsole(tab);
});

test('the account page shows and announces what happens: live sessions, a form’s outcome, a refused field', {
  skip: skipReason,
}, async (t) => {
  await built;
  const app = await startApp(t);
  const context = await newContext(browser(), t);
  await logIn(context, app.url);
  const account = await openPage(context, `${app.url}/account`);
  const { page } = account;
  await account.waitForEvent('connected');
  const politeText = (selector: string) =>
    page.evaluate((s) => {
      const el = document.querySelector(s);
      const live = el?.closest('[aria-live=polite], [role=status]');
      return live ? (el?.textContent?.trim() ?? '') : null;
    }, selector);

  // A sign-in elsewhere: its row arrives and a toast (a polite live region) says so.
  await page.request.post(`${app.url}/api/login`, {
    data: { username: 'mark', password: 'pass123' },
    headers: { 'user-agent': 'curl/8.0' },
  });
  await page.locator('.toast', { hasText: 'Session “curl” added' }).waitFor();
  assert.equal(await politeText('.toast .toast-text'), 'Session “curl” added');

  // "Log out other sessions" (sx-post): its status line says it is done, the row leaves live.
  await page.click('#revoke-others-form button[type=submit]');
  await page.locator('#revoke-others-status', { hasText: 'Every other session has ended.' }).waitFor();
  assert.equal(await politeText('#revoke-others-status'), 'Every other session has ended.');
  await page.locator('.toast', { hasText: 'Session “curl” removed' }).waitFor();
  assert.equal(await page.locator('#session-list li').count(), 1);

  // A refused password change: the page again, focus on the field, its error tied to it.
  await page.fill('#current-password', 'not my password');
  await page.fill('#new-password', 'a long new passphrase');
  await page.fill('#new-password-confirm', 'a long new passphrase');
  await page.click('#password-form button[type=submit]');
  await page.locator('#current-password-error:not([hidden])').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'current-password');
  assert.equal(await page.getAttribute('#current-password', 'aria-invalid'), 'true');
  assert.match(
    (await page.getAttribute('#current-password', 'aria-describedby')) ?? '',
    /current-password-error/,
  );

  // Accepted: the page opens with focus on the notice, so it is read first.
  await page.fill('#current-password', 'pass123');
  await page.fill('#new-password', 'a long new passphrase');
  await page.fill('#new-password-confirm', 'a long new passphrase');
  await Promise.all([
    page.waitForURL(`${app.url}/account?notice=password-changed`),
    page.click('#password-form button[type=submit]'),
  ]);
  await page.locator('#account-notice').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'account-notice');
  assert.match((await politeText('#account-notice')) ?? '', /Your password was changed/);
  await cleanConsole(account, /status of (400|401)/);
});
