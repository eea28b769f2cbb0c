/**
 * Courses: add, rename and delete, each as a form navigation (303 back to the page), a fetch from
 * the page (JSON, CSRF header) and a bearer API call (JSON, no CSRF). Stored per user, shown on
 * reload, pushed live to every open stream of that user as the one change — and another user's
 * course ids are not found.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { startApp, tempSqliteUrl } from '../support/app.ts';
import {
  changeIn,
  courseAdder,
  coursesIn,
  type PageRenderRace,
  racePageRender,
  titlesIn,
} from '../support/courses.ts';
import { apiToken, Browser } from '../support/http.ts';
import { openSse, type SseClient } from '../support/sse.ts';

async function pageCourses(browser: Browser) {
  const response = await browser.fetch('/protected');
  assert.equal(response.status, 200);
  return coursesIn(await response.text());
}

/** A POST with exactly these headers (node:http adds no Sec-Fetch-* of its own): a browser's navigation. */
async function navigate(target: string, cookie: string, fields: Record<string, string>) {
  const { status, location } = await navigateForPage(target, cookie, fields);
  return { status, location };
}

/** `navigate`, with the page the server answers. */
function navigateForPage(target: string, cookie: string, fields: Record<string, string>) {
  return new Promise<{ status: number; location: string | undefined; body: string }>((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'POST',
        headers: {
          cookie,
          'content-type': 'application/x-www-form-urlencoded',
          'sec-fetch-site': 'same-origin',
          'sec-fetch-mode': 'navigate',
          accept: 'text/html',
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, body }));
      },
    );
    req.on('error', reject);
    req.end(new URLSearchParams(fields).toString());
  });
}

