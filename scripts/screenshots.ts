/**
 * `npm run screenshots`: the README's pictures, made from the real app. Starts the app on a free
 * port with a throw-away database, drives Debian's Chromium through Playwright (CHROMIUM_PATH to
 * use another), and writes PNGs to docs/screenshots/. Re-run after changing the look.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { buildClient } from './build-client.ts';

const OUT = fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
const DESKTOP = { width: 1280, height: 800 };
const MOBILE = { width: 390, height: 844 };
const COURSES = ['Linear Algebra', 'Distributed Systems', 'Introduction to Cryptography'];

const dir = await mkdtemp(join(tmpdir(), 'auth-sse-screenshots-'));
await buildClient();
const app = await buildApp(
  loadConfig({
    DEBUG: 'true',
    BCRYPT_ROUNDS: '4',
    LOG_LEVEL: 'warn',
    DATABASE_URL: `sqlite:///${dir}/app.db`,
  }),
);
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
if (address === null || typeof address === 'string') throw new TypeError('expected a TCP address');
const base = `http://127.0.0.1:${address.port}`;
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' });

try {
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });

  const desktop = await browser.newPage({ viewport: DESKTOP, colorScheme: 'light' });
  await desktop.goto(`${base}/login`);
  await shot(desktop, 'login');
  await desktop.fill('input[name=username]', 'mark');
  await desktop.fill('input[name=password]', 'pass123');
  await Promise.all([
    desktop.waitForURL(`${base}/protected`),
    desktop.click('#login-form button[type=submit]'),
  ]);
  await desktop.locator('#connection[data-state=live]').waitFor();
  for (const title of COURSES) {
    await desktop.fill('#course-title', title);
    await desktop.click('#course-form button[type=submit]');
    await desktop.locator('#course-list li', { hasText: title }).waitFor();
  }
  // Let the highlight and the toasts of the additions settle: the picture shows the page at rest.
  await desktop.evaluate(() => {
    for (const toast of document.querySelectorAll('.toast')) toast.remove();
  });
  await desktop.emulateMedia({ reducedMotion: 'reduce' });
  await desktop.mouse.move(0, 0); // no button in its hover colour
  await shot(desktop, 'live');

  await desktop.emulateMedia({ colorScheme: 'dark' });
  await shot(desktop, 'live-dark');

  if (app.hasRoute({ method: 'GET', url: '/account' })) {
    // Something to show: a phone signed in too, a mistyped password, an address awaiting its link.
    const signIns = [
      ['pass123', 'Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Safari/604.1'],
      ['pass1234', 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0'],
    ];
    for (const [password, userAgent] of signIns)
      await desktop.request.post(`${base}/api/login`, {
        data: { username: 'mark', password },
        headers: { 'user-agent': userAgent ?? '' },
      });
    await desktop.emulateMedia({ colorScheme: 'light' });
    await desktop.goto(`${base}/account`);
    await desktop.fill('#email', 'mark@example.com');
    await Promise.all([
      desktop.waitForURL(/notice=email-sent/),
      desktop.click('#email-form button[type=submit]'),
    ]);
    await desktop.locator('#connection[data-state=live]').waitFor();
    await shot(desktop, 'account');
  }

  const mobile = await browser.newPage({ viewport: MOBILE, colorScheme: 'light', isMobile: true });
  await mobile.context().addCookies(await desktop.context().cookies());
  await mobile.goto(`${base}/protected`);
  await mobile.locator('#connection[data-state=live]').waitFor();
  await mobile.emulateMedia({ reducedMotion: 'reduce' });
  await shot(mobile, 'mobile');
  console.log(`screenshots written to ${OUT}`);
} finally {
  await browser.close();
  await app.close();
  await rm(dir, { recursive: true, force: true });
}
