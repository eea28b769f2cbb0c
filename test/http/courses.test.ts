/** POST /add_course: stored per user, shown on reload, pushed live, kept across restarts. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { startApp, tempSqliteUrl } from '../support/app.ts';
import { courseTitles, pushedCourseTitles } from '../support/html.ts';
import { Browser } from '../support/http.ts';
import { openSse } from '../support/sse.ts';

async function coursesOnPage(browser: Browser): Promise<string[]> {
  const response = await browser.fetch('/protected');
  assert.equal(response.status, 200);
  return courseTitles(await response.text());
}

test('a course is stored for its user only and appears after a reload', async (t) => {
  const { url } = await startApp(t);
  const mark = await new Browser(url).login('mark', 'pass123');
  const luke = await new Browser(url).login('luke', 'pass456');
  const response = await mark.submit('/add_course', { course_title: '  Calculus  ' }, '/protected');
  assert.equal(response.status, 201);
  const body = (await response.json()) as { id: number; title: string };
  assert.equal(body.title, 'Calculus', 'surrounding spaces are trimmed');
  assert.ok(Number.isInteger(body.id));
  await mark.submit('/add_course', { course_title: 'Physics' }, '/protected');
  assert.deepEqual(await coursesOnPage(mark), ['Calculus', 'Physics']);
  assert.deepEqual(await coursesOnPage(luke), [], "another user's list is untouched");
});

test('a plain form post (no JavaScript) is redirected back to the page', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login();
  const token = await browser.csrfToken('/protected');
  // fetch always sends Sec-Fetch-Mode: cors, so the browser's navigation is made by hand.
  const response = await rawRequest(
    `${url}/add_course`,
    {
      cookie: browser.cookieHeader,
      'content-type': 'application/x-www-form-urlencoded',
      'sec-fetch-site': 'same-origin',
      'sec-fetch-mode': 'navigate',
    },
    new URLSearchParams({ course_title: 'No-JS course', _csrf: token }).toString(),
  );
  assert.equal(response.status, 303);
  assert.equal(response.location, '/protected');
  assert.deepEqual(await coursesOnPage(browser), ['No-JS course']);
});

/** A POST with exactly these headers (node:http, which adds no Sec-Fetch-* of its own). */
function rawRequest(
  target: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(target, { method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('adding a course pushes the whole new list, as an SSEXI html message, to that user only', async (t) => {
  const { url } = await startApp(t);
  const mark = await new Browser(url).login('mark', 'pass123');
  const luke = await new Browser(url).login('luke', 'pass456');
  const markStream = await openSse(`${url}/protected/events/mark`, { cookie: mark.cookieHeader });
  const lukeStream = await openSse(`${url}/protected/events/luke`, { cookie: luke.cookieHeader });
  t.after(() => {
    markStream.close();
    lukeStream.close();
  });
  await mark.submit('/add_course', { course_title: 'One' }, '/protected');
  await mark.submit('/add_course', { course_title: 'Two' }, '/protected');
  const [first, second] = await markStream.take(2);
  assert.deepEqual(Object.keys(JSON.parse(first?.data ?? '').html), ['course-list']);
  assert.deepEqual(pushedCourseTitles(first?.data ?? ''), ['One']);
  assert.deepEqual(pushedCourseTitles(second?.data ?? ''), ['One', 'Two']);
  assert.ok(Number(second?.id) > Number(first?.id), 'ids increase');

  // Luke's stream sees his own update and nothing of Mark's.
  await luke.submit('/add_course', { course_title: 'Luke only' }, '/protected');
  const lukes = await lukeStream.next();
  assert.deepEqual(pushedCourseTitles(lukes.data), ['Luke only']);
});

test('bad titles get 400 and store nothing: missing, empty, blank, too long', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login();
  for (const fields of [
    {},
    { course_title: '' },
    { course_title: '   ' },
    { course_title: 'x'.repeat(201) },
  ] as Record<string, string>[]) {
    const response = await browser.submit('/add_course', fields, '/protected');
    assert.equal(response.status, 400, JSON.stringify(fields).slice(0, 40));
    assert.match(((await response.json()) as { error: string }).error, /course_title/);
  }
  assert.equal(
    (await browser.submit('/add_course', { course_title: 'x'.repeat(200) }, '/protected')).status,
    201,
  );
  assert.equal((await coursesOnPage(browser)).length, 1);
});

test('anonymous POST /add_course is refused with 401', async (t) => {
  const { url } = await startApp(t);
  const browser = new Browser(url);
  const response = await browser.submit('/add_course', { course_title: 'Sneaky' }, '/login');
  assert.equal(response.status, 401);
});

test('courses persist across an app restart on the same database', async (t) => {
  const DATABASE_URL = tempSqliteUrl(t);
  const first = await startApp(t, { DATABASE_URL });
  const browser = await new Browser(first.url).login();
  await browser.submit('/add_course', { course_title: 'Survives restarts' }, '/protected');
  await first.close();

  const second = await startApp(t, { DATABASE_URL });
  const again = await new Browser(second.url).login();
  assert.deepEqual(await coursesOnPage(again), ['Survives restarts']);
});
