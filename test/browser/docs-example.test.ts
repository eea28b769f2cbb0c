/**
 * The README's copy-paste example (docs/examples/live-page/) pasted into a new route of the app,
 * as a newcomer would: the page gets its stream URL and newest event id without the handler
 * passing them, connects, adds a course with its form, and shows what `pushCourse` publishes —
 * under the app's CSP, with no serious accessibility violation but the unstyled button's size.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { pushCourse } from '../../docs/examples/live-page/push.ts';
import { buildClient } from '../../scripts/build-client.ts';
import { startApp } from '../support/app.ts';
import { runAxe } from './axe.ts';
import { newContext, openPage, skipReason, useBrowser } from './browser.ts';

const PAGE = readFileSync(new URL('../../docs/examples/live-page/live-page.njk', import.meta.url), 'utf8');

const browser = useBrowser();
const built = skipReason ? Promise.resolve([]) : buildClient();

test('the copy-paste example works as pasted: it connects, its form adds a course, a push shows', {
  skip: skipReason,
}, async (t) => {
  await built;
  const app = await startApp(
    t,
    {},
    {
      beforeListen: (fastify) => {
        // A new route that passes nothing: @fastify/view renders `{raw}` templates too.
        fastify.get('/live', { preHandler: fastify.requirePageUser }, async (_request, reply) =>
          reply.view({ raw: PAGE } as unknown as string),
        );
      },
    },
  );
  await app.app.events.publish('mark', { js: { before: 1 } });
  const context = await newContext(browser(), t);
  const login = await openPage(context, `${app.url}/login`);
  await login.page.fill('input[name=username]', 'mark');
  await login.page.fill('input[name=password]', 'pass123');
  await Promise.all([login.page.waitForURL(`${app.url}/protected`), login.page.click('#login-form button')]);

  const tab = await openPage(context, `${app.url}/live`);
  const body = await tab.page.evaluate(() => [
    document.body.getAttribute('sx-connect'),
    document.body.getAttribute('sx-last-id'),
  ]);
  assert.equal(body[0], '/protected/events/mark');
  assert.match(body[1] ?? '', /^[1-9]\d*$/, 'the newest event id, so the page resumes without loss');
  await tab.waitForEvent('connected');

  await tab.page.getByLabel('Course title').fill('Linear Algebra');
  await tab.page.getByRole('button', { name: 'Add course' }).click();
  await tab.page.locator('#course-list li', { hasText: 'Linear Algebra' }).waitFor();
  assert.equal(await tab.page.inputValue('input[name=course_title]'), '', 'the form was reset');

  await pushCourse(app.app);
  await tab.page.locator('#course-7', { hasText: 'Linear Algebra' }).waitFor();

  // An unstyled page: the browser's default button is under 24 px (target-size), which styles
  // fix; the app's own pages are held to every rule in pages.test.ts.
  const serious = (await runAxe(tab.page)).filter(
    (v) => (v.impact === 'serious' || v.impact === 'critical') && v.id !== 'target-size',
  );
  assert.deepEqual(serious, []);
  assert.deepEqual(await tab.violations(), [], 'no CSP violation');
  assert.deepEqual(tab.errors, []);
});
