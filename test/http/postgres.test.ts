/** The main flow on PostgreSQL: same app, other DATABASE_URL. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setupBackend } from '../support/backends.ts';
import { changeIn, titlesIn } from '../support/courses.ts';
import { apiToken, Browser } from '../support/http.ts';
import { openSse } from '../support/sse.ts';

test('on PostgreSQL: log in, add a course, the stream receives it, and it survives a restart', async (t) => {
  const backend = await setupBackend(t, 'postgres');
  if (backend === null) return;
  const DATABASE_URL = backend.env.DATABASE_URL ?? '';
  const first = await backend.start();
  assert.equal(first.app.dbDialect, 'postgres');

  const browser = await new Browser(first.url).login('mark', 'pass123');
  const stream = await openSse(`${first.url}/protected/events/mark`, { cookie: browser.cookieHeader });
  t.after(() => stream.close());
  const response = await browser.submit('/add_course', { course_title: 'Databases' }, '/protected');
  assert.equal(response.status, 201);
  const event = await stream.next();
  assert.match(event.id ?? '', /^\d+$/);
  const change = changeIn(event.data);
  assert.equal(change.kind === 'added' && change.course.title, 'Databases');
  const me = await fetch(`${first.url}/api/me`, {
    headers: { authorization: `Bearer ${await apiToken(first.url, 'luke', 'pass456')}` },
  });
  assert.equal(((await me.json()) as { username: string }).username, 'luke');
  stream.close();
  await first.close();

  // The SQLAlchemy spelling of the same URL opens the same database.
  const second = await backend.start({
    DATABASE_URL: DATABASE_URL.replace(/^postgres(ql)?:/, 'postgresql+psycopg2:'),
  });
  const again = await new Browser(second.url).login('mark', 'pass123');
  const page = await (await again.fetch('/protected')).text();
  assert.deepEqual(titlesIn(page), ['Databases']);
});