/** The three ways a client changes a course. Each returns the response. */
function clients(url: string, browser: Browser, token: string) {
  return {
    /** A form post without JavaScript: urlencoded with the page's `_csrf` field, a navigation. */
    async form(path: string, fields: Record<string, string>) {
      const csrf = await browser.csrfToken('/protected');
      return navigate(`${url}${path}`, browser.cookieHeader, { ...fields, _csrf: csrf });
    },
    /** What SSEXI.js sends for an `sx-post` form: urlencoded, the token in `x-csrf-token`. */
    async fetch(path: string, fields: Record<string, string>) {
      const csrf = await browser.csrfToken('/protected');
      return browser.fetch(path, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': csrf, origin: url },
        body: new URLSearchParams(fields),
      });
    },
    /** An API client: JSON with a bearer token, no cookie, no CSRF token. */
    bearer(path: string, body: Record<string, string> | undefined) {
      return fetch(`${url}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    },
  };
}

async function setup(t: Parameters<typeof startApp>[0], env: Record<string, string> = {}) {
  const running = await startApp(t, env);
  const mark = await new Browser(running.url).login('mark', 'pass123');
  const token = await apiToken(running.url);
  // Two streams of mark's (two tabs) and one of luke's, who must hear nothing of mark's changes.
  const streams = [
    await openSse(`${running.url}/protected/events/mark`, { cookie: mark.cookieHeader }),
    await openSse(`${running.url}/protected/events/mark`, { authorization: `Bearer ${token}` }),
  ];
  const luke = await new Browser(running.url).login('luke', 'pass456');
  const lukeStream = await openSse(`${running.url}/protected/events/luke`, { cookie: luke.cookieHeader });
  t.after(() => {
    for (const stream of [...streams, lukeStream]) stream.close();
  });
  return { ...running, mark, luke, token, streams, lukeStream, client: clients(running.url, mark, token) };
}

/** The next change on every stream; all must agree. */
async function nextChange(streams: SseClient[]) {
  const changes = await Promise.all(streams.map(async (stream) => changeIn((await stream.next()).data)));
  for (const change of changes) assert.deepEqual(change, changes[0]);
  return changes[0];
}

async function expectSilence(stream: SseClient, ms = 200) {
  const event = await stream.next(ms).catch(() => null);
  assert.equal(event, null, `unexpected event: ${event?.data}`);
}

test('add: form navigation, page fetch and bearer API each store the course and push it to every tab', async (t) => {
  const { url, mark, luke, client, streams, lukeStream } = await setup(t);
  const form = await client.form('/add_course', { course_title: '  Calculus  ' });
  assert.deepEqual(form, { status: 303, location: '/protected' });
  const fromPage = await client.fetch('/add_course', { course_title: 'Physics' });
  assert.equal(fromPage.status, 201);
  const physics = (await fromPage.json()) as { id: number; title: string };
  assert.equal(physics.title, 'Physics');
  const api = await client.bearer('/add_course', { course_title: 'Chemistry' });
  assert.equal(api.status, 201);

  const added = [await nextChange(streams), await nextChange(streams), await nextChange(streams)];
  assert.deepEqual(
    added.map((c) => c?.kind === 'added' && c.course.title),
    ['Calculus', 'Physics', 'Chemistry'],
    'surrounding spaces trimmed',
  );
  assert.deepEqual(titlesIn(await (await mark.fetch('/protected')).text()), [
    'Calculus',
    'Physics',
    'Chemistry',
  ]);
  assert.deepEqual(await pageCourses(luke), [], "another user's list is untouched");
  await expectSilence(lukeStream);
  assert.ok(url);
});

test('an add pushes only the new item, as the same partial the page renders', async (t) => {
  const { mark, client, streams } = await setup(t);
  for (const title of ['One', 'Two', 'Three']) await client.fetch('/add_course', { course_title: title });
  const events = await streams[0]?.take(3);
  for (const event of events ?? []) {
    const message = JSON.parse(event.data);
    assert.deepEqual(Object.keys(message.html), ['course-list']);
    assert.equal(message.html['course-list'].swap, 'append');
    assert.equal(coursesIn(message.html['course-list'].content).length, 1, 'one item, not the list');
  }
  const page = await (await mark.fetch('/protected')).text();
  const withoutCsrf = (html: string) => html.replace(/\s*<input type="hidden" name="_csrf"[^>]*>/g, '');
  for (const event of events ?? []) {
    const item = JSON.parse(event.data).html['course-list'].content as string;
    assert.ok(withoutCsrf(page).includes(item), `the page renders the pushed item as it is:\n${item}`);
  }
  assert.ok((events?.length ?? 0) === 3);
});

test('a pushed item states its title once as text (and as the rename field’s value), so it stays small', async (t) => {
  // Every pushed byte counts against the account's log budget (SSE_LOG_MAX_BYTES). The item used
  // to repeat the title five times: 2.4 KB for a 200-character title, 5.4 KB when it escapes.
  const { client, streams } = await setup(t);
  for (const title of ['T'.repeat(200), '<'.repeat(200)]) {
    await client.fetch('/add_course', { course_title: title });
    const event = await streams[0]?.next();
    const item = JSON.parse(event?.data ?? '{}').html['course-list'].content as string;
    const escaped = title.replaceAll('<', '&lt;');
    assert.equal(item.split(escaped).length - 1, 2, `the title twice:\n${item}`);
    // What the item costs beyond its title: markup, ids, the two forms, JSON escapes.
    const overhead = Buffer.byteLength(event?.data ?? '') - 2 * escaped.length;
    assert.ok(overhead < 1450, `${overhead} bytes besides the title`);
  }
});

test('a course added while the page renders is in the page and replayed to its stream: the same item', async (t) => {
  // The race every live page has: its newest id is read before its data, so an add landing in
  // between is both rendered and replayed. SSEXI.js then replaces the item in place (its
  // positional swaps are idempotent), which test/browser/app.test.ts shows in Chromium.
  let race: PageRenderRace | undefined;
  const { url } = await startApp(t, {}, { beforeListen: (app) => (race = racePageRender(app)) });
  const mark = await new Browser(url).login();
  const otherTab = await courseAdder(await new Browser(url).login());
  let added: { id: number } | undefined;
  race?.(async () => {
    added = (await (await otherTab('Added meanwhile')).json()) as { id: number };
  });
  const page = await (await mark.fetch('/protected', { headers: { accept: 'text/html' } })).text();
  assert.deepEqual(coursesIn(page), [{ id: added?.id, title: 'Added meanwhile' }], 'the page shows the add');

  const lastId = /sx-last-id="(\d+)"/.exec(page)?.[1] ?? '';
  const stream = await openSse(`${url}/protected/events/mark`, {
    cookie: mark.cookieHeader,
    'last-event-id': lastId,
  });
  t.after(() => stream.close());
  const replayed = changeIn((await stream.next()).data);
  assert.deepEqual(replayed, { kind: 'added', course: { id: added?.id, title: 'Added meanwhile' } });
  assert.ok(page.includes(`<li id="course-${added?.id}"`), 'the replayed root id is already in the page');
});

test('rename: each client renames, every tab gets the new title, and the page shows it', async (t) => {
  const { mark, client, streams } = await setup(t);
  const { id } = (await (await client.bearer('/add_course', { course_title: 'Old' })).json()) as {
    id: number;
  };
  await nextChange(streams);

  assert.deepEqual(await client.form(`/courses/${id}/rename`, { course_title: 'Via form' }), {
    status: 303,
    location: '/protected',
  });
  assert.deepEqual(await nextChange(streams), { kind: 'renamed', course: { id, title: 'Via form' } });
  const fromPage = await client.fetch(`/courses/${id}/rename`, { course_title: ' Via page ' });
  assert.equal(fromPage.status, 200);
  assert.deepEqual(await fromPage.json(), { id, title: 'Via page' });
  assert.deepEqual(await nextChange(streams), { kind: 'renamed', course: { id, title: 'Via page' } });
  const api = await client.bearer(`/courses/${id}/rename`, { course_title: 'Via API <b>' });
  assert.deepEqual(await api.json(), { id, title: 'Via API <b>' });
  assert.deepEqual(await nextChange(streams), { kind: 'renamed', course: { id, title: 'Via API <b>' } });

  // Only what changed is pushed: the title and the rename field's input, plain fragments whose
  // root has the target's tag (the seed's swap rule), rendered exactly as the page renders them.
  // The item's forms stay as the page rendered them, CSRF fields included.
  const renamed = await client.bearer(`/courses/${id}/rename`, { course_title: 'Last' });
  assert.equal(renamed.status, 200);
  const event = await streams[0]?.next();
  const html = JSON.parse(event?.data ?? '{}').html as Record<string, string>;
  assert.deepEqual(Object.keys(html), [`course-${id}-name`, `course-${id}-title`]);
  const page = await (await mark.fetch('/protected')).text();
  for (const fragment of Object.values(html))
    assert.ok(page.includes(fragment), `the page renders the pushed fragment as it is:\n${fragment}`);
  assert.ok(Buffer.byteLength(event?.data ?? '') < 500, 'a rename costs the log a few hundred bytes');
  assert.deepEqual(await pageCourses(mark), [{ id, title: 'Last' }]);
});

test('delete: each client deletes, every tab removes the item, and the page no longer has it', async (t) => {
  const { mark, client, streams } = await setup(t);
  const ids: number[] = [];
  for (const title of ['A', 'B', 'C', 'D']) {
    ids.push(
      ((await (await client.bearer('/add_course', { course_title: title })).json()) as { id: number }).id,
    );
    await nextChange(streams);
  }
  const [a = 0, b = 0, c = 0] = ids;
  assert.deepEqual(await client.form(`/courses/${a}/delete`, {}), { status: 303, location: '/protected' });
  assert.deepEqual(await nextChange(streams), { kind: 'removed', id: a });
  const fromPage = await client.fetch(`/courses/${b}/delete`, {});
  assert.deepEqual(await fromPage.json(), { id: b });
  assert.deepEqual(await nextChange(streams), { kind: 'removed', id: b });
  // A bearer client may send no body at all.
  const api = await client.bearer(`/courses/${c}/delete`, undefined);
  assert.equal(api.status, 200);
  assert.deepEqual(await api.json(), { id: c });
  assert.deepEqual(await nextChange(streams), { kind: 'removed', id: c });
  // The raw message is exactly the removal and nothing else.
  assert.deepEqual(titlesIn(await (await mark.fetch('/protected')).text()), ['D']);
});

test("another user's course ids are not found: 404 for rename and delete, nothing changes, nothing is pushed", async (t) => {
  const { url, luke, client, streams, lukeStream } = await setup(t);
  const lukes = await luke.submit('/add_course', { course_title: 'Luke’s' }, '/protected');
  const { id } = (await lukes.json()) as { id: number };
  await lukeStream.next();
  for (const response of [
    await client.fetch(`/courses/${id}/rename`, { course_title: 'Stolen' }),
    await client.bearer(`/courses/${id}/rename`, { course_title: 'Stolen' }),
    await client.fetch(`/courses/${id}/delete`, {}),
    await client.bearer(`/courses/${id}/delete`, {}),
    await client.bearer('/courses/999999/delete', {}),
  ]) {
    assert.equal(response.status, 404);
    assert.equal(typeof ((await response.json()) as { error: string }).error, 'string');
  }
  assert.equal((await client.form(`/courses/${id}/delete`, {})).status, 404);
  assert.deepEqual(await pageCourses(luke), [{ id, title: 'Luke’s' }]);
  for (const stream of [...streams, lukeStream]) await expectSilence(stream);
  assert.ok(url);
});

test('bad input gets 400 and changes nothing: titles, ids, bodies', async (t) => {
  const { mark, client, streams } = await setup(t);
  const { id } = (await (await client.bearer('/add_course', { course_title: 'Kept' })).json()) as {
    id: number;
  };
  await nextChange(streams);
  for (const fields of [
    {},
    { course_title: '' },
    { course_title: '   ' },
    { course_title: 'x'.repeat(201) },
  ] as Record<string, string>[]) {
    for (const path of ['/add_course', `/courses/${id}/rename`]) {
      const response = await client.fetch(path, fields);
      assert.equal(response.status, 400, `${path} ${JSON.stringify(fields).slice(0, 40)}`);
      assert.match(((await response.json()) as { error: string }).error, /course_title/);
    }
  }
  for (const bad of ['abc', '0', '-1', '1.5', '1e3', '9'.repeat(20)]) {
    const response = await client.bearer(`/courses/${bad}/delete`, {});
    assert.equal(response.status, 400, bad);
  }
  assert.equal(
    (await client.fetch('/add_course', { course_title: 'x'.repeat(200) })).status,
    201,
    'exactly 200 is fine',
  );
  assert.equal((await pageCourses(mark)).length, 2);
});

test('a form posted without JavaScript and refused gets its page again, the error at the field it names', async (t) => {
  const { url, mark, streams } = await setup(t, { COURSES_MAX_PER_USER: '1' });
  const csrf = await mark.csrfToken('/protected');
  const post = (path: string, fields: Record<string, string>) =>
    navigateForPage(`${url}${path}`, mark.cookieHeader, { ...fields, _csrf: csrf });
  /** The title field with `id` on the page: its input tag and its error slot's text, if shown. */
  const fieldOn = (page: string, id: string) => ({
    input: new RegExp(`<input [^>]*id="${id}"[^>]*>`).exec(page)?.[0] ?? '',
    error: new RegExp(`<p class="field-error" id="${id}-error">([^<]*)</p>`).exec(page)?.[1],
  });

  const blank = await post('/add_course', { course_title: '   ' });
  assert.equal(blank.status, 400);
  assert.match(blank.body, /<h1>Hello, <span id="username">mark<\/span>!<\/h1>/, 'the live page');
  const add = fieldOn(blank.body, 'course-title');
  assert.equal(add.error, 'Course title cannot be blank.');
  assert.match(add.input, /aria-invalid="true"/);
  assert.match(add.input, / autofocus/, 'focus goes to it, so the error is read with it');
  assert.match(add.input, /value=" {3}"/, 'what was sent stays in the field');
  assert.match(blank.body, /sx-last-id="\d*"/, 'still a live page');

  const { id } = (await (
    await mark.fetch('/add_course', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-csrf-token': csrf, origin: url },
      body: new URLSearchParams({ course_title: 'Kept' }),
    })
  ).json()) as { id: number };
  await nextChange(streams);
  const long = await post(`/courses/${id}/rename`, { course_title: 'x'.repeat(201) });
  assert.equal(long.status, 400);
  const rename = fieldOn(long.body, `course-${id}-title`);
  assert.equal(rename.error, 'New title can have at most 200 characters.');
  assert.match(rename.input, /aria-invalid="true"/);
  assert.match(long.body, /<details class="item-edit" data-close-on-success open>/, 'its editor open');

  const full = await post('/add_course', { course_title: 'One too many' });
  assert.equal(full.status, 409);
  assert.match(fieldOn(full.body, 'course-title').error ?? '', /You already have 1 course/);
  for (const stream of streams) await expectSilence(stream);
  assert.deepEqual(titlesIn(await (await mark.fetch('/protected')).text()), ['Kept'], 'nothing changed');
});

test('anonymous callers get 401 on every course route', async (t) => {
  const { url } = await startApp(t);
  const anonymous = new Browser(url);
  for (const path of ['/add_course', '/courses/1/rename', '/courses/1/delete']) {
    const response = await anonymous.submit(path, { course_title: 'Sneaky' }, '/login');
    assert.equal(response.status, 401, path);
  }
});

test('COURSES_MAX_PER_USER caps one account: 409, nothing stored or pushed; a delete makes room', async (t) => {
  const { mark, client, streams } = await setup(t, { COURSES_MAX_PER_USER: '2' });
  const first = (await (await client.bearer('/add_course', { course_title: 'One' })).json()) as {
    id: number;
  };
  await client.bearer('/add_course', { course_title: 'Two' });
  await nextChange(streams);
  await nextChange(streams);
  for (const response of [
    await client.bearer('/add_course', { course_title: 'Three' }),
    await client.fetch('/add_course', { course_title: 'Three' }),
  ]) {
    assert.equal(response.status, 409);
    assert.match(((await response.json()) as { error: string }).error, /2 courses/);
  }
  for (const stream of streams) await expectSilence(stream);
  assert.deepEqual(titlesIn(await (await mark.fetch('/protected')).text()), ['One', 'Two']);
  await client.bearer(`/courses/${first.id}/delete`, undefined);
  assert.equal((await client.bearer('/add_course', { course_title: 'Three' })).status, 201);
});

test('courses persist across an app restart on the same database', async (t) => {
  const DATABASE_URL = tempSqliteUrl(t);
  const first = await startApp(t, { DATABASE_URL });
  const browser = await new Browser(first.url).login();
  await browser.submit('/add_course', { course_title: 'Survives restarts' }, '/protected');
  await first.close();

  const second = await startApp(t, { DATABASE_URL });
  const again = await new Browser(second.url).login();
  assert.deepEqual(titlesIn(await (await again.fetch('/protected')).text()), ['Survives restarts']);
});
