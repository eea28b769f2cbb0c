/**
 * Every page of the app in Chromium, on a phone (390 px, dark theme) and a desktop (1280 px,
 * light theme): nothing scrolls sideways, axe-core finds no serious or critical WCAG violation,
 * and the page raises no CSP violation or console error. To cover a new page, add it to PAGES.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { buildClient } from '../../scripts/build-client.ts';
import { createAccountTokenStore } from '../../src/accounts/account-tokens.ts';
import { createUserEmails } from '../../src/accounts/user-emails.ts';
import { type RunningApp, startApp } from '../support/app.ts';
import { type AxeViolation, runAxe } from './axe.ts';
import { newContext, openPage, skipReason, useBrowser } from './browser.ts';

interface PageCase {
  /** What the test title calls it. */
  name: string;
  /** Where it is, or how to make it (a fresh single-use link, say) in the running app. */
  path: string | ((app: RunningApp) => Promise<string>);
  /** Sign in as mark first. */
  login?: boolean;
  /** Puts the page in the state worth checking (after it loaded), e.g. a long list or an error. */
  prepare?: (page: Page, base: string) => Promise<void>;
  /** How to get there when a plain visit is not it (the default is `page.goto(path)`). */
  visit?: (page: Page, url: string) => Promise<unknown>;
}

/** A title of 200 characters without a space: it must wrap, not widen the page. */
const LONG_TITLE = 'Pneumonoultramicroscopicsilicovolcanoconiosis'.repeat(5).slice(0, 200);

/** A password-reset link of mark's, as the mail would carry it (his address verified first). */
async function resetLink({ app }: RunningApp): Promise<string> {
  const mark = await app.auth.users.findByUsername('mark');
  if (!mark) throw new Error('mark is a demo user');
  const emails = createUserEmails(app.db);
  await emails.set(mark.id, 'mark@example.com');
  await emails.markVerified(mark.id, 'mark@example.com');
  const token = await createAccountTokenStore(app.db).issue(
    mark.id,
    'reset-password',
    'mark@example.com',
    600,
  );
  return `/reset-password?token=${token}`;
}

export const PAGES: PageCase[] = [
  { name: 'login form', path: '/login' },
  {
    name: 'login form with an error',
    path: '/login',
    prepare: async (page) => {
      await page.fill('input[name=username]', 'mark');
      await page.fill('input[name=password]', 'wrong password');
      await Promise.all([page.waitForLoadState(), page.click('#login-form button[type=submit]')]);
      await page.locator('#login-error').waitFor();
    },
  },
  { name: 'live page, empty', path: '/protected', login: true },
  {
    name: 'live page with courses (one very long)',
    path: '/protected',
    login: true,
    prepare: async (page) => {
      for (const title of ['Linear Algebra', LONG_TITLE]) {
        await page.fill('#course-title', title);
        await page.click('#course-form button[type=submit]');
        await page.locator('#course-list .list-item-title', { hasText: title.slice(0, 40) }).waitFor();
      }
      await page.locator('#course-list details summary').first().click(); // an open editor too
    },
  },
  {
    name: 'live page, a course add refused (the error at the field) and toasts',
    path: '/protected',
    login: true,
    prepare: async (page, base) => {
      await page.locator('#connection[data-state=live]').waitFor();
      await page.request.post(`${base}/add_course`, {
        form: { course_title: LONG_TITLE },
        headers: { 'x-csrf-token': (await page.getAttribute('meta[name=csrf-token]', 'content')) ?? '' },
      });
      await page.locator('#toasts .toast').waitFor();
      await page.fill('#course-title', '   ');
      await page.click('#course-form button[type=submit]');
      await page.locator('#course-title-error:not([hidden])').waitFor();
    },
  },
  {
    name: 'logout confirmation (a link from another site)',
    path: '/logout',
    login: true,
    // A link clicked on a page of another site (a Referer alone is no cross-site navigation:
    // Chromium sends `Sec-Fetch-Site: none` for page.goto, and the server logs out at once).
    visit: async (page, url) => {
      await page.route('https://elsewhere.example/', (route) =>
        route.fulfill({ contentType: 'text/html', body: `<a href="${url}">Log out</a>` }),
      );
      await page.goto('https://elsewhere.example/');
      await Promise.all([page.waitForURL(url), page.click('a')]);
      await page.locator('form[action="/logout"]').waitFor();
    },
  },
  { name: 'not found', path: '/no-such-page' },
  { name: 'not found, signed in', path: '/no-such-page', login: true },
  { name: 'sign-up form', path: '/register' },
  {
    name: 'sign-up form with an error at every field',
    path: '/register',
    prepare: async (page) => {
      await page.fill('input[name=username]', 'mark');
      await page.fill('input[name=password]', 'password');
      await page.fill('input[name=password_confirm]', 'something else');
      await page.fill('input[name=email]', 'not an address');
      await page.click('#register-form button[type=submit]');
      await page.locator('#password-error').waitFor();
    },
  },
  { name: 'forgot-password form', path: '/forgot-password' },
  {
    name: 'forgot-password form, link sent',
    path: '/forgot-password',
    prepare: async (page) => {
      await page.fill('input[name=email]', 'someone@example.com');
      await page.click('#forgot-form button[type=submit]');
      await page.locator('#forgot-notice').waitFor();
    },
  },
  { name: 'reset-password page, invalid link', path: '/reset-password?token=made-up' },
  {
    name: 'reset-password form with an error',
    path: resetLink,
    prepare: async (page) => {
      await page.fill('input[name=new_password]', 'a long new passphrase');
      await page.fill('input[name=new_password_confirm]', 'a different passphrase');
      await page.click('#reset-form button[type=submit]');
      await page.locator('#new-password-confirm-error').waitFor();
    },
  },
  { name: 'verify-email page (the mailed link)', path: '/verify-email?token=from-the-mail' },
  { name: 'verify-email page, invalid link, signed in', path: '/verify-email', login: true },
  {
    name: 'account page, its email unverified, other sessions live, a notice',
    path: '/account',
    login: true,
    prepare: async (page, base) => {
      await page.fill('#email', 'mark.with.a.rather.long.address@example.com');
      await page.click('#email-form button[type=submit]');
      await page.locator('#account-notice').waitFor();
      await page.locator('#connection[data-state=live]').waitFor();
      // Sign-ins elsewhere arrive over the stream: rows appended, activity prepended, toasts.
      for (const userAgent of [
        'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) Safari/604.1',
        'curl/8.0',
      ])
        await page.request.post(`${base}/api/login`, {
          data: { username: 'mark', password: 'pass123' },
          headers: { 'user-agent': userAgent },
        });
      await page.waitForFunction(() => document.querySelectorAll('#session-list li').length === 3);
      await page.locator('.toast').first().waitFor();
    },
  },
  {
    name: 'account page with a refused field',
    path: '/account',
    login: true,
    prepare: async (page) => {
      await page.fill('#delete-password', 'not my password');
      await page.click('#delete-form button[type=submit]');
      await page.locator('#delete-password-error').waitFor();
    },
  },
];

