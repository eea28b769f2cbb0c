import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startApp } from '../support/app.ts';
import { changeIn } from '../support/courses.ts';
import { Browser } from '../support/http.ts';
import { openSse } from '../support/sse.ts';

test('adding a course pushes the new item to every open stream of that user', async (t) => {
  const { url } = await startApp(t);
  const browser = await new Browser(url).login('mark', 'pass123');
  const streams = await Promise.all(
    [1, 2].map(() => openSse(`${url}/protected/events/mark`, { cookie: browser.cookieHeader })),
  );
  t.after(() => {
    for (const s of streams) s.close();
  });
  assert.equal(streams[0]?.response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const response = await browser.submit('/add_course', { course_title: 'Algebra <b>1</b>' }, '/protected');
  assert.equal(response.status, 201);
  for (const stream of streams) {
    const event = await stream.next();
    assert.match(event.id ?? '', /^\d+$/);
    const change = changeIn(event.data);
    assert.equal(change.kind === 'added' && change.course.title, 'Algebra <b>1</b>');
    assert.match(event.data, /Algebra &lt;b&gt;1&lt;\/b&gt;/, 'escaped in the pushed HTML');
  }
});