const VIEWPORTS = [
  { width: 390, height: 844, colorScheme: 'dark' as const },
  { width: 1280, height: 800, colorScheme: 'light' as const },
];

const browser = useBrowser();
const built = skipReason ? Promise.resolve([]) : buildClient();

async function signIn(context: BrowserContext, base: string): Promise<void> {
  const tab = await openPage(context, `${base}/login`);
  await tab.page.fill('input[name=username]', 'mark');
  await tab.page.fill('input[name=password]', 'pass123');
  await Promise.all([
    tab.page.waitForURL(`${base}/protected`),
    tab.page.click('#login-form button[type=submit]'),
  ]);
  await tab.page.close();
}

const describe = (violations: AxeViolation[]) =>
  violations
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`)
    .join('\n');

for (const pageCase of PAGES)
  for (const viewport of VIEWPORTS)
    test(`${pageCase.name} at ${viewport.width} px (${viewport.colorScheme}): no sideways scroll, no serious a11y violation`, {
      skip: skipReason,
    }, async (t) => {
      await built;
      const app = await startApp(t);
      const context = await newContext(browser(), t);
      if (pageCase.login) await signIn(context, app.url);
      const tab = await openPage(context, 'about:blank');
      const { page } = tab;
      await page.setViewportSize({ width: viewport.width, height: viewport.height });
      await page.emulateMedia({ colorScheme: viewport.colorScheme, reducedMotion: 'reduce' });
      const path = typeof pageCase.path === 'string' ? pageCase.path : await pageCase.path(app);
      const url = `${app.url}${path}`;
      await (pageCase.visit ? pageCase.visit(page, url) : page.goto(url));
      await pageCase.prepare?.(page, app.url);

      const width = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth,
        viewport: document.documentElement.clientWidth,
      }));
      assert.ok(
        width.scroll <= width.viewport,
        `scrolls sideways: ${width.scroll} px > ${width.viewport} px`,
      );
      const violations = (await runAxe(page)).filter(
        (v) => v.impact === 'serious' || v.impact === 'critical',
      );
      assert.deepEqual(violations, [], describe(violations));
      assert.deepEqual(await tab.violations(), [], 'no CSP violation');
      // The browser logs every 4xx document it loads (the 404 page, a form answered again with its
      // errors, an invalid link); nothing else.
      assert.deepEqual(
        tab.errors.filter((text) => !/responded with a status of (400|401|404)/.test(text)),
        [],
        'no console error',
      );
    });

test('the checker finds what it is meant to: an image without alt text is a critical violation', {
  skip: skipReason,
}, async (t) => {
  const context = await newContext(browser(), t);
  const page = await context.newPage();
  await page.setContent(
    '<!doctype html><html lang="en"><title>x</title><main><img src="data:,"></main></html>',
  );
  const violations = await runAxe(page);
  assert.ok(
    violations.some((v) => v.id === 'image-alt' && v.impact === 'critical'),
    describe(violations),
  );
});
